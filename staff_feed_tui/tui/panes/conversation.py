"""The Conversation Feed pane: the filter row and drawer, the feed, and everything that loads it (opening, paging,
a window around a search hit, changes from other processes). It owns the filters of each feed, the search of the
open feed (FeedSearch) and the actions on a message (MessageActions).

Its thread workers take the staff member and the filters as arguments, read, and post one message back; only the
UI thread reads or writes the pane's state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button
from textual.worker import Worker, get_current_worker

from staff_feed_tui.core.filters import FeedFilter, FilterValues
from staff_feed_tui.core.types import Channel, Direction, MessageView, StaffView
from staff_feed_tui.services.feeds import dispatcher_names, feed_around, feed_page, last_read_id, mark_read
from staff_feed_tui.tui.messages import FeedLoaded, FeedLoadFailed, FeedPageLoaded
from staff_feed_tui.tui.panes import say_worker_failed
from staff_feed_tui.tui.panes.feed_search import FeedSearch
from staff_feed_tui.tui.panes.first_page import FirstPage
from staff_feed_tui.tui.panes.message_actions import ERRORS as ACTION_ERRORS
from staff_feed_tui.tui.panes.message_actions import ActionDone, MessageActions
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

FEED_PAGE = 200
FIRST_PAGE = 30  # three screens at 120x40; more pages load as the view nears the edge
FIRST_PAGE_WAIT_S = 0.05  # how long opening a feed waits for its first page, to paint it with the header
# What a dispatcher reads when one of this pane's workers fails (see MainScreen._worker_failed).
ERRORS = {"feed": "load the feed", "feed-page": "load more of the feed", "reads": "save what you have read",
          "authors": "list the dispatchers"}
EMPTY = "No messages yet. Write one below and press Enter to send."
EMPTY_FILTERED = "No messages match the filters. Press \\ then Clear filters to see every message."


def read_first_page(services: Services, staff: StaffView, reset: bool, oldest: bool, only: FeedFilter | None,
                    token: object | None = None) -> FeedLoaded:
    """The newest page (or, for Home, the oldest), and where this dispatcher's unread messages start."""
    unread_after = last_read_id(services, staff.id) if reset else None
    messages = feed_page(services, staff.id, limit=FIRST_PAGE, oldest=oldest, only=only)
    full = len(messages) == FIRST_PAGE
    return FeedLoaded(staff, messages, reset, at_oldest=not full or oldest, at_newest=not (oldest and full),
                      unread_after=unread_after, top=oldest, token=token)


