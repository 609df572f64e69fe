"""The drafts of one dispatcher, one per staff member: kept here and in the database, so they survive a restart.

Owned by the compose area. Its workers run on the owner's node and take every input as an argument.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.dom import DOMNode

from staff_feed_tui.core.draft import AttachmentFile, DraftError, check_attachment
from staff_feed_tui.core.types import DeliveryMethod
from staff_feed_tui.services.outgoing import DraftView, load_drafts, save_draft
from staff_feed_tui.tui.messages import DraftsLoaded, DraftState

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

# What a dispatcher reads when a worker of this helper fails (see MainScreen._worker_failed).
ERRORS = {"drafts": "save the draft", "drafts-load": "load the saved drafts"}


def restore_drafts(saved: dict[int, DraftView]) -> dict[int, DraftState]:
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


def _write(services: Services, staff_id: int, draft: DraftState) -> None:
    save_draft(services, staff_id, draft.body, [str(f.path) for f in draft.files],
               draft.method.value if draft.method else None)


class DraftBook:
    """The open drafts by staff id; each change is written in a thread worker of `owner`."""

    def __init__(self, owner: DOMNode, services: Services) -> None:
        self._owner = owner
        self._services = services
        self._drafts: dict[int, DraftState] = {}

    def load(self) -> None:
        """Read the saved drafts in a thread; they arrive at the owner as DraftsLoaded."""
        services, owner = self._services, self._owner

        def read() -> None:
            owner.post_message(DraftsLoaded(restore_drafts(load_drafts(services))))

        owner.run_worker(read, thread=True, exit_on_error=False, group="drafts-load")

    def loaded(self, drafts: dict[int, DraftState]) -> None:
        """Drafts read at start-up; one changed here meanwhile wins."""
        self._drafts = {**drafts, **self._drafts}

    def get(self, staff_id: int) -> DraftState:
        return self._drafts.get(staff_id) or DraftState()

    def has(self, staff_id: int) -> bool:
        return staff_id in self._drafts

    def keep(self, staff_id: int, draft: DraftState) -> None:
        """Remember `draft` for `staff_id`, here and (in a thread) in the database."""
        if draft.empty:
            self._drafts.pop(staff_id, None)
        else:
            self._drafts[staff_id] = draft
        services = self._services
        self._owner.run_worker(lambda: _write(services, staff_id, draft), thread=True, exit_on_error=False,
                               group="drafts")

    def forget(self, staff_id: int) -> None:
        """The draft was sent."""
        self.keep(staff_id, DraftState())

    def save_now(self, staff_id: int, draft: DraftState) -> None:
        """On the way out: written before the app exits, on the calling thread."""
        _write(self._services, staff_id, draft)
