"""Waiting in tests: poll a condition with a deadline, and fail with a sentence naming what never happened.

A test never sleeps a fixed time and never loops without a deadline: on a loaded machine a fixed sleep is too
short, and a loop without one hangs until pytest-timeout kills the whole test with no word of what was awaited.
The deadlines are generous on purpose (a busy 2-core machine is slow, not broken); a passing test waits only as
long as the condition takes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.pilot import Pilot

# Long enough for a loaded 2-core machine, short enough that pytest-timeout (set in pyproject) never fires first.
DEADLINE_S = 15.0


async def wait_for(pilot: Pilot, predicate: Callable[[], object], what: str, timeout: float = DEADLINE_S) -> None:
    """Let the app run until `predicate()` holds; `what` names the awaited thing for the failure message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(0.02)


async def click(pilot: Pilot, selector: str) -> None:
    """Click a widget once it is laid out where the click will land. A widget just shown (a drawer opened by the
    key before) may not have its place yet, and Pilot.click aims at the place the widget has when it is called."""
    from textual.errors import NoWidget

    widget = pilot.app.screen.query_one(selector)

    def in_place() -> bool:
        region = widget.region
        try:
            return bool(region.area) and pilot.app.get_widget_at(*region.offset)[0] is widget
        except NoWidget:
            return False

    await wait_for(pilot, in_place, f"{selector} to be laid out on screen")
    assert await pilot.click(selector), f"the click missed {selector}"


async def wait_async(predicate: Callable[[], object], what: str, timeout: float = DEADLINE_S) -> None:
    """`wait_for` without an app: polls from a coroutine, letting the event loop run between tries."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


def wait_until(predicate: Callable[[], object], what: str, timeout: float = DEADLINE_S, every: float = 0.02) -> None:
    """Poll from plain (thread) code: a subprocess, a server in another thread, a file, a tmux screen."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
