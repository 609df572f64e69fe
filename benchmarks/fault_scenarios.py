"""Fault scenarios for the outbox, run against real worker processes (`staff-feed worker`), aiosmtpd on loopback and
the loopback Twilio API. Outside the test suite: the outage scenarios run in real time with the default settings.

    python benchmarks/fault_scenarios.py            # all four, about 20 minutes
    python benchmarks/fault_scenarios.py kill poison   # a choice of: kill, smtp-down, twilio-silent, poison

- kill:          kill -9 of a worker mid-batch of 1,000 emails, then a new worker: every email delivered; a duplicate
                 only for what was on the wire at the kill.
- smtp-down:     the mail server down for 10 minutes with the default settings: 0 failed, all delivered after.
- twilio-silent: Twilio accepts connections and answers nothing for 2 minutes, with two workers: 0 texts sent twice.
- poison:        one recipient that cannot be sent (`josé@example.com`, a server without SMTPUTF8) among 1,000
                 messages: 999 delivered, 1 failed with the reason.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import ROOT, machine

from tests.fake_twilio import FakeTwilio
from tests.smtp_server import SmtpServer, free_port

DOWN_S = 600.0  # the mail server's outage
SILENT_S = 120.0  # Twilio's silence


def fresh_data_dir(roster: str) -> Path:
    from staff_feed_tui.config import load_settings
    from staff_feed_tui.core.roster import parse_roster
    from staff_feed_tui.services import open_services
    from staff_feed_tui.store.staff import import_staff

    data_dir = Path(tempfile.mkdtemp(prefix="staff-feed-faults-"))
    services = open_services(load_settings(data_dir=data_dir), dispatcher="bench")
    rows, errors = parse_roster("name,email,phone,accepts_texts,default_method\n" + roster)
    assert not errors, errors
    import_staff(services.engine, [r for _, r in rows])
    services.close()
    return data_dir


def queue(data_dir: Path, email: str, count: int, method: str = "email") -> None:
    from staff_feed_tui.config import load_settings
    from staff_feed_tui.core.types import DeliveryMethod
    from staff_feed_tui.services import open_services
    from staff_feed_tui.store.feed import queue_message
    from staff_feed_tui.store.staff import find_staff

    services = open_services(load_settings(data_dir=data_dir), dispatcher="bench")
    staff = find_staff(services.engine, email)
    for n in range(count):
        queue_message(services.engine, services.attachments, staff_id=staff.id, author="bench",
                      body=f"visit {n} at {n % 12 + 8}:00", method=DeliveryMethod(method))
    services.close()


def counts(data_dir: Path, channel: str = "email") -> Counter[str]:
    with sqlite3.connect(data_dir / "staff_feed.db") as conn:
        return Counter(dict(conn.execute(
            "SELECT status, count(*) FROM delivery WHERE channel = ? GROUP BY status", (channel,)).fetchall()))


def email_env(data_dir: Path, port: int) -> dict[str, str]:
    """Only what points the worker at the data and the server: every delivery setting is the default."""
    return {**os.environ, "STAFF_FEED_DATA_DIR": str(data_dir), "STAFF_FEED_EMAIL__TRANSPORT": "smtp",
            "STAFF_FEED_EMAIL__HOST": "127.0.0.1", "STAFF_FEED_EMAIL__PORT": str(port),
            "STAFF_FEED_EMAIL__SECURITY": "none", "PYTHONPATH": str(ROOT)}


def start_worker(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "staff_feed_tui", "worker", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(*workers: subprocess.Popen[bytes]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(15)


def wait(predicate, what: str, timeout: float) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"FAILED: timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def scenario_kill() -> None:
    total = 1000
    data_dir = fresh_data_dir("Dana Reyes,dana@example.com,,no,email\n")
    queue(data_dir, "dana@example.com", total)
    server = SmtpServer().start()
    env = email_env(data_dir, server.port)
    worker = start_worker(env)
    try:
        server.handler.wait_for(300, timeout=120)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        at_kill = len(server.handler.messages)
        in_flight = counts(data_dir)["sending"]
        worker = start_worker(env)
        took = wait(lambda: counts(data_dir)["sent"] == total, "every email recorded as sent", 300)
    finally:
        stop(worker)
        server.stop()
    ids = Counter(server.handler.message_ids)
    duplicates = sum(n - 1 for n in ids.values())
    print(f"kill -9 mid-batch: {at_kill} received at the kill, {in_flight} leased then; after a restart "
          f"{len(ids)}/{total} delivered in {took:.1f} s, {duplicates} received twice (at most the {in_flight} "
          f"leased), final statuses {dict(counts(data_dir))}")


def scenario_smtp_down() -> None:
    total = 100
    data_dir = fresh_data_dir("Dana Reyes,dana@example.com,,no,email\n")
    queue(data_dir, "dana@example.com", total)
    port = free_port()
    worker = start_worker(email_env(data_dir, port))
    server = SmtpServer(port=port)
    try:
        began = time.monotonic()
        print(f"smtp-down: the mail server is down for {DOWN_S:.0f} s (real time); the worker has the defaults "
              "(backoff_s 5, max_attempts 8, give_up_after_s 172800)", flush=True)
        while time.monotonic() - began < DOWN_S:
            time.sleep(min(60.0, DOWN_S - (time.monotonic() - began)))
            with sqlite3.connect(data_dir / "staff_feed.db") as conn:
                state = conn.execute("SELECT failures, reason FROM channel_state WHERE channel = 'email'").fetchone()
            print(f"  {time.monotonic() - began:5.0f} s: {dict(counts(data_dir))}, channel tries so far "
                  f"{state[0] if state else 0}", flush=True)
        during = counts(data_dir)
        server.start()
        took = wait(lambda: counts(data_dir)["sent"] == total, "every email sent after the outage", 400)
    finally:
        stop(worker)
        server.stop()
    after = counts(data_dir)
    print(f"smtp-down: at the end of the outage {dict(during)}; {after['sent']}/{total} delivered "
          f"{took:.0f} s after the server came back (a paused channel is tried at most 5 minutes apart), "
          f"{after['failed']} failed")
    # The same outage under the wave-1 rules: every connection error used one of 8 attempts, retried after
    # 5 s x 2^(n-1) with equal jitter (half fixed): the 8th attempt came 5 x (1+2+...+64) x [0.5, 1] = 318-635 s
    # after the first, so with the defaults every queued email had failed before a 10-minute outage ended.
    print("smtp-down: under the old rules (each connection error one of 8 attempts, backoff 5 s doubling), the "
          "8th attempt fell 318-635 s after the first: all 100 would have failed before the 600 s outage ended")


class SilentTwilio(FakeTwilio):
    """Twilio that takes connections and answers nothing while silent. A request whose client gave up while it
    waited is never carried out (no text is created for it); one still waiting when the silence ends is."""

    silent_until: float = 0.0
    dropped: int = 0

    async def _messages(self, request):  # type: ignore[no-untyped-def]
        while time.monotonic() < self.silent_until:
            await asyncio.sleep(0.2)
            if request.transport is None or request.transport.is_closing():
                self.dropped += 1
                from aiohttp import web

                return web.Response(status=503)
        return await super()._messages(request)


def scenario_twilio_silent() -> None:
    total = 30
    data_dir = fresh_data_dir("Dana Reyes,dana@example.com,+1 415 555 0101,yes,both\n")
    twilio = SilentTwilio()
    twilio.silent_until = time.monotonic() + SILENT_S
    twilio.start()
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT),
           "STAFF_FEED_EMAIL__TRANSPORT": "file", "STAFF_FEED_COMPANY__TEXT_MESSAGING": "true",
           "STAFF_FEED_SMS__ACCOUNT_SID": twilio.account_sid, "STAFF_FEED_SMS__AUTH_TOKEN": twilio.auth_token,
           "STAFF_FEED_SMS__FROM_NUMBER": "+14155550100", "STAFF_FEED_SMS__API_BASE_URL": twilio.base_url}
    queue(data_dir, "dana@example.com", total, "sms")
    workers = [start_worker(env), start_worker(env)]
    try:
        took = wait(lambda: counts(data_dir, "sms")["sent"] == total, "every text sent", SILENT_S + 420)
    finally:
        stop(*workers)
        twilio.stop()
    bodies = Counter(call.one("Body") for call in twilio.calls)
    twice = sum(1 for n in bodies.values() if n > 1)
    print(f"twilio-silent: silent {SILENT_S:.0f} s, two workers, sms.timeout_s 30 (default): {len(bodies)}/{total} "
          f"texts created, {twice} sent twice, {twilio.dropped} requests cut off by the deadline while silent, "
          f"all sent {took:.0f} s after the start; statuses {dict(counts(data_dir, 'sms'))}")


def scenario_poison() -> None:
    total = 1000
    data_dir = fresh_data_dir("Dana Reyes,dana@example.com,,no,email\n")
    queue(data_dir, "dana@example.com", total // 2)
    with sqlite3.connect(data_dir / "staff_feed.db") as conn:
        conn.execute("INSERT INTO staff (name, email, accepts_texts, sms_opted_out, default_method, active, "
                     "created_at) VALUES ('José Ortega', 'josé@example.com', 0, 0, 'email', 1, "
                     "'2026-11-30 00:00:00.000000')")
    queue(data_dir, "josé@example.com", 1)
    queue(data_dir, "dana@example.com", total // 2 - 1)
    server = SmtpServer(smtputf8=False).start()
    try:
        began = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "staff_feed_tui", "worker", "--once"],
                             env=email_env(data_dir, server.port), capture_output=True, text=True, timeout=300)
        took = time.monotonic() - began
    finally:
        server.stop()
    with sqlite3.connect(data_dir / "staff_feed.db") as conn:
        reasons = [r for (r,) in conn.execute("SELECT last_error FROM delivery WHERE status = 'failed'")]
    final = counts(data_dir)
    print(f"poison: one unsendable recipient among {total} messages, one `worker --once` ({took:.1f} s): "
          f"{final['sent']} delivered, {final['failed']} failed: {reasons}; it said: {run.stdout.strip()!r}")


SCENARIOS = {"kill": scenario_kill, "smtp-down": scenario_smtp_down, "twilio-silent": scenario_twilio_silent,
             "poison": scenario_poison}


def main() -> None:
    chosen = sys.argv[1:] or list(SCENARIOS)
    print(f"Fault scenarios · {machine()}", flush=True)
    for name in chosen:
        SCENARIOS[name]()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
