"""Opening a feed paints its first page in the same frame as its header, when the page is quick to read.

A Textual worker would start only when the event loop next runs, after a frame of the old feed under the new
header. So the page is read in a thread started at once; the UI thread then waits a moment for it (the wait also
lets the reading thread have the interpreter to itself). A page read in time is shown straight away; a slower one
is handed to `late` (which posts it as a message, like any other load).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Page = TypeVar("Page")


class FirstPage(Generic[Page]):
    """One read of a first page, raced against a short wait. Plain Python: no Textual."""

    def __init__(self, read: Callable[[], Page], late: Callable[[Page | Exception], None]) -> None:
        self._read = read
        self._late = late
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._result: Page | Exception | None = None
        self._waiting = True

    def start(self) -> FirstPage[Page]:
        threading.Thread(target=self._run, name="feed-first-page", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            result: Page | Exception = self._read()
        except Exception as exc:  # noqa: BLE001 - handed over like a page: the caller says it to the dispatcher
            result = exc
        with self._lock:
            if self._waiting:
                self._result = result
                self._ready.set()
                return
        self._late(result)

    def take(self, wait_s: float) -> Page | Exception | None:
        """The page (or the error) if it is read within `wait_s`, else None: it then goes to `late` when read.
        Called once, on the UI thread."""
        self._ready.wait(wait_s)
        with self._lock:
            self._waiting = False
            return self._result
