"""SMS opt-out and opt-in keywords, as carriers and Twilio define them. A keyword counts only alone in a text."""

from __future__ import annotations

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
