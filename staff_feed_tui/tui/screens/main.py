"""The main screen: staff list on the left; the selected staff member's feed and the composer on the right."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Static, TabbedContent, TabPane, Tabs, TextArea
from textual.worker import Worker, WorkerState, get_current_worker

from staff_feed_tui.core.draft import AttachmentFile, DraftError, check_attachment, human_size, pasted_file_path
from staff_feed_tui.core.filters import FeedFilter, FilterValues
from staff_feed_tui.core.fts import fts_words
from staff_feed_tui.core.lockdown import EditorRefused
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.segments import MAX_SMS_CHARS, WARN_SEGMENTS, count_segments
from staff_feed_tui.core.texting import sms_unavailable_reason
from staff_feed_tui.core.types import Channel, DeliveryMethod, DeliveryStatus, Direction, StaffView
from staff_feed_tui.services.changes import EVERYTHING
from staff_feed_tui.services.context import DatabaseBusy
from staff_feed_tui.services.feeds import (
    cancel_deliveries,
    dispatcher_names,
    feed_around,
    feed_page,
    get_messages,
    last_read_id,
    mark_read,
    mark_unread_from,
    newest_message_id,
    remove_message,
    restore_message,
    retry_deliveries,
    search_feed,
    unread_counts,
    unread_counts_for,
)
from staff_feed_tui.services.inbound import list_triage
from staff_feed_tui.services.outgoing import DraftView, MmsLimitError, load_drafts, queue_outgoing, save_draft
from staff_feed_tui.services.staff import list_staff, staff_activity
from staff_feed_tui.tui.editor import edit_in_editor
from staff_feed_tui.tui.messages import (
    ActivityLoaded,
    DraftsLoaded,
    DraftState,
    FeedLoaded,
    FeedLoadFailed,
    FeedMessagesChanged,
    FeedPageLoaded,
    FeedsChanged,
    InboundArrived,
    MessageQueued,
    MmsLimitsBroken,
    SearchHits,
    SendRefused,
    StaffLoaded,
    TriageCounted,
    UnreadCounted,
)
from staff_feed_tui.tui.screens.pickers import AttachPicker, Question
from staff_feed_tui.tui.widgets.attachment_tray import AttachmentTray
from staff_feed_tui.tui.widgets.composer import Composer
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer
from staff_feed_tui.tui.widgets.history import HistoryPane
from staff_feed_tui.tui.widgets.inputs import QuickInput
from staff_feed_tui.tui.widgets.method_toggle import MethodToggle
from staff_feed_tui.tui.widgets.profile import ProfilePane
from staff_feed_tui.tui.widgets.staff_list import StaffList, staff_flags

if TYPE_CHECKING:
    from staff_feed_tui.tui.app import StaffFeedApp

FEED_PAGE = 200
UNDO_S = 8.0  # how long `u` can bring a removed message back
FIRST_PAGE = 30  # three screens at 120x40; more pages load as the view nears the edge
FIRST_PAGE_WAIT_S = 0.05  # how long opening a feed waits for its first page, to paint it with the header
DRAFT_SAVE_DELAY_S = 1.0


class FindInput(QuickInput):
    """The staff filter: Esc clears it, Enter and Down leave it; handled here so they act in key order."""

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        # Filter right here rather than on the Changed message: the typed letter and the shorter list then go out
        # in one frame instead of two (Textual paints at most every 1/60 s: about 15 ms less per keystroke).
        if self.is_mounted:
            self.screen.query_one(StaffList).filter(value)

    async def _on_key(self, event: events.Key) -> None:
        if event.key in ("escape", "down", "enter"):
            event.stop()
            event.prevent_default()
            screen = self.screen
            assert isinstance(screen, MainScreen)
            screen.leave_find(clear=event.key == "escape")


class SearchInput(QuickInput):
    """Search in the open feed: Enter searches, Esc closes; handled here so they act in key order."""

    async def _on_key(self, event: events.Key) -> None:
        if event.key in ("enter", "escape"):
            event.stop()
            event.prevent_default()
            screen = self.screen
            assert isinstance(screen, MainScreen)
            screen.search_done(self.value if event.key == "enter" else None)


class MainScreen(Screen[None]):
    AUTO_FOCUS = "#staff"  # the staff list, not the find box above it (keys typed at start-up go to the list)
    BINDINGS = [
        Binding("ctrl+n", "next_staff", "Next staff", priority=True),
        Binding("ctrl+p", "prev_staff", "Prev staff", priority=True),
        # Priority, so the app handles `i` the moment it arrives: keys typed right after it (one burst over a slow
        # link) then reach the composer instead of queueing behind it on the widget that had focus.
        Binding("i", "write", "Write", priority=True),
        # Tab moves focus the moment it arrives, so keys typed after it (one burst over a slow link) reach the
        # widget it moved to.
        Binding("tab", "focus_step(1)", "Next pane", show=False, priority=True),
        Binding("shift+tab", "focus_step(-1)", "Previous pane", show=False, priority=True),
        Binding("U", "triage", "Unknown senders", show=False),
        # Moving in the staff list and the feed is handled here, as priority bindings, so these keys are taken in
        # the order they arrive together with `i` and the other focus keys (one burst over a slow link).
        Binding("j,down", "nav('down')", "Down", show=False, priority=True),
        Binding("k,up", "nav('up')", "Up", show=False, priority=True),
        Binding("g,home", "nav('first')", "First", show=False, priority=True),
        Binding("G,end", "nav('last')", "Last", show=False, priority=True),
        Binding("ctrl+f", "find_staff", "Find staff", priority=True),
        # Letters that move focus are priority bindings too (they stand down while a text field has focus), so
        # the keys typed after them land in the field they open.
        Binding("backslash", "filters", "Filters", priority=True),
        Binding("slash", "search", "Search", priority=True),
        Binding("n", "next_hit(1)", "Next hit", show=False),
        Binding("N", "next_hit(-1)", "Previous hit", show=False),
        Binding("S", "search_all", "Search all staff", priority=True),
        Binding("u", "undo_remove", "Undo remove", show=False),
        Binding("P", "tab('profile')", "Profile", priority=True),
        Binding("H", "tab('history')", "History", priority=True),
        Binding("escape", "back_to_feed", "Back to feed", show=False),
        Binding("ctrl+o", "attach", "Attach", priority=True),
        Binding("ctrl+t", "cycle_method", "Email/SMS", priority=True),
    ]

    app: StaffFeedApp

    def __init__(self) -> None:
        super().__init__()
        self._staff: StaffView | None = None
        self._drafts: dict[int, DraftState] = {}
        self._draft_timer: Timer | None = None
        self._kept_unread: int | None = None
        self._open_token: object | None = None  # the open whose first page may still arrive as a message
        self._worker_text = ""
        self._filter_values = FilterValues()  # the filters in force, as typed ("7d" stays the last 7 days)
        self._last_removed: tuple[int, float] | None = None  # message id, when: `u` restores it for a while
        self._search = ""  # the search of the open feed, and where it matched (keys, newest first)
        self._hits: list[tuple[datetime, int]] = []
        self._hit = -1
        self._search_at: int | None = None
        self._newest_seen = 0  # messages up to this id were there before; newer inbound ones are announced
        self._title_lines = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(id="identity")
            yield Static(id="triage-count")
            yield Static(id="worker-state")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Static("Staff", id="staff-title", classes="pane-title")
                yield FindInput(placeholder="Find staff… (Ctrl+F)", id="staff-find")
                yield StaffList(id="staff", on_choose=self.choose_staff)
            with Vertical(id="right"):
                yield Static("", id="feed-title", classes="pane-title")
                with TabbedContent(id="staff-tabs", initial="tab-feed"):
                    with TabPane("Conversation Feed", id="tab-feed"):
                        with Horizontal(id="filter-row"):
                            yield Button("No Filters Applied", id="filters", compact=True)
                            yield SearchInput(placeholder="Search this feed… (Enter, then n/N)", id="search-line")
                            yield Static("", id="search-state")
                        yield FilterDrawer(self.app.clock, id="drawer")
                        yield FeedView(id="feed", clock=self.app.clock)
                        with Vertical(id="compose-area"):
                            yield Static("", id="composer-error")
                            yield MethodToggle(id="method")
                            yield Composer(id="composer")
                            yield AttachmentTray(id="tray")
                            yield Static("", id="composer-hint")
                    with TabPane("Profile", id="tab-profile"):
                        yield ProfilePane(id="profile")
                    with TabPane("History", id="tab-history"):
                        yield HistoryPane(id="history")
        yield Footer()

    def on_mount(self) -> None:
        services = self.app.services
        company = safe_line(services.settings.company.name)
        self.query_one("#identity", Static).update(
            Text.assemble(("staff-feed", "bold"), f"  {company}  ·  dispatcher: {safe_line(services.dispatcher)}")
        )
        self.query_one("#composer-error", Static).display = False
        self.query_one("#search-line").display = False
        self.query_one("#filters", Button).can_focus = False  # `\` opens the filters; Tab goes staff -> feed
        self.query_one(FilterDrawer).display = False
        for tabs in self.query(Tabs):
            tabs.can_focus = False  # P, H and Esc switch tabs; Tab goes staff list -> feed -> composer
        self.load_staff(initial=True)  # the staff list has focus from AUTO_FOCUS
        self.count_triage()
        self._show_worker_state()
        self.set_interval(0.5, self._show_worker_state)

    def _show_worker_state(self) -> None:
        text = safe_line(self.app.delivery_text())[:80]
        if text != self._worker_text:  # an unchanged label would still cost a whole-screen layout
            self._worker_text = text
            self.query_one("#worker-state", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    # ---- loading ----------------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="staff")
    def load_staff(self, initial: bool = False) -> None:
        services = self.app.services
        if initial:
            self._newest_seen = newest_message_id(services)
        staff = list_staff(services)
        if initial:
            # Names first: the counts and the activity order follow a moment later (at 1M messages they take
            # 0.1-0.5 s, and a dispatcher should see the staff list before that).
            self.post_message(StaffLoaded(staff, {}))
            self.post_message(DraftsLoaded(self._restore_drafts(load_drafts(services))))
            self.post_message(UnreadCounted(unread_counts(services)))
            self.post_message(ActivityLoaded(staff_activity(services)))
            return
        self.post_message(StaffLoaded(staff, unread_counts(services)))

    @on(ActivityLoaded)
    def _activity_loaded(self, event: ActivityLoaded) -> None:
        self.query_one(StaffList).set_activity(event.activity)

    @staticmethod
    def _restore_drafts(saved: dict[int, DraftView]) -> dict[int, DraftState]:
        """Saved drafts, their files checked again: one deleted since is left out, with a note."""
        drafts = {}
        for staff_id, draft in saved.items():
            files: list[AttachmentFile] = []
            problems = []
            for path in draft.attachments:
                try:
                    files.append(check_attachment(path, files))
                except DraftError as exc:
                    problems.append(str(exc))
            method = DeliveryMethod(draft.method) if draft.method else None
            drafts[staff_id] = DraftState(draft.body, files, method, "; ".join(problems) or None)
        return drafts

    @on(DraftsLoaded)
    def _drafts_loaded_event(self, event: DraftsLoaded) -> None:
        self._drafts.update(event.drafts)
        if self._staff is not None and self._staff.id in self._drafts:
            current = self._staff
            self._staff = None
            self.choose_staff(current)

    @on(StaffLoaded)
    def _staff_loaded(self, event: StaffLoaded) -> None:
        staff_list = self.query_one(StaffList)
        staff_list.set_staff(event.staff, self._open_feed_read(event.unread))
        self.query_one("#staff-title", Static).update(f"Staff ({len(event.staff)})")
        # Keys typed while the app was starting go to the list now (after this screen's first refresh, when its
        # focus has settled).
        self.call_after_refresh(self.app.release_keys)
        if not event.staff:
            self.query_one(FeedView).empty_hint = (
                "No staff yet. Import a roster with: staff-feed staff import FILE.csv"
            )
            self.query_one(FeedView).set_messages([], staff_name="", reset=True)

    def choose_staff(self, staff: StaffView, at_message: int | None = None) -> None:
        """Show `staff`'s feed (at `at_message`, when given); the composer's draft (text, files, method) is kept
        per staff member."""
        previous = self._staff
        changed = previous is None or previous.id != staff.id
        if previous is not None and changed:
            self._keep_draft(previous)
            profile = self.query_one(ProfilePane)
            if profile.dirty:
                self.notify(f"Profile edits for {safe_line(previous.name)} are kept, not saved: they are back in "
                            "the Profile tab when you return.", severity="warning", timeout=6)
        self._staff = staff
        if changed:
            self._kept_unread = None
            if self._search:
                self._clear_search()
            # The feed is asked for first: its query then runs while the header and the composer are redrawn.
            if at_message is not None:
                self.load_around(staff, at_message)
                take_first_page = None
            else:
                take_first_page = self._open_feed(staff)
        self._show_staff(staff, keep_method=not changed)
        self.query_one(ProfilePane).show_staff(staff, keep_edits=not changed)
        if self.query_one("#staff-tabs", TabbedContent).active == "tab-history":
            self.query_one(HistoryPane).show_staff(staff)
        if changed:
            draft = self._drafts.get(staff.id) or DraftState()
            composer = self.query_one(Composer)
            if composer.text != draft.body:  # an unchanged text is not set again (that would redraw it)
                composer.text = draft.body
            self.query_one(AttachmentTray).set_files(draft.files)
            toggle = self.query_one(MethodToggle)
            if draft.method is not None and toggle.unavailable is None:
                toggle.method = draft.method
            self._set_error(draft.problem)
            if take_first_page is not None:
                take_first_page()

    def _current_draft(self) -> DraftState:
        return DraftState(
            self.query_one(Composer).text,
            self.query_one(AttachmentTray).files,
            self.query_one(MethodToggle).method,
        )

    def _keep_draft(self, staff: StaffView) -> None:
        """Remember the composer's state for `staff`, here and in the database (so it survives a restart)."""
        draft = self._current_draft()
        if draft.empty:
            self._drafts.pop(staff.id, None)
        else:
            self._drafts[staff.id] = draft
        self.save_draft(staff.id, draft)

    @work(thread=True, exit_on_error=False, group="drafts")
    def save_draft(self, staff_id: int, draft: DraftState) -> None:
        save_draft(self.app.services, staff_id, draft.body, [str(f.path) for f in draft.files],
                   draft.method.value if draft.method else None)

    def save_open_draft_now(self) -> None:
        """On the way out: the open draft is written before the app exits."""
        if self._staff is not None:
            draft = self._current_draft()
            save_draft(self.app.services, self._staff.id, draft.body, [str(f.path) for f in draft.files],
                       draft.method.value)

    def _show_staff(self, staff: StaffView, keep_method: bool = False) -> None:
        parts = [safe_line(staff.name), staff.email]
        if staff.phone:
            parts.append(staff.phone)
        flags = staff_flags(staff)
        if flags == "sms":
            parts.append("texts: yes")
        elif flags == "STOP":
            parts.append("texts: opted out")
        title = Text("  ·  ".join(parts))
        label = self.query_one("#feed-title", Static)
        # A new title that takes as many lines as the old one needs no layout of the whole screen (about 20 ms).
        width = max(1, label.content_region.width)
        lines = min(2, max(1, -(-title.cell_len // width)))
        label.update(title, layout=lines != self._title_lines)
        self._title_lines = lines
        reason = sms_unavailable_reason(self.app.services.settings.company.text_messaging, staff)
        toggle = self.query_one(MethodToggle)
        preferred = toggle.method if keep_method else staff.default_method
        toggle.offer(reason, preferred)
        self._update_hint()

    def _update_hint(self) -> None:
        """While SMS is chosen the segment count (`42/160 · 1 segment · GSM-7`), then the keys, as many as fit."""
        label = self.query_one("#composer-hint", Static)
        width = label.content_region.width or 1000  # before the first layout: all of it, cropped
        # Each key in its long form, then shorter ones for a narrow pane.
        keys = [("Enter send",), ("^J new line",), ("^O attach (Tab, Del removes)", "^O attach"), ("^T Email/SMS",),
                ("^E editor",), ("Esc leave",)]
        hint = Text()
        if Channel.SMS in self.query_one(MethodToggle).method.channels:
            count = count_segments(self.query_one(Composer).text.rstrip())
            style = "bold" if count.warn or count.too_long else ""
            hint = Text("SMS " + count.describe(), style=style)
            if count.too_long:
                hint.append(f"  · over {MAX_SMS_CHARS} characters: too long to text", style="bold")
            elif count.warn:
                hint.append(f"  · more than {WARN_SEGMENTS} segments", style="bold")
            keys = [("Enter send",), ("^O attach",), ("^T Email/SMS",), ("Esc leave",)]
        separator = "  ·  " if hint.cell_len else ""  # the count, then the keys
        for key in keys:  # in order of use, long or short; from the first that does not fit on, the footer has them
            room = width - hint.cell_len - len(separator)
            fits = [words for words in key if len(words) <= room]
            if not fits:
                break
            hint.append(separator + fits[0])
            separator = " · "
        label.update(hint, layout=False)  # one line, fixed: no re-layout

    def on_resize(self) -> None:
        self._update_hint()

    @on(Composer.Changed)
    def _composer_changed(self) -> None:
        self._update_hint()
        self._draft_changed()

    @on(MethodToggle.Changed)
    def _method_changed(self) -> None:
        self._update_hint()

    def _draft_changed(self) -> None:
        """Save the open draft a moment after the typing stops, so a crash or a closed SSH session loses little."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
        staff = self._staff
        if staff is not None:
            self._draft_timer = self.set_timer(DRAFT_SAVE_DELAY_S, lambda: self._keep_draft(staff))

    def _read_feed(
        self, staff: StaffView, reset: bool, oldest: bool, only: FeedFilter | None, token: object | None = None
    ) -> FeedLoaded:
        """The newest page (or, for Home, the oldest), and where this dispatcher's unread messages start."""
        services = self.app.services
        unread_after = last_read_id(services, staff.id) if reset else None
        messages = feed_page(services, staff.id, limit=FIRST_PAGE, oldest=oldest, only=only)
        full = len(messages) == FIRST_PAGE
        return FeedLoaded(staff, messages, reset, at_oldest=not full or oldest, at_newest=not (oldest and full),
                          unread_after=unread_after, top=oldest, token=token)

    def load_feed(self, staff: StaffView, reset: bool, oldest: bool = False) -> None:
        """A newer load (Home/End, filters, a change): a slow first page still on its way is now stale. Said here,
        on the UI thread, so it can never void a page that arrived in time (see `_open_feed`)."""
        self._open_token = None
        self._load_feed(staff, reset, oldest)

    @work(thread=True, exclusive=True, exit_on_error=False, group="feed")
    def _load_feed(self, staff: StaffView, reset: bool, oldest: bool) -> None:
        loaded = self._read_feed(staff, reset, oldest, self._only())
        if get_current_worker().is_cancelled:
            return  # a newer load (another filter, staff member or jump) replaced this one: its answer is stale
        self.post_message(loaded)

    def _open_feed(self, staff: StaffView) -> Callable[[], None]:
        """Start reading `staff`'s newest page; returns what shows it, to call once the header is redrawn.

        The page is read in a thread started here and now: a Textual worker would start only when the event loop
        next runs, after a frame of the old feed under the new header. What the returned function does: wait up to
        FIRST_PAGE_WAIT_S for the page (the wait lets the reading thread have the interpreter to itself), and show
        a page read in time at once, so the header and the feed are painted in one frame. A slower read arrives
        later as a FeedLoaded message, like any other load, unless a newer load has replaced it by then.
        """
        self.workers.cancel_group(self, "feed")
        token = self._open_token = object()
        only = self._only()
        lock = threading.Lock()
        ready = threading.Event()
        handed: list[FeedLoaded | Exception] = []
        waiting = True

        def read() -> None:
            try:
                result: FeedLoaded | Exception = self._read_feed(staff, True, False, only, token)
            except Exception as exc:  # noqa: BLE001 - said to the dispatcher like any failed load
                result = exc
            with lock:
                if waiting:
                    handed.append(result)
                    ready.set()
                    return
            if isinstance(result, FeedLoaded):
                self.post_message(result)
            else:
                self.post_message(FeedLoadFailed(str(result)))

        threading.Thread(target=read, name="feed-first-page", daemon=True).start()

        def take() -> None:
            nonlocal waiting
            ready.wait(FIRST_PAGE_WAIT_S)
            with lock:
                waiting = False
                result = handed[0] if handed else None
            if isinstance(result, FeedLoaded):
                self._feed_loaded(result)
            elif result is not None:
                self._feed_load_failed(FeedLoadFailed(str(result)))

        return take

    @on(FeedLoadFailed)
    def _feed_load_failed(self, event: FeedLoadFailed) -> None:
        self.app.log.error(f"reading the feed failed: {event.error}")
        self.notify(f"Could not load the feed: {safe_line(event.error)[:200]}", severity="error", timeout=8)

    @work(thread=True, exit_on_error=False, group="feed-page")
    def load_page(self, staff: StaffView, older: bool, key: tuple[datetime, int], window: int | None = None) -> None:
        services = self.app.services
        filters = self._filter_values
        only = self._only()
        if older:
            messages = feed_page(services, staff.id, before=key, limit=FEED_PAGE, only=only)
        else:
            messages = feed_page(services, staff.id, after=key, limit=FEED_PAGE, only=only)
        self.post_message(FeedPageLoaded(staff, messages, older, len(messages) < FEED_PAGE, filters, window))

    @on(FeedView.PageWanted)
    def _page_wanted(self, event: FeedView.PageWanted) -> None:
        if self._staff is not None:
            self.load_page(self._staff, event.older, event.key, event.window)

    @on(FeedPageLoaded)
    def _page_loaded(self, event: FeedPageLoaded) -> None:
        if self._staff is not None and event.staff.id == self._staff.id and event.filters == self._filter_values:
            self.query_one(FeedView).add_page(event.messages, older=event.older, at_edge=event.at_edge,
                                              window=event.window)

    @on(FeedView.JumpWanted)
    def _jump_wanted(self, event: FeedView.JumpWanted) -> None:
        if self._staff is not None:
            self.load_feed(self._staff, reset=not event.oldest, oldest=event.oldest)

    @work(thread=True, exit_on_error=False, group="feed-changes")
    def refresh_messages(self, staff_id: int, message_ids: list[int]) -> None:
        self.post_message(FeedMessagesChanged(staff_id, get_messages(self.app.services, message_ids)))

    @on(FeedMessagesChanged)
    def _messages_changed(self, event: FeedMessagesChanged) -> None:
        if self._staff is None or event.staff_id != self._staff.id:
            return
        feed = self.query_one(FeedView)
        feed.apply_changes(event.messages)
        inbound = [m.id for m in event.messages if m.direction is Direction.IN]
        if inbound and self._kept_unread != event.staff_id:
            self.mark_read(event.staff_id, max(inbound))

    @on(FeedLoaded)
    def _feed_loaded(self, event: FeedLoaded) -> None:
        if self._staff is None or event.staff.id != self._staff.id:
            return  # a late answer for a staff member no longer shown
        if event.token is not None and event.token is not self._open_token:
            return  # a first page that came late, after a newer load (a filter, a jump) or another open
        self.query_one(FeedView).set_messages(
            event.messages, staff_name=event.staff.name, reset=event.reset or event.top, at_oldest=event.at_oldest,
            at_newest=event.at_newest, unread_after=event.unread_after, top=event.top, select_id=event.select_id,
        )
        inbound = [m.id for m in event.messages if m.direction is Direction.IN]
        staff_list = self.query_one(StaffList)
        if self._kept_unread == event.staff.id:
            return
        if inbound and staff_list.unread.get(event.staff.id):
            staff_list.set_unread({**staff_list.unread, event.staff.id: 0})
        if inbound:
            self.mark_read(event.staff.id, max(inbound))

    @work(thread=True, exit_on_error=False, group="reads")
    def mark_read(self, staff_id: int, up_to: int) -> None:
        mark_read(self.app.services, staff_id, up_to)

    def _open_feed_read(self, unread: dict[int, int]) -> dict[int, int]:
        """The feed on screen is being read: its count stays at zero (unless marked unread with `M`)."""
        if self._staff is not None and unread.get(self._staff.id) and self._kept_unread != self._staff.id:
            return {**unread, self._staff.id: 0}
        return unread

    @on(FeedsChanged)
    def _feeds_changed(self, event: FeedsChanged) -> None:
        if any(f.staff_id == EVERYTHING for f in event.feeds):
            # The change log was trimmed past what this app had read: reload what is on screen.
            self.count_triage()
            self.load_staff()
            if self._staff is not None:
                self.load_feed(self._staff, reset=False)
            return
        if any(f.staff_id == 0 for f in event.feeds):
            self.count_triage()
        feeds = [f for f in event.feeds if f.staff_id != 0]
        if any(f.staff_changed for f in feeds):
            self.load_staff()
        if self._staff is not None:
            ids = sorted({m for f in feeds if f.staff_id == self._staff.id for m in f.message_ids})
            if ids and self._only() is not None:
                self.load_feed(self._staff, reset=False)  # whether a change matches is the filter's call
            elif ids:
                self.refresh_messages(self._staff.id, ids)
        changed = sorted({m for f in feeds for m in f.message_ids if m > self._newest_seen})
        if changed:
            self.check_inbound(changed)

    @work(thread=True, exit_on_error=False, group="inbound")
    def check_inbound(self, message_ids: list[int]) -> None:
        services = self.app.services
        arrived = [m for m in get_messages(services, message_ids) if m.direction is Direction.IN]
        self._newest_seen = max([self._newest_seen, *message_ids])
        if arrived:
            self.post_message(InboundArrived(arrived))
            staff_ids = sorted({m.staff_id for m in arrived})
            self.post_message(UnreadCounted(unread_counts_for(services, staff_ids)))

    @on(InboundArrived)
    def _inbound_arrived(self, event: InboundArrived) -> None:
        staff_list = self.query_one(StaffList)
        for message in event.messages:
            staff_list.note_activity(message.staff_id, message.created_at)
        names = {s.id: s.name for s in staff_list.staff}
        for message in event.messages:
            name = safe_line(names.get(message.staff_id, "a staff member"))
            preview = safe_line(message.body)[:80] or f"{len(message.attachments)} file(s)"
            what = "Email" if message.received_by is Channel.EMAIL else "Text"
            self.notify(f"{what} from {name}: {preview}", title=f"New {what.lower()}", timeout=6)
        if self.app.services.settings.tui.bell:
            self.app.bell()

    @on(UnreadCounted)
    def _unread_counted(self, event: UnreadCounted) -> None:
        staff_list = self.query_one(StaffList)
        staff_list.set_unread(self._open_feed_read({**staff_list.unread, **event.unread}))

    @work(thread=True, exclusive=True, exit_on_error=False, group="triage")
    def count_triage(self) -> None:
        self.post_message(TriageCounted(len(list_triage(self.app.services))))

    @on(TriageCounted)
    def _triage_counted(self, event: TriageCounted) -> None:
        label = self.query_one("#triage-count", Static)
        label.update(Text(f"{event.count} unknown sender{'s' if event.count != 1 else ''} (U)  ") if event.count else "")

    def action_triage(self) -> None:
        from staff_feed_tui.tui.screens.triage import TriageScreen

        self.app.push_screen(TriageScreen(), callback=lambda _: self.count_triage())

    # ---- sending ----------------------------------------------------------------------------------------------

    @on(Composer.Submitted)
    def _submitted(self, event: Composer.Submitted) -> None:
        if self._staff is None:
            self._set_error("choose a staff member first")
            return
        self._set_error(None)
        draft = self._current_draft()
        typed_path = None if draft.files else pasted_file_path(draft.body)
        if typed_path is not None:
            self._offer_attach(typed_path, sending=True)
            return
        self.send(self._staff, draft, False)

    @work(thread=True, exit_on_error=False, group="send")
    def send(self, staff: StaffView, draft: DraftState, files_by_email: bool) -> None:
        try:
            message_id = queue_outgoing(self.app.services, staff=staff, body=draft.body, attachments=draft.files,
                                        method=draft.method or DeliveryMethod.EMAIL, files_by_email=files_by_email)
        except MmsLimitError as exc:
            self.post_message(MmsLimitsBroken(staff, draft, exc.problems))
            return
        except (DraftError, DatabaseBusy) as exc:
            self.post_message(SendRefused(staff, str(exc)))
            return
        self.post_message(MessageQueued(staff, message_id, draft.method or DeliveryMethod.EMAIL))

    @on(MmsLimitsBroken)
    def _mms_limits(self, event: MmsLimitsBroken) -> None:
        def answered(answer: str | None) -> None:
            if answer == "email":
                self.send(event.staff, event.draft, True)
            else:
                self._set_error("Not sent: the files break the MMS limits. Remove some, or send them by email only.")

        body = "\n".join(f"• {p}" for p in event.problems)
        body += "\n\nThe text can go by SMS without them, and the files by email."
        self.app.push_screen(
            Question("These files cannot go by text", body, {"e": ("email", "send the files by email only")}),
            answered,
        )

    @on(MessageQueued)
    def _queued(self, event: MessageQueued) -> None:
        self._drafts.pop(event.staff.id, None)
        self.save_draft(event.staff.id, DraftState())
        if self._staff is not None and self._staff.id == event.staff.id:
            self.query_one(Composer).clear()
            self.query_one(AttachmentTray).set_files([])
            self.load_feed(event.staff, reset=True)
        how = {DeliveryMethod.EMAIL: "by email", DeliveryMethod.SMS: "by SMS", DeliveryMethod.BOTH: "by email and SMS"}
        self.notify(f"Queued for {safe_line(event.staff.name)} {how[event.method]}.", timeout=3)

    @on(SendRefused)
    def _refused(self, event: SendRefused) -> None:
        self._set_error(f"Not sent: {event.reason}")

    # ---- attachments and the editor ---------------------------------------------------------------------------

    def action_attach(self) -> None:
        if self._staff is None:
            return
        tray = self.query_one(AttachmentTray)

        def chosen(files: list[AttachmentFile] | None) -> None:
            if files:
                tray.set_files([*tray.files, *files])
                self._set_error(None)
                self._draft_changed()
            self.set_focus(self.query_one(Composer))

        scope = self.app.services.policy.attach
        self.app.push_screen(AttachPicker(scope.start_dir(Path.cwd()), tray.files, scope), chosen)

    def _offer_attach(self, raw: str, *, sending: bool = False) -> None:
        tray = self.query_one(AttachmentTray)
        composer = self.query_one(Composer)
        try:
            file = self.app.services.policy.attach.check(raw, Path.cwd(), tray.files)
        except DraftError as exc:
            self._set_error(str(exc))
            return

        def answered(answer: str | None) -> None:
            if answer == "attach":
                tray.set_files([*tray.files, file])
                if sending:
                    composer.clear()
            elif answer == "text":
                if sending and self._staff is not None:
                    self.send(self._staff, self._current_draft(), False)
                else:
                    composer.insert(raw)

        self.app.push_screen(
            Question(
                "Attach this file?",
                f"{safe_line(raw)}\n{human_size(file.size)} · {file.mime_type}",
                {"y": ("attach", "attach it"), "n": ("text", "send the path as text" if sending else "paste as text")},
            ),
            answered,
        )

    @on(Composer.PathPasted)
    def _path_pasted(self, event: Composer.PathPasted) -> None:
        self._offer_attach(event.path)

    @on(AttachmentTray.Removed)
    def _file_removed(self, event: AttachmentTray.Removed) -> None:
        self._draft_changed()
        self.notify(f"Removed {safe_line(event.file.filename)}.", timeout=2)
        if not event.tray.files:
            self.set_focus(self.query_one(Composer))

    def action_cycle_method(self) -> None:
        self.query_one(MethodToggle).action_step(1)

    @on(Composer.EditorRequested)
    def _editor(self, event: Composer.EditorRequested) -> None:
        composer = event.composer
        try:
            command = self.app.services.policy.editor_command(os.environ)
        except EditorRefused as exc:
            self._set_error(str(exc))
            return
        edited = edit_in_editor(self.app, composer.text, command)
        if edited is None:
            self._set_error("the editor failed or was not found: set $EDITOR (or $VISUAL)")
            return
        composer.text = edited
        composer.move_cursor(composer.document.end)

    def _set_error(self, text: str | None) -> None:
        label = self.query_one("#composer-error", Static)
        if not text and not label.display:
            return  # already clear: nothing to lay out again
        label.update(Text(text or ""))
        label.display = bool(text)

    @on(FeedView.RemoveRequested)
    def _remove_requested(self, event: FeedView.RemoveRequested) -> None:
        message = event.message

        def answered(answer: str | None) -> None:
            if answer == "remove":
                self.remove(message.id)

        preview = safe_line(message.body)[:70] or "(no text)"
        self.app.push_screen(
            Question(
                "Remove this message?",
                f"{preview}\n\nThis removes the message from the feed. An email already delivered cannot be recalled.",
                {"y": ("remove", "remove it")},
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="remove")
    def remove(self, message_id: int) -> None:
        try:
            gone = remove_message(self.app.services, message_id)
        except (LookupError, DatabaseBusy) as exc:
            self.app.call_from_thread(self.notify, f"Not removed: {exc}", severity="warning", timeout=6)
            return
        self._last_removed = (message_id, time.monotonic())
        words = " and ".join({"email": "email", "sms": "SMS"}.get(channel, channel) for channel in gone)
        sent = f" It had already gone out by {words}; that cannot be recalled." if gone else ""
        self.app.call_from_thread(self.notify, f"Message removed.{sent} Press u to undo.", timeout=UNDO_S)

    def action_undo_remove(self) -> None:
        last = self._last_removed
        if last is None or time.monotonic() - last[1] > UNDO_S:
            self.notify("Nothing to undo.", timeout=2)
            return
        self._last_removed = None
        self.restore(last[0])

    @work(thread=True, exit_on_error=False, group="remove")
    def restore(self, message_id: int) -> None:
        try:
            restore_message(self.app.services, message_id)
        except (LookupError, DatabaseBusy) as exc:
            self.app.call_from_thread(self.notify, f"Not restored: {exc}", severity="warning", timeout=6)
            return
        self.app.call_from_thread(self.notify, "Message restored.", timeout=3)
        if self._staff is not None:
            self.app.call_from_thread(self.load_feed, self._staff, False)

    @on(FeedView.MarkUnreadRequested)
    def _mark_unread(self, event: FeedView.MarkUnreadRequested) -> None:
        if self._staff is not None:
            self._kept_unread = self._staff.id
            self.mark_unread(self._staff.id, event.message.id)

    @work(thread=True, exit_on_error=False, group="reads")
    def mark_unread(self, staff_id: int, message_id: int) -> None:
        services = self.app.services
        mark_unread_from(services, staff_id, message_id)
        self.post_message(UnreadCounted(unread_counts_for(services, [staff_id])))

    @on(FeedView.RetryRequested)
    def _retry_requested(self, event: FeedView.RetryRequested) -> None:
        failed = [d for d in event.message.deliveries if d.status is DeliveryStatus.FAILED]
        if not failed:
            self.notify("Nothing to retry: no delivery of this message has failed.", timeout=4)
            return
        self.change_deliveries([d.id for d in failed], "retry")

    @on(FeedView.OriginalRequested)
    def _original_requested(self, event: FeedView.OriginalRequested) -> None:
        if event.message.received_by is not Channel.EMAIL:
            self.notify("Only a received email has an original to show.", timeout=3)
            return
        from staff_feed_tui.tui.screens.original import OriginalEmailScreen

        self.app.push_screen(OriginalEmailScreen(event.message.id))

    @on(FeedView.CancelRequested)
    def _cancel_requested(self, event: FeedView.CancelRequested) -> None:
        queued = [d for d in event.message.deliveries if d.status is DeliveryStatus.QUEUED]
        if not queued:
            self.notify("Nothing to cancel: only a delivery still queued can be cancelled.", timeout=4)
            return
        self.change_deliveries([d.id for d in queued], "cancel")

    @work(thread=True, exit_on_error=False, group="deliveries")
    def change_deliveries(self, delivery_ids: list[int], how: str) -> None:
        change = retry_deliveries if how == "retry" else cancel_deliveries
        result = change(self.app.services, delivery_ids)
        words = {"retry": "queued again", "cancel": "cancelled"}[how]
        done = result.done
        if done:
            self.app.call_from_thread(self.notify, f"{done} deliver{'y' if done == 1 else 'ies'} {words}.", timeout=3)
        for problem in result.problems:
            self.app.call_from_thread(self.notify, f"Not done: {problem}", severity="warning", timeout=6)

    @on(Composer.Left)
    def _left(self, _: Composer.Left) -> None:
        if self._staff is not None:
            self._keep_draft(self._staff)
        self.set_focus(self.query_one(FeedView))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            what = {"staff": "load the staff list", "feed": "load the feed", "feed-page": "load more of the feed",
                    "feed-changes": "update the feed", "send": "send", "drafts": "save the draft",
                    "deliveries": "change the delivery", "reads": "save what you have read",
                    "inbound": "check new texts", "triage": "count unknown senders",
                    "remove": "remove the message", "authors": "list the dispatchers"}.get(
                event.worker.group, "finish a task"
            )
            self.app.log.error(f"worker {event.worker.name} failed: {error!r}")
            self.notify(f"Could not {what}: {safe_line(str(error))[:200]}", severity="error", timeout=8)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "write" and isinstance(self.focused, Composer):
            return False  # an `i` typed in the composer is a letter
        if action in ("filters", "search", "search_all", "tab") and isinstance(self.focused, (Input, TextArea)):
            return False  # typed in a text field, these are letters
        if action == "nav":
            return isinstance(self.focused, (StaffList, FeedView)) or None  # elsewhere the key is the widget's
        return True

    def action_nav(self, where: str) -> None:
        focused = self.focused
        if isinstance(focused, (StaffList, FeedView)):
            {"down": focused.action_cursor_down, "up": focused.action_cursor_up,
             "first": focused.action_first, "last": focused.action_last}[where]()

    # ---- actions ----------------------------------------------------------------------------------------------

    def action_next_staff(self) -> None:
        self.query_one(StaffList).step(1)

    def action_prev_staff(self) -> None:
        self.query_one(StaffList).step(-1)

    # ---- filters ----------------------------------------------------------------------------------------------

    def _only(self) -> FeedFilter | None:
        """The filters in force, dates resolved now (so "7d" keeps meaning the last 7 days)."""
        if self._filter_values == FilterValues():
            return None
        try:
            only = self._filter_values.to_filter(self.app.clock())
        except ValueError:
            return None
        return only if only.active else None

    def action_filters(self) -> None:
        """`\\` and the button: open the drawer with the query line focused (or close it when open)."""
        self._show_tab("feed")
        drawer = self.query_one(FilterDrawer)
        if drawer.display and self.focused is not None and drawer in self.focused.ancestors:
            self.close_drawer()
            return
        drawer.show_values(self._filter_values)
        drawer.display = True
        self.query_one("#compose-area").display = False  # the drawer takes the composer's room while open
        drawer.focus_line()
        self.load_authors()

    @work(thread=True, exclusive=True, exit_on_error=False, group="authors")
    def load_authors(self) -> None:
        """The dispatchers' names, for the drawer's author field to complete from."""
        names = dispatcher_names(self.app.services)
        self.app.call_from_thread(self.query_one(FilterDrawer).set_authors, names)

    @on(Button.Pressed, "#filters")
    def _filters_pressed(self) -> None:
        drawer = self.query_one(FilterDrawer)
        if drawer.display:
            self.close_drawer()
        else:
            self.action_filters()

    @on(FilterDrawer.Applied)
    def _filters_applied(self, event: FilterDrawer.Applied) -> None:
        if event.values == self._filter_values:
            return
        self._filter_values = event.values
        only = self._only()
        self.query_one("#filters", Button).label = (only or FeedFilter()).label()
        self.query_one(FeedView).empty_hint = (
            "No messages match the filters. Press \\ then Clear filters to see every message." if only
            else "No messages yet. Write one below and press Enter to send."
        )
        if self._staff is not None:
            self.load_feed(self._staff, reset=True)
        if self._search:
            self._run_search(self._search)

    @on(FilterDrawer.Closed)
    def _drawer_closed(self) -> None:
        self.close_drawer()

    def close_drawer(self) -> None:
        self.query_one(FilterDrawer).display = False
        self.query_one("#compose-area").display = True
        self.set_focus(self.query_one(FeedView))

    # ---- search -----------------------------------------------------------------------------------------------

    def action_search(self) -> None:
        if self._staff is None:
            return
        self._show_tab("feed")
        line = self.query_one("#search-line", Input)
        line.display = True
        line.value = self._search
        self.set_focus(line)

    def search_done(self, text: str | None) -> None:
        """Enter in the search line searches (an empty line clears the search); Esc closes it."""
        line = self.query_one("#search-line", Input)
        line.display = False
        self.set_focus(self.query_one(FeedView))
        if text is None:
            return
        text = text.strip()
        if not text:
            self._clear_search()
            return
        self._run_search(text)

    def _clear_search(self) -> None:
        self._search, self._hits, self._hit = "", [], -1
        self.query_one(FeedView).set_highlight([])
        self._show_search_state()

    def _run_search(self, text: str, at: int | None = None) -> None:
        """Search the open feed; with `at`, the cursor stays on that message (a hit) instead of jumping."""
        if self._staff is None:
            return
        self._search = text
        self._search_at = at
        self.query_one(FeedView).set_highlight(fts_words(text))
        self.query_one("#search-state", Static).update(Text(f"searching {safe_line(text)!r}…"))
        self.search_feed(self._staff, text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def search_feed(self, staff: StaffView, text: str) -> None:
        hits = search_feed(self.app.services, staff.id, text, only=self._only())
        if get_current_worker().is_cancelled:
            return  # a newer load (another filter, staff member or jump) replaced this one: its answer is stale
        self.post_message(SearchHits(staff.id, text, hits))

    @on(SearchHits)
    def _search_hits(self, event: SearchHits) -> None:
        if self._staff is None or event.staff_id != self._staff.id or event.text != self._search:
            return
        self._hits = list(event.hits)
        self._hit = -1
        ids = [key[1] for key in self._hits]
        if self._search_at in ids:
            self._hit = ids.index(self._search_at)
            self._show_search_state()
        elif self._hits:
            self.action_next_hit(1)
        else:
            self._show_search_state()

    def _show_search_state(self) -> None:
        label = self.query_one("#search-state", Static)
        if not self._search:
            label.update("")
            return
        shown = safe_line(self._search)[:30]
        if not self._hits:
            label.update(Text(f"{shown!r}: no match", style="bold"))
        else:
            where = f"{shown!r}: {self._hit + 1} of {len(self._hits)}"
            keys = " · n older · N newer"
            if label.content_region.width and len(where) + len(keys) > label.content_region.width:
                keys = " (n/N)"  # narrow: the keys in short
            label.update(Text(where + keys))

    def action_next_hit(self, step: int) -> None:
        """n goes to the next older match, N to the next newer one."""
        if not self._hits:
            if self._search:
                self.notify(f"No match for {safe_line(self._search)!r} in this feed.", timeout=3)
            return
        self._hit = (self._hit + step) % len(self._hits)
        self._show_search_state()
        self.jump_to(self._hits[self._hit][1])

    def jump_to(self, message_id: int) -> None:
        """Put the cursor on a message of the open feed, loading a window around it if it is not on hand."""
        feed = self.query_one(FeedView)
        self.set_focus(feed)
        if not feed.select_id(message_id) and self._staff is not None:
            self.load_around(self._staff, message_id)

    def load_around(self, staff: StaffView, message_id: int) -> None:
        self._open_token = None  # a slow first page still on its way is now stale
        self._load_around(staff, message_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="feed")
    def _load_around(self, staff: StaffView, message_id: int) -> None:
        window, at_oldest, at_newest = feed_around(self.app.services, staff.id, message_id,
                                                   limit=FEED_PAGE // 2, only=self._only())
        if get_current_worker().is_cancelled:
            return  # a newer load (another filter, staff member or jump) replaced this one: its answer is stale
        self.post_message(FeedLoaded(staff, window, False, at_oldest=at_oldest, at_newest=at_newest,
                                     select_id=message_id))

    def action_search_all(self) -> None:
        from staff_feed_tui.tui.screens.search import SearchAllScreen

        def chosen(hit: tuple[int, int, str] | None) -> None:
            if hit is not None:
                staff_id, message_id, text = hit
                self.open_message(staff_id, message_id)
                self._run_search(text, at=message_id)  # n/N go on from there, in that feed

        self.app.push_screen(SearchAllScreen(self._search), chosen)

    def open_message(self, staff_id: int, message_id: int) -> None:
        """Open a staff member's feed at one message (a hit of the search across all staff)."""
        staff_list = self.query_one(StaffList)
        staff = next((s for s in staff_list.staff if s.id == staff_id), None)
        if staff is None:
            self.notify("That staff member is no longer in the list.", severity="warning", timeout=4)
            return
        self._show_tab("feed")
        if not staff_list.select_staff(staff_id):
            self.query_one("#staff-find", Input).value = ""
            staff_list.filter("")
            staff_list.select_staff(staff_id)
        if self._staff is None or self._staff.id != staff_id:
            self.choose_staff(staff, at_message=message_id)
        else:
            self.jump_to(message_id)

    # ---- tabs: Conversation Feed, Profile, History ------------------------------------------------------------

    def _show_tab(self, name: str) -> None:
        tabs = self.query_one("#staff-tabs", TabbedContent)
        if tabs.active != f"tab-{name}":
            tabs.active = f"tab-{name}"

    def action_tab(self, name: str) -> None:
        if self._staff is None:
            return
        tabs = self.query_one("#staff-tabs", TabbedContent)
        if name == "feed" and tabs.active == "tab-feed":
            return
        if name == "profile":
            self.query_one(ProfilePane).ensure_filled()
        self._show_tab(name)
        if name == "profile":
            self.query_one(ProfilePane).focus_first()
        elif name == "history":
            self.query_one(HistoryPane).show_staff(self._staff)
            self.query_one(HistoryPane).focus_list()
        else:
            self.set_focus(self.query_one(FeedView))

    def action_focus_step(self, step: int) -> None:
        """Tab and Shift+Tab. Inside the filter drawer or the profile form, focus walks the fields in the order they
        are written, which holds even before a drawer just opened has been laid out (a burst of keys); elsewhere,
        Textual's focus order."""
        focused = self.focused
        if focused is not None:
            for form in (self.query_one(FilterDrawer), self.query_one(ProfilePane)):
                if form in focused.ancestors:
                    fields = [w for w in form.query("*") if w.can_focus and w.display]
                    index = fields.index(focused) if focused in fields else -1
                    if 0 <= index + step < len(fields) and index >= 0:
                        self.set_focus(fields[index + step])
                        return
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def action_back_to_feed(self) -> None:
        """Esc: from Profile or History back to the feed; in the feed, it closes the filter drawer."""
        tabs = self.query_one("#staff-tabs", TabbedContent)
        if tabs.active == "tab-feed" and self.query_one(FilterDrawer).display:
            self.close_drawer()
        else:
            self.action_tab("feed")

    @on(TabbedContent.TabActivated, "#staff-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self._staff is not None and event.pane.id == "tab-history":
            self.query_one(HistoryPane).show_staff(self._staff)
        if event.pane.id == "tab-profile":
            self.query_one(ProfilePane).ensure_filled()  # a click on the tab

    @on(HistoryPane.Restored)
    def _history_restored(self) -> None:
        if self._staff is not None:
            self.load_feed(self._staff, reset=False)

    @on(ProfilePane.Saved)
    def _profile_saved(self, event: ProfilePane.Saved) -> None:
        if self._staff is not None and self._staff.id == event.staff.id:
            self._staff = event.staff
            self._show_staff(event.staff)
        self.load_staff()

    def action_find_staff(self) -> None:
        self.set_focus(self.query_one("#staff-find", Input))

    def leave_find(self, clear: bool) -> None:
        """Down or Enter go to the (filtered) list; Esc clears the filter as well."""
        staff_list = self.query_one(StaffList)
        if clear:
            self.query_one("#staff-find", Input).value = ""  # FindInput filters the list as its value changes
        staff_list.choose_current()
        self.set_focus(staff_list)

    def action_write(self) -> None:
        # set_focus acts now; focus() would wait a message cycle, and keys typed right after `i` would be lost.
        self.set_focus(self.query_one(Composer))
