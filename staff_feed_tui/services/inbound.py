"""Inbound texts: storing one (matched to a staff member by number, or kept for triage), the SMS opt-out policy,
delivery receipts, the triage of texts from unknown numbers, and the stored files that the gateway serves.

The gateway runs with no dispatcher and holds the context's parts, so its calls take the engine (and the attachment
store); the triage, done by a dispatcher, takes the whole context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from staff_feed_tui.services.context import Services
from staff_feed_tui.store import inbound
from staff_feed_tui.store.attachments import AttachmentStore
from staff_feed_tui.store.feed import stored_attachment
from staff_feed_tui.store.inbound import Outcome, Received, StoredMedia, TriageError, TriageView

__all__ = [
    "OPT_IN",
    "OPT_OUT",
    "MediaFile",
    "Outcome",
    "Received",
    "StoredMedia",
    "TriageError",
    "TriageView",
    "apply_status",
    "assign_triage",
    "dismiss_triage",
    "is_known_sid",
    "list_triage",
    "media_file",
    "opt_keyword",
    "receive_sms",
]

# ---- the opt-out policy --------------------------------------------------------------------------------------

# The keywords carriers and Twilio act on. A keyword counts only alone in a text ("please stop texting at night"
# is an ordinary message); either way the text is kept in the feed.
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})


def opt_keyword(body: str) -> bool | None:
    """True for an opt-out, False for an opt-in, None for an ordinary text."""
    word = body.strip().strip(".!").strip().upper()
    if word in OPT_OUT:
        return True
    if word in OPT_IN:
        return False
    return None


# ---- what the gateway stores ---------------------------------------------------------------------------------


def is_known_sid(engine: Engine, sid: str) -> bool:
    """Whether a text with this MessageSid is stored already (a webhook retried by Twilio)."""
    return inbound.is_known_sid(engine, sid)


def receive_sms(
    engine: Engine,
    *,
    sid: str,
    from_number: str,
    body: str,
    media: Sequence[StoredMedia] = (),
    note: str | None = None,
) -> Received:
    """Store a text in the feed of the staff member who has `from_number` (E.164), or in triage when nobody has
    it; a lone opt-out or opt-in keyword also sets that staff member's SMS state, in the same transaction."""
    return inbound.receive_sms(engine, sid=sid, from_number=from_number, body=body, media=media, note=note,
                               sms_opt_out=opt_keyword(body))


def apply_status(engine: Engine, *, sid: str, status: str, error: str | None = None) -> bool:
    """A delivery receipt: move the delivery with provider id `sid` forward. True when it changed."""
    return inbound.apply_status(engine, sid=sid, status=status, error=error)


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A stored file the gateway may serve (outbound MMS media that Twilio fetches)."""

    path: Path
    mime_type: str


def media_file(engine: Engine, attachments: AttachmentStore, attachment_id: int) -> MediaFile | None:
    """The stored file of an attachment, or None when there is no such attachment or its file is gone."""
    stored = stored_attachment(engine, attachment_id)
    if stored is None:
        return None
    path = attachments.path_of(stored[0])
    return MediaFile(path, stored[1]) if path.is_file() else None


# ---- triage: texts from numbers no staff member has ----------------------------------------------------------


def list_triage(services: Services) -> list[TriageView]:
    """The texts from unknown numbers still waiting for a dispatcher, oldest first."""
    return inbound.list_triage(services.engine)


def assign_triage(services: Services, triage_id: int, staff_id: int) -> int:
    """Move a triaged text into a staff member's feed; returns its message id. Raises TriageError when another
    dispatcher handled it first."""
    return inbound.assign_triage(services.engine, triage_id, staff_id, services.dispatcher)


def dismiss_triage(services: Services, triage_id: int) -> None:
    """Raises TriageError when another dispatcher handled it first."""
    inbound.dismiss_triage(services.engine, triage_id, services.dispatcher)
