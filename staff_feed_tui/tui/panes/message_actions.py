"""What a dispatcher does to one message of the feed: remove (and undo), restore, retry, cancel, mark unread.

Owned by the conversation pane. Each action names the message it acts on ("Removed 'Key is under the mat' (Mon
09:14)"), so a dispatcher always knows which one it was. The work runs in thread workers of the owner that take
their inputs as arguments; each outcome comes back as one `ActionDone` message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.dom import DOMNode
from textual.message import Message
from textual.notifications import SeverityLevel

from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.timefmt import format_when
from staff_feed_tui.core.types import DeliveryStatus, MessageView
from staff_feed_tui.services.context import DatabaseBusy
from staff_feed_tui.services.feeds import (
    cancel_deliveries,
    mark_unread_from,
    remove_message,
    restore_message,
    retry_deliveries,
    unread_counts_for,
)
from staff_feed_tui.tui.messages import UnreadCounted
from staff_feed_tui.tui.screens.pickers import Question

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

UNDO_S = 8.0  # how long `u` can bring a removed message back
# What a dispatcher reads when one of these workers fails outright (see MainScreen._worker_failed).
ERRORS = {"remove": "remove the message", "deliveries": "change the delivery", "reads": "save what you have read"}


def describe(message: MessageView, now: datetime) -> str:
    """A message as a dispatcher can recognise it: `'Key is under the mat' (Mon 09:14)`."""
    preview = safe_line(message.body).strip()
    if len(preview) > 40:
        preview = preview[:39] + "…"
    what = f"'{preview}'" if preview else f"the message with {len(message.attachments)} file(s)"
    return f"{what} ({format_when(message.created_at, now)})"


@dataclass
class ActionDone(Message):
    """An action's outcome, to show; with `reload`, the feed is read again."""

    text: str
    severity: SeverityLevel = "information"
    timeout: float = 4.0
    reload: bool = False


class MessageActions:
    """The actions on the selected message, run on `owner`'s workers."""

    def __init__(self, owner: DOMNode, services: Services, clock: object) -> None:
        self._owner = owner
        self._services = services
        self._clock = clock
        self._last_removed: tuple[int, str, float] | None = None  # id, description, when: `u` restores it

    def _now(self) -> datetime:
        return self._clock()  # type: ignore[operator,no-any-return]

    def _run(self, work: object, group: str) -> None:
        self._owner.run_worker(work, thread=True, exit_on_error=False, group=group)  # type: ignore[arg-type]

    def ask_remove(self, message: MessageView) -> None:
        def answered(answer: str | None) -> None:
            if answer == "remove":
                self.remove(message)

        preview = safe_line(message.body)[:70] or "(no text)"
        self._owner.app.push_screen(
            Question(
                "Remove this message?",
                f"{preview}\n\nThis removes the message from the feed. An email already delivered cannot be recalled.",
                {"y": ("remove", "remove it")},
            ),
            answered,
        )

    def remove(self, message: MessageView) -> None:
        services, owner, what = self._services, self._owner, describe(message, self._now())
        self._last_removed = (message.id, what, time.monotonic())

        def work() -> None:
            try:
                gone = remove_message(services, message.id)
            except (LookupError, DatabaseBusy) as exc:
                owner.post_message(ActionDone(f"Not removed: {what}: {exc}", "warning", 6))
                return
            words = " and ".join({"email": "email", "sms": "SMS"}.get(channel, channel) for channel in gone)
            sent = f" It had already gone out by {words}; that cannot be recalled." if gone else ""
            owner.post_message(ActionDone(f"Removed {what}.{sent} Press u to undo.", timeout=UNDO_S, reload=True))

        self._run(work, "remove")

    def undo_remove(self) -> None:
        last = self._last_removed
        if last is None or time.monotonic() - last[2] > UNDO_S:
            self._owner.notify("Nothing to undo.", timeout=2)
            return
        self._last_removed = None
        self.restore(last[0], last[1])

    def restore(self, message_id: int, what: str) -> None:
        services, owner = self._services, self._owner

        def work() -> None:
            try:
                restore_message(services, message_id)
            except (LookupError, DatabaseBusy) as exc:
                owner.post_message(ActionDone(f"Not restored: {what}: {exc}", "warning", 6))
                return
            owner.post_message(ActionDone(f"Restored {what}.", timeout=3, reload=True))

        self._run(work, "remove")

    def mark_unread(self, staff_id: int, message: MessageView) -> None:
        services, owner, what = self._services, self._owner, describe(message, self._now())

        def work() -> None:
            mark_unread_from(services, staff_id, message.id)
            owner.post_message(UnreadCounted(unread_counts_for(services, [staff_id])))
            owner.post_message(ActionDone(f"Marked unread from {what}.", timeout=3))

        self._run(work, "reads")

    def retry(self, message: MessageView) -> None:
        failed = [d.id for d in message.deliveries if d.status is DeliveryStatus.FAILED]
        what = describe(message, self._now())
        if not failed:
            self._owner.notify(f"Nothing to retry for {what}: no delivery of it has failed.", timeout=4)
            return
        self._change(failed, "retry", what)

    def cancel(self, message: MessageView) -> None:
        queued = [d.id for d in message.deliveries if d.status is DeliveryStatus.QUEUED]
        what = describe(message, self._now())
        if not queued:
            self._owner.notify(f"Nothing to cancel for {what}: only a delivery still queued can be cancelled.",
                               timeout=4)
            return
        self._change(queued, "cancel", what)

    def _change(self, delivery_ids: list[int], how: str, what: str) -> None:
        services, owner = self._services, self._owner

        def work() -> None:
            change = retry_deliveries if how == "retry" else cancel_deliveries
            result = change(services, delivery_ids)
            done, problems = result.done, result.problems
            words = {"retry": "queued again", "cancel": "cancelled"}[how]
            if done:
                owner.post_message(ActionDone(f"{done} deliver{'y' if done == 1 else 'ies'} of {what} {words}.", timeout=3))
            for problem in problems:
                owner.post_message(ActionDone(f"Not done for {what}: {problem}", "warning", 6))

        self._run(work, "deliveries")
