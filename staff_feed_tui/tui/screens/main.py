"""The main screen: staff list on the left; the selected staff member's feed and the composer on the right."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from staff_feed_tui.core.draft import DraftError
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.texting import sms_unavailable_reason
from staff_feed_tui.core.types import DeliveryStatus, Direction, StaffView
from staff_feed_tui.store.db import DatabaseBusy
from staff_feed_tui.store.feed import feed_page, get_messages
from staff_feed_tui.store.inbound import list_triage
from staff_feed_tui.store.reads import mark_read, newest_message_id, unread_counts
from staff_feed_tui.store.staff import list_staff
from staff_feed_tui.tui.messages import (
    FeedLoaded,
    FeedsChanged,
    InboundArrived,
    MessageQueued,
    SendRefused,
    StaffLoaded,
    TriageCounted,
    UnreadCounted,
)
from staff_feed_tui.tui.widgets.composer import Composer
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.staff_list import StaffList, staff_flags

if TYPE_CHECKING:
    from staff_feed_tui.tui.app import StaffFeedApp

FEED_WINDOW = 300


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+n", "next_staff", "Next staff", priority=True),
        Binding("ctrl+p", "prev_staff", "Prev staff", priority=True),
        # Priority, so the app handles `i` the moment it arrives: keys typed right after it (one burst over a slow
        # link) then reach the composer instead of queueing behind it on the widget that had focus.
        Binding("i", "write", "Write", priority=True),
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("U", "triage", "Unknown senders", show=False),
    ]

    app: StaffFeedApp

    def __init__(self) -> None:
        super().__init__()
        self._staff: StaffView | None = None
        self._drafts: dict[int, str] = {}
        self._newest_seen = 0  # messages up to this id were there before; newer inbound ones are announced

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(id="identity")
            yield Static(id="triage-count")
            yield Static(id="worker-state")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Static("Staff", id="staff-title", classes="pane-title")
                yield StaffList(id="staff", on_choose=self.choose_staff)
            with Vertical(id="right"):
                yield Static("", id="feed-title", classes="pane-title")
                yield FeedView(id="feed", clock=self.app.clock)
                yield Static("", id="composer-error")
                yield Composer(id="composer")
                yield Static("", id="composer-hint")
        yield Footer()

    def on_mount(self) -> None:
        services = self.app.services
        company = safe_line(services.settings.company.name)
        self.query_one("#identity", Static).update(
            Text.assemble(("staff-feed", "bold"), f"  {company}  ·  dispatcher: {safe_line(services.dispatcher)}")
        )
        self.query_one("#composer-error", Static).display = False
        self.query_one(StaffList).focus()
        self.load_staff(initial=True)
        self.count_triage()
        self.set_interval(0.5, self._show_worker_state)

    def _show_worker_state(self) -> None:
        worker = self.app.outbox_worker
        if worker is None:
            text = "delivery: external worker" if not self.app.embedded_worker else "delivery: starting"
        else:
            text = f"delivery: {worker.state.text}"
        self.query_one("#worker-state", Static).update(Text(safe_line(text)[:80], no_wrap=True, overflow="ellipsis"))

    # ---- loading ----------------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="staff")
    def load_staff(self, initial: bool = False) -> None:
        services = self.app.services
        if initial:
            self._newest_seen = newest_message_id(services.engine)
        staff = list_staff(services.engine)
        self.post_message(StaffLoaded(staff, unread_counts(services.engine, services.dispatcher)))

    @on(StaffLoaded)
    def _staff_loaded(self, event: StaffLoaded) -> None:
        staff_list = self.query_one(StaffList)
        staff_list.set_staff(event.staff, self._open_feed_read(event.unread))
        self.query_one("#staff-title", Static).update(f"Staff ({len(event.staff)})")
        if not event.staff:
            self.query_one(FeedView).empty_hint = (
                "No staff yet. Import a roster with: staff-feed staff import FILE.csv"
            )
            self.query_one(FeedView).set_messages([], staff_name="", reset=True)

    def choose_staff(self, staff: StaffView) -> None:
        """Show `staff`'s feed; the composer's draft is kept per staff member."""
        previous = self._staff
        changed = previous is None or previous.id != staff.id
        composer = self.query_one(Composer)
        if previous is not None and changed:
            self._drafts[previous.id] = composer.text
        self._staff = staff
        self._show_staff(staff)
        if changed:
            composer.text = self._drafts.pop(staff.id, "")
            self._set_error(None)
            self.load_feed(staff, reset=True)

    def _show_staff(self, staff: StaffView) -> None:
        parts = [safe_line(staff.name), staff.email]
        if staff.phone:
            parts.append(staff.phone)
        flags = staff_flags(staff)
        if flags == "sms":
            parts.append("texts: yes")
        elif flags == "STOP":
            parts.append("texts: opted out")
        self.query_one("#feed-title", Static).update(Text("  ·  ".join(parts)))
        reason = sms_unavailable_reason(self.app.services.settings.company.text_messaging, staff)
        via = "via Email" + (f"  (SMS unavailable: {reason})" if reason else "")
        self.query_one("#composer-hint", Static).update(
            Text(f"{via}  ·  Enter send  ·  Ctrl+J new line  ·  Esc leave")
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="feed")
    def load_feed(self, staff: StaffView, reset: bool) -> None:
        messages = feed_page(self.app.services.engine, staff.id, limit=FEED_WINDOW)
        self.post_message(FeedLoaded(staff, messages, reset))

    @on(FeedLoaded)
    def _feed_loaded(self, event: FeedLoaded) -> None:
        if self._staff is None or event.staff.id != self._staff.id:
            return  # a late answer for a staff member no longer shown
        self.query_one(FeedView).set_messages(event.messages, staff_name=event.staff.name, reset=event.reset)
        inbound = [m.id for m in event.messages if m.direction is Direction.IN]
        staff_list = self.query_one(StaffList)
        if inbound and staff_list.unread.get(event.staff.id):
            staff_list.set_unread({**staff_list.unread, event.staff.id: 0})
        if inbound:
            self.mark_read(event.staff.id, max(inbound))

    @work(thread=True, exit_on_error=False, group="reads")
    def mark_read(self, staff_id: int, up_to: int) -> None:
        services = self.app.services
        mark_read(services.engine, services.dispatcher, staff_id, up_to)

    def _open_feed_read(self, unread: dict[int, int]) -> dict[int, int]:
        """The feed on screen is being read: its count stays at zero."""
        if self._staff is not None and unread.get(self._staff.id):
            return {**unread, self._staff.id: 0}
        return unread

    @on(FeedsChanged)
    def _feeds_changed(self, event: FeedsChanged) -> None:
        if any(f.staff_id == 0 for f in event.feeds):
            self.count_triage()
        feeds = [f for f in event.feeds if f.staff_id != 0]
        if any(f.staff_changed for f in feeds):
            self.load_staff()
        if self._staff is not None and any(f.staff_id == self._staff.id for f in feeds):
            self.load_feed(self._staff, reset=False)
        changed = sorted({m for f in feeds for m in f.message_ids if m > self._newest_seen})
        if changed:
            self.check_inbound(changed)

    @work(thread=True, exit_on_error=False, group="inbound")
    def check_inbound(self, message_ids: list[int]) -> None:
        services = self.app.services
        arrived = [m for m in get_messages(services.engine, message_ids) if m.direction is Direction.IN]
        self._newest_seen = max([self._newest_seen, *message_ids])
        if arrived:
            self.post_message(InboundArrived(arrived))
            self.post_message(UnreadCounted(unread_counts(services.engine, services.dispatcher)))

    @on(InboundArrived)
    def _inbound_arrived(self, event: InboundArrived) -> None:
        names = {s.id: s.name for s in self.query_one(StaffList).staff}
        for message in event.messages:
            name = safe_line(names.get(message.staff_id, "a staff member"))
            preview = safe_line(message.body)[:80] or f"{len(message.attachments)} file(s)"
            self.notify(f"Text from {name}: {preview}", title="New text", timeout=6)
        if self.app.services.settings.tui.bell:
            self.app.bell()

    @on(UnreadCounted)
    def _unread_counted(self, event: UnreadCounted) -> None:
        self.query_one(StaffList).set_unread(self._open_feed_read(event.unread))

    @work(thread=True, exclusive=True, exit_on_error=False, group="triage")
    def count_triage(self) -> None:
        self.post_message(TriageCounted(len(list_triage(self.app.services.engine))))

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
        self.send(self._staff, event.text)

    @work(thread=True, exit_on_error=False, group="send")
    def send(self, staff: StaffView, text: str) -> None:
        from staff_feed_tui.services import queue_outgoing

        try:
            message_id = queue_outgoing(self.app.services, staff=staff, body=text)
        except (DraftError, DatabaseBusy) as exc:
            self.post_message(SendRefused(staff, str(exc)))
            return
        self.post_message(MessageQueued(staff, message_id))

    @on(MessageQueued)
    def _queued(self, event: MessageQueued) -> None:
        if self._staff is not None and self._staff.id == event.staff.id:
            self.query_one(Composer).clear()
            self.load_feed(event.staff, reset=True)
        else:
            self._drafts.pop(event.staff.id, None)
        self.notify(f"Queued for {safe_line(event.staff.name)} by email.", timeout=3)

    @on(SendRefused)
    def _refused(self, event: SendRefused) -> None:
        self._set_error(f"Not sent: {event.reason}")

    def _set_error(self, text: str | None) -> None:
        label = self.query_one("#composer-error", Static)
        label.update(Text(text or ""))
        label.display = bool(text)

    @on(FeedView.RetryRequested)
    def _retry_requested(self, event: FeedView.RetryRequested) -> None:
        failed = [d for d in event.message.deliveries if d.status is DeliveryStatus.FAILED]
        if not failed:
            self.notify("Nothing to retry: no delivery of this message has failed.", timeout=4)
            return
        self.change_deliveries([d.id for d in failed], "retry")

    @on(FeedView.CancelRequested)
    def _cancel_requested(self, event: FeedView.CancelRequested) -> None:
        queued = [d for d in event.message.deliveries if d.status is DeliveryStatus.QUEUED]
        if not queued:
            self.notify("Nothing to cancel: only a delivery still queued can be cancelled.", timeout=4)
            return
        self.change_deliveries([d.id for d in queued], "cancel")

    @work(thread=True, exit_on_error=False, group="deliveries")
    def change_deliveries(self, delivery_ids: list[int], how: str) -> None:
        from staff_feed_tui.store.outbox import DeliveryStateError, cancel_delivery, retry_delivery

        change = retry_delivery if how == "retry" else cancel_delivery
        done = 0
        problems = []
        for delivery_id in delivery_ids:
            try:
                change(self.app.services.engine, delivery_id)
                done += 1
            except (DeliveryStateError, DatabaseBusy) as exc:
                problems.append(str(exc))
        words = {"retry": "queued again", "cancel": "cancelled"}[how]
        if done:
            self.app.call_from_thread(self.notify, f"{done} deliver{'y' if done == 1 else 'ies'} {words}.", timeout=3)
        for problem in problems:
            self.app.call_from_thread(self.notify, f"Not done: {problem}", severity="warning", timeout=6)

    @on(Composer.Left)
    def _left(self, _: Composer.Left) -> None:
        self.set_focus(self.query_one(FeedView))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            what = {"staff": "load the staff list", "feed": "load the feed", "send": "send",
                    "deliveries": "change the delivery", "reads": "save what you have read",
                    "inbound": "check new texts", "triage": "count unknown senders"}.get(
                event.worker.group, "finish a task"
            )
            self.app.log.error(f"worker {event.worker.name} failed: {error!r}")
            self.notify(f"Could not {what}: {safe_line(str(error))[:200]}", severity="error", timeout=8)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "write" and isinstance(self.focused, Composer):
            return False  # an `i` typed in the composer is a letter
        return True

    # ---- actions ----------------------------------------------------------------------------------------------

    def action_next_staff(self) -> None:
        self.query_one(StaffList).step(1)

    def action_prev_staff(self) -> None:
        self.query_one(StaffList).step(-1)

    def action_write(self) -> None:
        # set_focus acts now; focus() would wait a message cycle, and keys typed right after `i` would be lost.
        self.set_focus(self.query_one(Composer))