class ConversationPane(Vertical):
    """One staff member's feed at a time, with that feed's filters and search."""


    @dataclass
    class DrawerShown(Message):
        """The filter drawer opened or closed (it takes the composer's room while open)."""

        shown: bool

    @dataclass
    class FeedRead(Message):
        """The dispatcher has seen `staff_id`'s feed up to its newest inbound message."""

        staff_id: int

    def __init__(self, services: Services, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._services = services
        self._clock = clock
        self.staff: StaffView | None = None
        self._filters: dict[int, FilterValues] = {}  # each feed's filters, as typed ("7d" stays the last 7 days)
        self._open_token: object | None = None  # the open whose first page may still arrive as a message
        self.kept_unread: int | None = None  # the feed marked unread with M: it stays counted while open
        self.actions = MessageActions(self, services, clock)

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-row"):
            yield Button("No Filters Applied", id="filters", compact=True)
            yield FeedSearch(self._services, id="feed-search")
        yield FilterDrawer(self._clock, on_apply=self.apply_filters, on_close=self.close_drawer, id="drawer")
        yield FeedView(id="feed", clock=self._clock)

    def on_mount(self) -> None:
        self.filters_button.can_focus = False  # `\` opens the filters; Tab goes staff -> feed
        self.drawer.display = False

    # ---- the parts --------------------------------------------------------------------------------------------

    @property
    def feed(self) -> FeedView:
        return self.query_one(FeedView)

    @property
    def drawer(self) -> FilterDrawer:
        return self.query_one(FilterDrawer)

    @property
    def search(self) -> FeedSearch:
        return self.query_one(FeedSearch)

    @property
    def filters_button(self) -> Button:
        return self.query_one("#filters", Button)

    # ---- filters ----------------------------------------------------------------------------------------------

    @property
    def filter_values(self) -> FilterValues:
        """The filters of the feed shown."""
        return self._filters.get(self.staff.id, FilterValues()) if self.staff is not None else FilterValues()

    def only(self) -> FeedFilter | None:
        """The filters in force, dates resolved now (so "7d" keeps meaning the last 7 days)."""
        values = self.filter_values
        if values == FilterValues():
            return None
        try:
            only = values.to_filter(self._clock())
        except ValueError:
            return None
        return only if only.active else None

    def _show_filters(self) -> None:
        only = self.only()
        self.filters_button.label = (only or FeedFilter()).label()
        self.feed.empty_hint = EMPTY_FILTERED if only else EMPTY

    @property
    def drawer_open(self) -> bool:
        return bool(self.drawer.display)

    def toggle_drawer(self) -> None:
        """`\\` and the button: open the drawer with the query line focused (or close it when it has the keys)."""
        drawer = self.drawer
        focused = self.screen.focused
        if drawer.display and focused is not None and drawer in focused.ancestors:
            self.close_drawer()
            return
        drawer.show_values(self.filter_values)
        drawer.display = True
        self.post_message(self.DrawerShown(True))
        drawer.focus_line()
        self._load_authors(self._services)

    def close_drawer(self) -> None:
        self.drawer.display = False
        self.post_message(self.DrawerShown(False))
        self.screen.set_focus(self.feed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="authors")
    def _load_authors(self, services: Services) -> None:
        """The dispatchers' names, for the drawer's author field to complete from."""
        self.post_message(self._Authors(dispatcher_names(services)))

    @dataclass
    class _Authors(Message):
        names: list[str]

    @on(_Authors)
    def _authors(self, event: _Authors) -> None:
        self.drawer.set_authors(event.names)

    @on(Button.Pressed, "#filters")
    def _filters_pressed(self) -> None:
        if self.drawer.display:
            self.close_drawer()
        else:
            self.toggle_drawer()

    @on(FilterDrawer.Applied)
    def _filters_applied(self, event: FilterDrawer.Applied) -> None:
        self.apply_filters(event.values)

    def apply_filters(self, values: FilterValues) -> None:
        """Put `values` in force on the feed shown (called as the key that applies them is handled)."""
        if self.staff is None or values == self.filter_values:
            return
        self._filters[self.staff.id] = values
        self._show_filters()
        self.reload(reset=True)
        self.search.refreshed(self.staff.id, self.only())

    @on(FilterDrawer.Closed)
    def _drawer_closed(self) -> None:
        self.close_drawer()

    # ---- opening and loading ----------------------------------------------------------------------------------

    def open(self, staff: StaffView, at_message: int | None = None) -> Callable[[], None] | None:
        """Show `staff`'s feed, with the filters last set on it. Returns what shows the first page, to call once
        the header is redrawn (None when opening at a message: that window arrives as a message)."""
        self.staff = staff
        self.kept_unread = None
        self.search.clear()
        self._show_filters()
        if self.drawer.display:
            self.drawer.show_values(self.filter_values)
        if at_message is not None:
            self.load_around(at_message)
            return None
        return self._open_first_page(staff)

    def _open_first_page(self, staff: StaffView) -> Callable[[], None]:
        """Read `staff`'s newest page in a thread started now (see FirstPage); the returned function shows it."""
        self.workers.cancel_group(self, "feed")
        token = self._open_token = object()
        services, only = self._services, self.only()

        def late(result: FeedLoaded | Exception) -> None:
            self.post_message(result if isinstance(result, FeedLoaded) else FeedLoadFailed(str(result)))

        race = FirstPage(lambda: read_first_page(services, staff, True, False, only, token), late).start()

        def take() -> None:
            result = race.take(FIRST_PAGE_WAIT_S)
            if isinstance(result, FeedLoaded):
                self._feed_loaded(result)
            elif result is not None:
                self._feed_load_failed(FeedLoadFailed(str(result)))

        return take

    def reload(self, reset: bool = False, oldest: bool = False) -> None:
        """Read the feed again (Home/End, filters, a change). A slow first page still on its way is now stale:
        said here, on the UI thread, so it can never void a page that arrived in time."""
        if self.staff is None:
            return
        self._open_token = None
        self._load_feed(self._services, self.staff, reset, oldest, self.only())

    @work(thread=True, exclusive=True, exit_on_error=False, group="feed")
    def _load_feed(self, services: Services, staff: StaffView, reset: bool, oldest: bool,
                   only: FeedFilter | None) -> None:
        loaded = read_first_page(services, staff, reset, oldest, only)
        if get_current_worker().is_cancelled:
            return  # a newer load (another filter, staff member or jump) replaced this one: its answer is stale
        self.post_message(loaded)

    @on(FeedLoadFailed)
    def _feed_load_failed(self, event: FeedLoadFailed) -> None:
        self.app.log.error(f"reading the feed failed: {event.error}")
        self.notify("Could not load the feed: the database could not be read. The details are in the log.",
                    severity="error", timeout=8)

    @on(FeedLoaded)
    def _feed_loaded(self, event: FeedLoaded) -> None:
        if self.staff is None or event.staff.id != self.staff.id:
            return  # a late answer for a staff member no longer shown
        if event.token is not None and event.token is not self._open_token:
            return  # a first page that came late, after a newer load (a filter, a jump) or another open
        self.feed.set_messages(
            event.messages, staff_name=event.staff.name, reset=event.reset or event.top, at_oldest=event.at_oldest,
            at_newest=event.at_newest, unread_after=event.unread_after, top=event.top, select_id=event.select_id,
        )
        self._read_up_to(event.staff.id, event.messages)

    def _read_up_to(self, staff_id: int, messages: Sequence[MessageView]) -> None:
        inbound = [m.id for m in messages if m.direction is Direction.IN]
        if not inbound or self.kept_unread == staff_id:
            return
        self.post_message(self.FeedRead(staff_id))
        self._mark_read(self._services, staff_id, max(inbound))

    @work(thread=True, exit_on_error=False, group="reads")
    def _mark_read(self, services: Services, staff_id: int, up_to: int) -> None:
        mark_read(services, staff_id, up_to)

    @on(FeedView.PageWanted)
    def _page_wanted(self, event: FeedView.PageWanted) -> None:
        if self.staff is not None:
            self._load_page(self._services, self.staff, event.older, event.key, event.window, self.filter_values,
                            self.only())

    @work(thread=True, exit_on_error=False, group="feed-page")
    def _load_page(self, services: Services, staff: StaffView, older: bool, key: tuple[datetime, int],
                   window: int | None, filters: FilterValues, only: FeedFilter | None) -> None:
        if older:
            messages = feed_page(services, staff.id, before=key, limit=FEED_PAGE, only=only)
        else:
            messages = feed_page(services, staff.id, after=key, limit=FEED_PAGE, only=only)
        self.post_message(FeedPageLoaded(staff, messages, older, len(messages) < FEED_PAGE, filters, window))

    @on(FeedPageLoaded)
    def _page_loaded(self, event: FeedPageLoaded) -> None:
        if self.staff is not None and event.staff.id == self.staff.id and event.filters == self.filter_values:
            self.feed.add_page(event.messages, older=event.older, at_edge=event.at_edge, window=event.window)

    @on(FeedView.JumpWanted)
    def _jump_wanted(self, event: FeedView.JumpWanted) -> None:
        self.reload(reset=not event.oldest, oldest=event.oldest)

    def jump_to(self, message_id: int) -> None:
        """Put the cursor on a message of the open feed, loading a window around it if it is not on hand."""
        feed = self.feed
        self.screen.set_focus(feed)
        if not feed.select_id(message_id):
            self.load_around(message_id)

    def load_around(self, message_id: int) -> None:
        if self.staff is None:
            return
        self._open_token = None  # a slow first page still on its way is now stale
        self._load_around(self._services, self.staff, message_id, self.only())

    @work(thread=True, exclusive=True, exit_on_error=False, group="feed")
    def _load_around(self, services: Services, staff: StaffView, message_id: int, only: FeedFilter | None) -> None:
        window, at_oldest, at_newest = feed_around(services, staff.id, message_id, limit=FEED_PAGE // 2,
                                                   only=only)
        if get_current_worker().is_cancelled:
            return  # a newer load (another filter, staff member or jump) replaced this one: its answer is stale
        self.post_message(FeedLoaded(staff, window, False, at_oldest=at_oldest, at_newest=at_newest,
                                     select_id=message_id))

    # ---- changes from elsewhere -------------------------------------------------------------------------------

    def changed(self, messages: Sequence[MessageView]) -> None:
        """Messages of the open feed that changed or arrived (read once by LiveUpdates)."""
        if self.staff is None:
            return
        if self.only() is not None:
            self.reload()  # whether a change matches is the filter's call
        else:
            self.feed.apply_changes(messages)
            inbound = [m for m in messages if m.direction is Direction.IN]
            if inbound:
                self._read_up_to(self.staff.id, inbound)
        if any(m.deleted_at is not None for m in messages):
            self.search.refreshed(self.staff.id, self.only())

    # ---- search -----------------------------------------------------------------------------------------------

    def open_search(self) -> None:
        if self.staff is not None:
            self.search.open()

    def run_search(self, text: str, at: int | None = None) -> None:
        if self.staff is not None:
            self.search.run(self.staff.id, text, self.only(), at=at)

    @on(FeedSearch.Requested)
    def _search_requested(self, event: FeedSearch.Requested) -> None:
        self.run_search(event.text, event.at)

    @on(FeedSearch.HitChosen)
    def _hit_chosen(self, event: FeedSearch.HitChosen) -> None:
        self.jump_to(event.message_id)

    @on(FeedSearch.Highlight)
    def _highlight(self, event: FeedSearch.Highlight) -> None:
        self.feed.set_highlight(event.words)

    @on(FeedSearch.Closed)
    def _search_closed(self) -> None:
        self.screen.set_focus(self.feed)

    # ---- actions on a message ---------------------------------------------------------------------------------

    @on(FeedView.RemoveRequested)
    def _remove_requested(self, event: FeedView.RemoveRequested) -> None:
        self.actions.ask_remove(event.message)

    @on(FeedView.MarkUnreadRequested)
    def _mark_unread(self, event: FeedView.MarkUnreadRequested) -> None:
        if self.staff is not None:
            self.kept_unread = self.staff.id
            self.actions.mark_unread(self.staff.id, event.message)

    @on(FeedView.RetryRequested)
    def _retry_requested(self, event: FeedView.RetryRequested) -> None:
        self.actions.retry(event.message)

    @on(FeedView.OriginalRequested)
    def _original_requested(self, event: FeedView.OriginalRequested) -> None:
        if event.message.received_by is not Channel.EMAIL:
            self.notify("Only a received email has an original to show.", timeout=3)
            return
        from staff_feed_tui.tui.screens.original import OriginalEmailScreen

        self.app.push_screen(OriginalEmailScreen(event.message.id))

    @on(FeedView.CancelRequested)
    def _cancel_requested(self, event: FeedView.CancelRequested) -> None:
        self.actions.cancel(event.message)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        say_worker_failed(self, event, {**ERRORS, **ACTION_ERRORS})

    @on(ActionDone)
    def _action_done(self, event: ActionDone) -> None:
        self.notify(event.text, severity=event.severity, timeout=event.timeout)
        if event.reload:
            self.reload()
            if self.staff is not None:
                self.search.refreshed(self.staff.id, self.only())

