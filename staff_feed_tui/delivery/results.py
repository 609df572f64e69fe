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
    TRANSIENT = "transient"  # SMTP 4xx, HTTP 429/5xx, connection errors, timeouts: retried with backoff
    PERMANENT = "permanent"  # SMTP 5xx, refused recipient, a number Twilio will not text: failed, reason kept


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


class Transport(Protocol):
    """Sends one channel's deliveries. `open` and `close` bracket a batch, so a connection can be reused.

    `concurrency` is how many sends of a batch may be in flight at once (1 for SMTP's single connection);
    `rate_per_s` caps how many start per second (0: no cap; the worker spaces them); `timeout_s` is the longest one
    send can take, so the worker starts none that could outlive its lease.
    """

    concurrency: int
    rate_per_s: float
    timeout_s: float

    async def open(self) -> None: ...

    async def send(self, item: ClaimedDelivery) -> SendResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_s: float = 5.0
    max_backoff_s: float = 3600.0

    def next_attempt(self, attempt: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
        """When to try again after failed attempt number `attempt` (1-based), or None when attempts are used up.

        Exponential backoff with "equal jitter": half the delay fixed, half random, so retries spread out.
        """
        if attempt >= self.max_attempts:
            return None
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        jitter = (rng or random).uniform(0, delay / 2)
        return now + timedelta(seconds=delay / 2 + jitter)
