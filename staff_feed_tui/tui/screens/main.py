"""The main screen: a layout and a router. Staff list on the left; on the right the selected staff member's tabs:
the Conversation Feed (ConversationPane over ComposeArea), Profile and History.

The screen owns the staff selection, the tabs and the focus; each pane owns its state and its workers. Who owns
what is written down in docs/architecture.md ("The panes").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane, Tabs, TextArea
from textual.worker import Worker

from staff_feed_tui.core.draft import DraftError
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.texting import sms_unavailable_reason
from staff_feed_tui.core.types import Channel, DeliveryMethod, StaffView
from staff_feed_tui.services.context import DatabaseBusy
from staff_feed_tui.services.feeds import unread_counts
from staff_feed_tui.services.inbound import list_triage
from staff_feed_tui.services.outgoing import MmsLimitError, queue_outgoing
from staff_feed_tui.services.staff import list_staff, staff_activity
from staff_feed_tui.tui.compat import KeysInArrivalOrder, QuickInput
from staff_feed_tui.tui.messages import (
    ActivityLoaded,
    DraftState,
    FeedsChanged,
    MessageQueued,
    MmsLimitsBroken,
    SendRefused,
    StaffLoaded,
    TriageCounted,
    UnreadCounted,
)
from staff_feed_tui.tui.panes import say_worker_failed
from staff_feed_tui.tui.panes.compose_area import ComposeArea
from staff_feed_tui.tui.panes.conversation import ConversationPane
from staff_feed_tui.tui.panes.live_updates import ERRORS as LIVE_ERRORS
from staff_feed_tui.tui.panes.live_updates import LiveStarted, LiveUpdate, LiveUpdates
from staff_feed_tui.tui.widgets.composer import Composer
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.filter_drawer import FilterDrawer
from staff_feed_tui.tui.widgets.history import HistoryPane
from staff_feed_tui.tui.widgets.profile import ProfilePane
from staff_feed_tui.tui.widgets.staff_list import StaffList, staff_flags

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

# What a dispatcher reads when one of the screen's own workers fails; the panes keep theirs beside their workers.
ERRORS = {"staff": "load the staff list", "send": "send", "triage": "count unknown senders"}


class FindInput(QuickInput):
    """The staff filter: Esc clears it, Enter and Down leave it; handled as they arrive, so they act in key order."""

    def value_now(self, value: str) -> None:
        # Filter right here rather than on the Changed message: the typed letter and the shorter list then go out
        # in one frame instead of two (Textual paints at most every 1/60 s: about 15 ms less per keystroke).
        if self.is_mounted:
            self.screen.query_one(StaffList).filter(value)

    def take_key(self, key: str) -> bool:
        if key not in ("escape", "down", "enter"):
            return False
        screen = self.screen
        assert isinstance(screen, MainScreen)
        screen.leave_find(clear=key == "escape")
        return True


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

    def __init__(self, services: Services, clock: Callable[[], datetime],
                 delivery_state: Callable[[], str]) -> None:
        super().__init__()
        self._services = services
        self._clock = clock
        self._delivery_state = delivery_state
        self._staff: StaffView | None = None
        self._worker_text = ""
        self._title_lines = 0
        self.live = LiveUpdates(self, services)

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
                        yield ConversationPane(self._services, self._clock, id="conversation")
                        yield ComposeArea(self._services, id="compose-area")
                    with TabPane("Profile", id="tab-profile"):
                        yield ProfilePane(id="profile")
                    with TabPane("History", id="tab-history"):
                        yield HistoryPane(id="history")
        yield Footer()

    def on_mount(self) -> None:
        services = self._services
        company = safe_line(services.settings.company.name)
        # The dispatcher's name first: at 80 columns the company name is what gives way.
        self.query_one("#identity", Static).update(
            Text.assemble(("staff-feed", "bold"), f"  dispatcher: {safe_line(services.dispatcher)}  ·  {company}",
                          no_wrap=True, overflow="ellipsis")
        )
        for tabs in self.query(Tabs):
            tabs.can_focus = False  # P, H and Esc switch tabs; Tab goes staff list -> feed -> composer
        self.live.start()
        self.load_staff(services, initial=True)  # the staff list has focus from AUTO_FOCUS
        self.count_triage(services)
        self._show_worker_state()
        self.set_interval(0.5, self._show_worker_state)

    # ---- the parts --------------------------------------------------------------------------------------------

    @property
    def staff_list(self) -> StaffList:
        return self.query_one(StaffList)

    @property
    def conversation(self) -> ConversationPane:
        return self.query_one(ConversationPane)

    @property
    def compose_area(self) -> ComposeArea:
        return self.query_one(ComposeArea)

    @property
    def feed(self) -> FeedView:
        return self.conversation.feed

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#staff-tabs", TabbedContent)

    @property
    def profile(self) -> ProfilePane:
        return self.query_one(ProfilePane)

    @property
    def history(self) -> HistoryPane:
        return self.query_one(HistoryPane)

    @property
    def find_line(self) -> FindInput:
        return self.query_one(FindInput)

    # ---- the top bar ------------------------------------------------------------------------------------------

    def _show_worker_state(self) -> None:
        text = safe_line(self._delivery_state())[:80]
        if text != self._worker_text:  # an unchanged label would still cost a whole-screen layout
            self._worker_text = text
            self.query_one("#worker-state", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="triage")
    def count_triage(self, services: Services) -> None:
        self.post_message(TriageCounted(len(list_triage(services))))

    @on(TriageCounted)
    def _triage_counted(self, event: TriageCounted) -> None:
        self._show_triage_count(event.count)

    def _show_triage_count(self, count: int) -> None:
        label = self.query_one("#triage-count", Static)
        label.update(Text(f"{count} unknown sender{'s' if count != 1 else ''} (U)  ", no_wrap=True,
                          overflow="ellipsis") if count else "")
        label.display = bool(count)

    def action_triage(self) -> None:
        from staff_feed_tui.tui.screens.triage import TriageScreen

        self.app.push_screen(TriageScreen(), callback=lambda _: self.count_triage(self._services))

    # ---- the staff list ---------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="staff")
    def load_staff(self, services: Services, initial: bool = False) -> None:
        staff = list_staff(services)
        if initial:
            # Names first: the counts and the activity order follow a moment later (at 1M messages they take
            # 0.1-0.5 s, and a dispatcher should see the staff list before that).
            self.post_message(StaffLoaded(staff, {}))
            self.post_message(UnreadCounted(unread_counts(services)))
            self.post_message(ActivityLoaded(staff_activity(services)))
            return
        self.post_message(StaffLoaded(staff, unread_counts(services)))

    @on(ActivityLoaded)
    def _activity_loaded(self, event: ActivityLoaded) -> None:
        self.staff_list.set_activity(event.activity)

    @on(StaffLoaded)
    def _staff_loaded(self, event: StaffLoaded) -> None:
        staff_list = self.staff_list
        staff_list.set_staff(event.staff, self._open_feed_read(event.unread))
        self.query_one("#staff-title", Static).update(f"Staff ({len(event.staff)})")
        # Keys typed while the app was starting go to the list now (after this screen's first refresh, when its
        # focus has settled).
        if isinstance(self.app, KeysInArrivalOrder):
            self.call_after_refresh(self.app.release_keys)
        if not event.staff:
            self.feed.empty_hint = "No staff yet. Import a roster with: staff-feed staff import FILE.csv"
            self.feed.set_messages([], staff_name="", reset=True)

    @on(UnreadCounted)
    def _unread_counted(self, event: UnreadCounted) -> None:
        staff_list = self.staff_list
        staff_list.set_unread(self._open_feed_read({**staff_list.unread, **event.unread}))

    def _open_feed_read(self, unread: dict[int, int]) -> dict[int, int]:
        """The feed on screen is being read: its count stays at zero (unless marked unread with `M`)."""
        if self._staff is not None and unread.get(self._staff.id) and self.conversation.kept_unread != self._staff.id:
            return {**unread, self._staff.id: 0}
        return unread

    @on(ConversationPane.FeedRead)
    def _feed_read(self, event: ConversationPane.FeedRead) -> None:
        staff_list = self.staff_list
        if staff_list.unread.get(event.staff_id):
            staff_list.set_unread({**staff_list.unread, event.staff_id: 0})

    def choose_staff(self, staff: StaffView, at_message: int | None = None) -> None:
        """Show `staff` in every tab (at `at_message` in the feed, when given); their draft and filters come back."""
        previous = self._staff
        changed = previous is None or previous.id != staff.id
        if previous is not None and changed and self.profile.dirty:
            self.notify(f"Profile edits for {safe_line(previous.name)} are kept, not saved: they are back in "
                        "the Profile tab when you return.", severity="warning", timeout=6)
        self._staff = staff
        # The feed is asked for first: its query then runs while the header and the composer are redrawn.
        take_first_page = self.conversation.open(staff, at_message) if changed else None
        self._show_staff(staff, changed=changed)
        self.profile.show_staff(staff, keep_edits=not changed)
        if self.tabs.active == "tab-history":
            self.history.show_staff(staff)
        if take_first_page is not None:
            take_first_page()

    def _show_staff(self, staff: StaffView, changed: bool = False) -> None:
        parts = [safe_line(staff.name), safe_line(staff.email)]
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
        reason = sms_unavailable_reason(self._services.settings.company.text_messaging, staff)
        self.compose_area.show_staff(staff, sms_unavailable=reason, changed=changed)

    def save_open_draft_now(self) -> None:
        """On the way out: the open draft is written before the app exits."""
        self.compose_area.save_open_draft_now()

    # ---- sending ----------------------------------------------------------------------------------------------

    @on(ComposeArea.SendRequested)
    def _send_requested(self, event: ComposeArea.SendRequested) -> None:
        self.send(self._services, event.staff, event.draft, event.files_by_email)

    @work(thread=True, exit_on_error=False, group="send")
    def send(self, services: Services, staff: StaffView, draft: DraftState, files_by_email: bool) -> None:
        try:
            message_id = queue_outgoing(services, staff=staff, body=draft.body, attachments=draft.files,
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
        self.compose_area.ask_about_mms(event.staff, event.draft, event.problems)

    @on(MessageQueued)
    def _queued(self, event: MessageQueued) -> None:
        self.compose_area.sent(event.staff)
        if self._staff is not None and self._staff.id == event.staff.id:
            self.conversation.reload(reset=True)
            if isinstance(self.focused, Composer):
                self.set_focus(self.feed)  # sent: the keys are the feed's again (an `i` next opens the composer)
        how = {DeliveryMethod.EMAIL: "by email", DeliveryMethod.SMS: "by SMS", DeliveryMethod.BOTH: "by email and SMS"}
        self.notify(f"Queued for {safe_line(event.staff.name)} {how[event.method]}.", timeout=3)

    @on(SendRefused)
    def _refused(self, event: SendRefused) -> None:
        self.compose_area.refused(event.reason)

    def action_attach(self) -> None:
        self.compose_area.attach()

    def action_cycle_method(self) -> None:
        self.compose_area.cycle_method()

    @on(Composer.Left)
    def _left(self, _: Composer.Left) -> None:
        if self._staff is not None:
            self.compose_area.keep_draft(self._staff)
        self.set_focus(self.feed)

    def action_write(self) -> None:
        # set_focus acts now; focus() would wait a message cycle, and keys typed right after `i` would be lost.
        self.set_focus(self.compose_area.composer)

    # ---- live updates -----------------------------------------------------------------------------------------

    @on(LiveStarted)
    def _live_started(self, event: LiveStarted) -> None:
        self.live.started(event.newest)

    @on(FeedsChanged)
    def _feeds_changed(self, event: FeedsChanged) -> None:
        self.live.changed(event.feeds, self._staff.id if self._staff is not None else None)

    @on(LiveUpdate)
    def _live_update(self, event: LiveUpdate) -> None:
        if event.triage_count is not None:
            self._show_triage_count(event.triage_count)
        if event.reload_all or event.staff_changed:
            self.load_staff(self._services)
        if event.reload_all:
            self.conversation.reload()
            return
        if event.open_messages and self._staff is not None and event.open_staff_id == self._staff.id:
            self.conversation.changed(event.open_messages)
        if event.arrived:
            self._texts_arrived(event)

    def _texts_arrived(self, event: LiveUpdate) -> None:
        staff_list = self.staff_list
        for message in event.arrived:
            staff_list.note_activity(message.staff_id, message.created_at)
        staff_list.set_unread(self._open_feed_read({**staff_list.unread, **event.unread}))
        names = {s.id: s.name for s in staff_list.staff}
        for message in event.arrived:
            name = safe_line(names.get(message.staff_id, "a staff member"))
            preview = safe_line(message.body)[:80] or f"{len(message.attachments)} file(s)"
            what = "Email" if message.received_by is Channel.EMAIL else "Text"
            self.notify(f"{what} from {name}: {preview}", title=f"New {what.lower()}", timeout=6)
        if self._services.settings.tui.bell:
            self.app.bell()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        say_worker_failed(self, event, {**ERRORS, **LIVE_ERRORS})

    # ---- keys -------------------------------------------------------------------------------------------------

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

    def action_next_staff(self) -> None:
        self.staff_list.step(1)

    def action_prev_staff(self) -> None:
        self.staff_list.step(-1)

    def action_filters(self) -> None:
        self._show_tab("feed")
        self.conversation.toggle_drawer()

    @on(ConversationPane.DrawerShown)
    def _drawer_shown(self, event: ConversationPane.DrawerShown) -> None:
        self.compose_area.display = not event.shown  # the drawer takes the composer's room while open

    def action_search(self) -> None:
        if self._staff is not None:
            self._show_tab("feed")
            self.conversation.open_search()

    def action_next_hit(self, step: int) -> None:
        self.conversation.search.step(step)

    def action_undo_remove(self) -> None:
        self.conversation.actions.undo_remove()

    def action_search_all(self) -> None:
        from staff_feed_tui.tui.screens.search import SearchAllScreen

        def chosen(hit: tuple[int, int, str] | None) -> None:
            if hit is not None:
                staff_id, message_id, text = hit
                self.open_message(staff_id, message_id)
                self.conversation.run_search(text, at=message_id)  # n/N go on from there, in that feed

        self.app.push_screen(SearchAllScreen(self.conversation.search.text), chosen)

    def open_message(self, staff_id: int, message_id: int) -> None:
        """Open a staff member's feed at one message (a hit of the search across all staff)."""
        staff_list = self.staff_list
        staff = next((s for s in staff_list.staff if s.id == staff_id), None)
        if staff is None:
            self.notify("That staff member is no longer in the list.", severity="warning", timeout=4)
            return
        self._show_tab("feed")
        if not staff_list.select_staff(staff_id):
            self.find_line.value = ""
            staff_list.filter("")
            staff_list.select_staff(staff_id)
        if self._staff is None or self._staff.id != staff_id:
            self.choose_staff(staff, at_message=message_id)
        else:
            self.conversation.jump_to(message_id)

    # ---- tabs and focus ---------------------------------------------------------------------------------------

    def _show_tab(self, name: str) -> None:
        tabs = self.tabs
        if tabs.active != f"tab-{name}":
            tabs.active = f"tab-{name}"

    def action_tab(self, name: str) -> None:
        if self._staff is None:
            return
        if name == "feed" and self.tabs.active == "tab-feed":
            return
        if name == "profile":
            self.profile.ensure_filled()
        self._show_tab(name)
        if name == "profile":
            self.profile.focus_first()
        elif name == "history":
            self.history.show_staff(self._staff)
            self.history.focus_list()
        else:
            self.set_focus(self.feed)

    def action_focus_step(self, step: int) -> None:
        """Tab and Shift+Tab. Inside the filter drawer or the profile form, focus walks the fields in the order they
        are written, which holds even before a drawer just opened has been laid out (a burst of keys); elsewhere,
        Textual's focus order."""
        focused = self.focused
        if focused is not None:
            for form in (self.query_one(FilterDrawer), self.profile):
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
        if self.tabs.active == "tab-feed" and self.conversation.drawer_open:
            self.conversation.close_drawer()
        else:
            self.action_tab("feed")

    @on(TabbedContent.TabActivated, "#staff-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self._staff is not None and event.pane.id == "tab-history":
            self.history.show_staff(self._staff)
        if event.pane.id == "tab-profile":
            self.profile.ensure_filled()  # a click on the tab

    @on(HistoryPane.Restored)
    def _history_restored(self) -> None:
        self.conversation.reload()

    @on(ProfilePane.Saved)
    def _profile_saved(self, event: ProfilePane.Saved) -> None:
        if self._staff is not None and self._staff.id == event.staff.id:
            self._staff = event.staff
            self._show_staff(event.staff)  # the same staff member: their draft and method stay
        self.load_staff(self._services)

    def action_find_staff(self) -> None:
        self.set_focus(self.find_line)

    def leave_find(self, clear: bool) -> None:
        """Down or Enter go to the (filtered) list; Esc clears the filter as well."""
        staff_list = self.staff_list
        if clear:
            self.find_line.value = ""  # FindInput filters the list as its value changes
        staff_list.choose_current()
        self.set_focus(staff_list)
