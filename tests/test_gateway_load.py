"""Load: 100 signed inbound texts a second for 10 s into a real `staff-feed gateway` process, while a second
process writes outbound messages to the same database. No "database is locked", every text stored once."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import aiohttp

from staff_feed_tui.services import Services
from tests.smtp_server import free_port
from tests.twilio_signing import twilio_signature

PUBLIC = "https://feed.example.com"
TOKEN = "load-test-token"
RATE = 100
SECONDS = 10


def _wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the gateway exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the gateway did not become healthy")


WRITER = textwrap.dedent(
    """
    import sys, time
    from staff_feed_tui.config import load_settings
    from staff_feed_tui.services import open_services
    from staff_feed_tui.store.db import DatabaseBusy
    from staff_feed_tui.store.feed import queue_message
    services = open_services(load_settings(data_dir=sys.argv[1]), dispatcher="writer")
    written = errors = 0
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        try:
            queue_message(services.engine, services.attachments, staff_id=2, author="writer", body=f"out {written}")
            written += 1
        except DatabaseBusy:
            errors += 1
        except Exception as exc:
            errors += 1
            print("ERROR", exc, file=sys.stderr)
        time.sleep(0.005)
    print(written, errors)
    """
)


def test_inbound_load_with_a_concurrent_writer(services: Services) -> None:
    port = free_port()
    data_dir = services.settings.data_dir
    env = {
        **os.environ,
        "STAFF_FEED_DATA_DIR": str(data_dir),
        "STAFF_FEED_SMS__ACCOUNT_SID": "AC" + "2" * 32,
        "STAFF_FEED_SMS__AUTH_TOKEN": TOKEN,
        "STAFF_FEED_GATEWAY__PUBLIC_URL": PUBLIC,
        "STAFF_FEED_GATEWAY__PORT": str(port),
    }
    log_path = data_dir / "gateway.log"
    with log_path.open("wb") as log:
        gateway = subprocess.Popen([sys.executable, "-m", "staff_feed_tui", "gateway"], env=env, stdout=log, stderr=log)
    try:
        _wait_healthy(port, gateway)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), str(SECONDS)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        statuses = asyncio.run(_load(port))
        out, err = writer.communicate(timeout=60)
    finally:
        gateway.terminate()
        gateway.wait(10)
    written, writer_errors = map(int, out.split())
    total = RATE * SECONDS
    with sqlite3.connect(data_dir / "staff_feed.db") as conn:
        inbound = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM message WHERE direction='in'").fetchone()
        outbound = conn.execute("SELECT count(*) FROM message WHERE direction='out'").fetchone()[0]
    gateway_log = log_path.read_text()
    print(f"\n{total} inbound posted ({sum(1 for s in statuses if s == 200)} answered 200, replays included), "
          f"{inbound[0]} stored; {written} outbound written by the other process, {writer_errors} errors; "
          f"'database is locked' in the gateway log: {gateway_log.count('locked')}")
    assert statuses.count(200) == len(statuses), (sorted(set(statuses)), gateway_log[-3000:])
    assert inbound == (total, total)
    assert outbound == written and writer_errors == 0, err
    assert "locked" not in gateway_log and "Traceback" not in gateway_log


async def _load(port: int) -> list[int]:
    """RATE requests a second, paced; every tenth one is a replay of an earlier MessageSid."""
    statuses: list[int] = []
    async with aiohttp.ClientSession() as session:

        async def post(n: int) -> None:
            sid = f"SM{n:032d}"
            params = {"MessageSid": sid, "From": "+14155550101", "To": "+14155550100", "Body": f"in {n}",
                      "NumMedia": "0"}
            signature = twilio_signature(TOKEN, PUBLIC + "/twilio/sms", params)
            async with session.post(f"http://127.0.0.1:{port}/twilio/sms", data=params,
                                    headers={"X-Twilio-Signature": signature}) as response:
                statuses.append(response.status)

        tasks = []
        start = time.monotonic()
        for n in range(RATE * SECONDS):
            await asyncio.sleep(max(0.0, start + n / RATE - time.monotonic()))
            tasks.append(asyncio.create_task(post(n)))
            if n % 10 == 9:
                tasks.append(asyncio.create_task(post(n - 5)))
        await asyncio.gather(*tasks)
    return statuses
