"""P9: inbound email.

1. Ingest: replies per second handed over LMTP to `staff-feed mail-in` (parsed, matched by token, stored with the
   original, 250 after commit), against a raw aiosmtpd LMTP handler that only saves each message to a file, both in
   their own process, in the same run, one LMTP connection each. Target: >= 50 replies/s.
2. Reply to shown in feed with IDLE: a reply APPENDed to a real Dovecot mailbox until an app's change feed sees
   it, with the watcher waiting in IDLE and the change feed polled as an idle app polls it (every
   CHANGE_POLL_MAX_S). Target: p95 <= 2 s. Skipped without dovecot (apt-get install dovecot-imapd).

Run: python benchmarks/p9_mail_in.py
"""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, free_port, machine, median, percentile, temp_services, wait_port

N = 300
ROUNDS = 5
SAMPLES = 20
SECRET = "bench-secret"
DOMAIN = "replies.bench.example"

RAW_LMTP = """
import asyncio, os, sys
from aiosmtpd.lmtp import LMTP
class Save:
    def __init__(self): self.n = 0
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        with open(os.path.join(sys.argv[2], f"{self.n}.eml"), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    handler = Save()
    server = await loop.create_server(lambda: LMTP(handler, loop=loop), "127.0.0.1", int(sys.argv[1]))
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
asyncio.run(main())
"""


def replies(token: str, count: int, tag: str) -> list[bytes]:
    sys.path.insert(0, str(ROOT))
    from tests import mail_fixtures as fx

    return [fx.gmail_reply(token, text=f"Reply {n}", message_id=f"<{tag}-{n}@bench>") for n in range(count)]


def send_all(port: int, messages: list[bytes]) -> float:
    start = time.perf_counter()
    with smtplib.LMTP("127.0.0.1", port) as client:
        for raw in messages:
            client.sendmail("dana@example.com", ["reply@bench"], raw)
    return len(messages) / (time.perf_counter() - start)


def staff_feed_round(round_no: int) -> float:
    services = temp_services(email={"transport": "file", "reply_domain": DOMAIN}, gateway={"media_secret": SECRET})
    from staff_feed_tui.core.reply_address import reply_address

    token = reply_address(1, SECRET.encode(), DOMAIN)
    port = free_port()
    exe = Path(sys.executable).parent / "staff-feed"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("STAFF_FEED_")},
           "STAFF_FEED_DATA_DIR": str(services.settings.data_dir), "STAFF_FEED_EMAIL__REPLY_DOMAIN": DOMAIN,
           "STAFF_FEED_GATEWAY__MEDIA_SECRET": SECRET, "STAFF_FEED_INBOUND_EMAIL__TRANSPORT": "lmtp",
           "STAFF_FEED_INBOUND_EMAIL__PORT": str(port)}
    proc = subprocess.Popen([str(exe), "mail-in"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 30)
        rate = send_all(port, replies(token, N, f"s{round_no}"))
    finally:
        proc.terminate()
        proc.wait(10)
    from staff_feed_tui.store.feed import iter_feed

    assert sum(1 for _ in iter_feed(services.engine, 1)) == N
    services.close()
    return rate


def raw_round(round_no: int) -> float:
    folder = tempfile.mkdtemp(prefix="p9-raw-")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", RAW_LMTP, str(port), folder], stdin=subprocess.PIPE)
    try:
        wait_port(port, 30)
        rate = send_all(port, replies("reply@bench", N, f"r{round_no}"))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
    assert len(os.listdir(folder)) == N
    shutil.rmtree(folder)
    return rate


def idle_latency() -> list[float] | None:
    if not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()) or os.geteuid() != 0:
        return None
    sys.path.insert(0, str(ROOT))
    from staff_feed_tui.core.reply_address import reply_address
    from staff_feed_tui.mail_in.imap import ImapWatcher
    from staff_feed_tui.store.changes import SqliteChangeFeed
    from staff_feed_tui.tui.app import CHANGE_POLL_MAX_S
    from tests import mail_fixtures as fx
    from tests.dovecot import PASSWORD, USER, Dovecot

    server = Dovecot(shutil.which("dovecot") or "/usr/sbin/dovecot")
    server.start()
    server.make_folder("INBOX")
    services = temp_services(
        email={"transport": "file", "reply_domain": DOMAIN}, gateway={"media_secret": SECRET},
        inbound_email={"transport": "imap", "host": "127.0.0.1", "port": server.port, "security": "none",
                       "username": USER, "password": PASSWORD},
    )
    watcher = ImapWatcher(services, services.settings.inbound_email)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    changes = SqliteChangeFeed(services.db_path)
    token = reply_address(1, SECRET.encode(), DOMAIN)
    latencies = []
    try:
        for n in range(SAMPLES):
            deadline = time.monotonic() + 30
            while not watcher.idling.is_set():
                if time.monotonic() > deadline:
                    raise TimeoutError("the watcher never reached IDLE")
                time.sleep(0.01)
            start = time.perf_counter()
            server.deliver(fx.gmail_reply(token, message_id=f"<idle-{n}@bench>"), "INBOX")
            seen = False
            while not seen:
                time.sleep(CHANGE_POLL_MAX_S)  # an idle app looks this often
                seen = any(c.message_ids for c in changes.poll())
            latencies.append(time.perf_counter() - start)
    finally:
        watcher.stop.set()
        thread.join(15)
        changes.close()
        services.close()
        server.cleanup()
    return latencies


def main() -> None:
    print(f"P9 inbound email · {machine()}")
    raw, ours = [], []
    for n in range(ROUNDS):  # which side goes first alternates
        if n % 2:
            ours.append(staff_feed_round(n))
            raw.append(raw_round(n))
        else:
            raw.append(raw_round(n))
            ours.append(staff_feed_round(n))
    ratios = [o / r for o, r in zip(ours, raw, strict=True)]
    print(f"  ingest over LMTP, {N} replies a round, {ROUNDS} rounds")
    print(f"  raw aiosmtpd (save only): median {median(raw):6.0f} replies/s (rounds: {', '.join(f'{x:.0f}' for x in raw)})")
    print(f"  staff-feed mail-in:       median {median(ours):6.0f} replies/s (rounds: {', '.join(f'{x:.0f}' for x in ours)})")
    print(f"  ratio mail-in/raw: median {median(ratios):.2f}x; target >= 50 replies/s: "
          f"{'MET' if median(ours) >= 50 else 'NOT MET'}")
    latencies = idle_latency()
    if latencies is None:
        print("  IDLE latency: skipped (no dovecot, or not root)")
        return
    print(f"  reply to seen by an idle app's change feed, IDLE, {SAMPLES} replies: median {median(latencies):.2f} s,"
          f" p95 {percentile(latencies, 95):.2f} s, max {max(latencies):.2f} s; target p95 <= 2 s: "
          f"{'MET' if percentile(latencies, 95) <= 2 else 'NOT MET'}")


if __name__ == "__main__":
    main()
