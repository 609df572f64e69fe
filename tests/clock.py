"""A clock that moves only when the test moves it: for "not due yet", backoffs, leases and "5 min ago"."""

from __future__ import annotations

from datetime import datetime, timedelta


class FrozenClock:
    """Callable like `utcnow`; pass it wherever the code takes a `clock` (the worker, the app)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
