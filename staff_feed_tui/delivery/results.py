"""What a transport reports for one delivery, and the retry policy that follows from it."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from staff_feed_tui.store.outbox import ClaimedDelivery


class Outcome(enum.Enum):
    SENT = "sent"
    # The message's own temporary refusal (SMTP 4xx at RCPT or DATA, a Twilio code that says "later"): retried
    # with backoff, at most `max_attempts` times.
    TRANSIENT = "transient"
    # The message's own permanent refusal (SMTP 5xx, a number Twilio will not text, an address that cannot be
    # sent): failed, reason kept.
    PERMANENT = "permanent"
    # The channel's trouble, not the message's (cannot connect, TLS, login refused, 421, a timeout, HTTP 5xx or
    # 429, Twilio 401): the channel pauses, and the message waits without using an attempt.
    CHANNEL_DOWN = "channel down"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None
    error: str | None = None
    # The provider says the staff member opted out (Twilio 21610): the worker records it on the staff member.
    opted_out: bool = False

    @classmethod
    def sent(cls, provider_id: str | None) -> SendResult:
        return cls(Outcome.SENT, provider_id=provider_id)

    @classmethod
    def transient(cls, error: str) -> SendResult:
        return cls(Outcome.TRANSIENT, error=error)

    @classmethod
    def permanent(cls, error: str, *, opted_out: bool = False) -> SendResult:
        return cls(Outcome.PERMANENT, error=error, opted_out=opted_out)

    @classmethod
    def channel_down(cls, error: str) -> SendResult:
        return cls(Outcome.CHANNEL_DOWN, error=error)


class Transport(Protocol):
    """Sends one channel's deliveries. `open` and `close` bracket a batch, so a connection can be reused.

    `concurrency` is how many sends of a batch may be in flight at once (1 for SMTP's single connection);
    `rate_per_s` caps how many start per second (0: no cap; the worker spaces them); `timeout_s` is the longest one
    send can take (the transport enforces it), so the worker starts none that could outlive its lease.
    """

    concurrency: int
    rate_per_s: float
    timeout_s: float

    async def open(self) -> None: ...

    async def send(self, item: ClaimedDelivery) -> SendResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a message is tried again, and when it is given up.

    Giving up is by time, as a mail queue does: a delivery still unsent `give_up_after_s` after it was queued
    fails. `max_attempts` bounds only the message's own temporary refusals; a paused channel uses none.
    """

    max_attempts: int = 8
    backoff_s: float = 5.0
    max_backoff_s: float = 3600.0
    give_up_after_s: float = 172_800.0

    def next_attempt(self, attempt: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
        """When to try again after failed attempt number `attempt` (1-based), or None when attempts are used up.

        Exponential backoff with "equal jitter": half the delay fixed, half random, so retries spread out.
        """
        if attempt >= self.max_attempts:
            return None
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        jitter = (rng or random).uniform(0, delay / 2)
        return now + timedelta(seconds=delay / 2 + jitter)


MAX_PAUSE_S = 300.0  # a paused channel tries again at least this often


def pause_for(
    failures: int, first_s: float = 5.0, cap_s: float = MAX_PAUSE_S, rng: random.Random | None = None
) -> float:
    """How long a channel waits after its `failures`-th failure in a row: doubling from `first_s`, capped at
    5 minutes (or `cap_s` if less), with a tenth of jitter so several workers do not knock at once."""
    delay = min(MAX_PAUSE_S, cap_s, first_s * 2 ** min(max(0, failures - 1), 30))
    return delay * (1 - (rng or random).uniform(0, 0.1))
