"""Shared set-up for the benchmarks: machine facts, medians, and servers that run in a process of their own."""

from __future__ import annotations

import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine() -> str:
    import aiosmtplib
    import sqlalchemy
    import textual
    import twilio

    return (
        f"{platform.platform()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"SQLite {sqlite3.sqlite_version} · SQLAlchemy {sqlalchemy.__version__} · Textual {textual.__version__} · "
        f"aiosmtplib {aiosmtplib.__version__} · twilio {twilio.__version__}"
    )


class FrameClock:
    """When the app puts out a frame (`App._display`, what a terminal would be sent), for timing "to first paint".

    `pilot.pause()` waits until the whole process looks idle, which takes about 30 ms here even with nothing to do;
    timing to it would measure the test harness. Every figure that uses this clock (ours and the baselines) is
    timed the same way.
    """

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.frames: list[float] = []
        original = app._display

        def display(screen, renderable):  # type: ignore[no-untyped-def]
            if renderable is not None and not app._batch_count:
                self.frames.append(time.perf_counter())
            return original(screen, renderable)

        app._display = display

    async def frame_after(self, moment: float, timeout: float = 120.0) -> float:
        """The time of the first frame put out after `moment` (waiting for it)."""
        import asyncio

        deadline = time.perf_counter() + timeout
        while True:
            later = [f for f in self.frames[-5:] if f > moment]
            if later:
                return later[0]
            if time.perf_counter() > deadline:
                raise TimeoutError("no frame")
            await asyncio.sleep(0.0005)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


SMTP_SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
sys.stdin.read()
c.stop()
"""


class ServerProcess:
    """A loopback server in its own process, so it never competes with the measured code for the GIL."""

    def __init__(self, code: str, *args: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(self.port), *args], stdin=subprocess.PIPE, cwd=ROOT
        )
        wait_port(self.port)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def temp_services(**settings_overrides: object):  # type: ignore[no-untyped-def]
    from staff_feed_tui.config import load_settings
    from staff_feed_tui.core.roster import parse_roster
    from staff_feed_tui.services import open_services
    from staff_feed_tui.store.staff import import_staff

    data_dir = Path(tempfile.mkdtemp(prefix="staff-feed-bench-"))
    settings = load_settings(data_dir=data_dir, **settings_overrides)
    services = open_services(settings, dispatcher="bench")
    rows, _ = parse_roster(
        "name,email,phone,accepts_texts,default_method\nDana Reyes,dana@example.com,+1 415 555 0101,yes,both\n"
    )
    import_staff(services.engine, [r for _, r in rows])
    return services


def report(unit: str, raw: Sequence[float], ours: Sequence[float], *, target: float) -> None:
    """Medians of both, and the median of the per-round ratios (each round runs both back to back, so a noisy
    moment on this shared machine hits both sides of a ratio alike)."""
    ratios = [o / r for o, r in zip(ours, raw, strict=True)]
    print(f"  raw baseline: median {median(raw):7.0f} {unit}/s  (rounds: {', '.join(f'{x:.0f}' for x in raw)})")
    print(f"  staff-feed:   median {median(ours):7.0f} {unit}/s  (rounds: {', '.join(f'{x:.0f}' for x in ours)})")
    verdict = "MET" if median(ratios) >= target else "NOT MET"
    print(f"  ratio staff-feed/raw: median {median(ratios):.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)});"
          f" target >= {target:.2f}x: {verdict}")


TWILIO_SERVER = """
import sys, uuid
from aiohttp import web
async def create(request):
    form = await request.post()
    sid = "SM" + uuid.uuid4().hex
    return web.json_response({"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                              "body": form.get("Body"), "num_media": "0", "num_segments": "1",
                              "account_sid": request.match_info["sid"], "api_version": "2010-04-01",
                              "direction": "outbound-api", "error_code": None, "error_message": None,
                              "uri": "/2010-04-01/Accounts/x/Messages/" + sid + ".json"}, status=201)
app = web.Application()
app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
