"""The outbox under crashes, outages and competition: no message is lost, and none is sent twice needlessly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import pytest

from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.delivery.results import RetryPolicy
from staff_feed_tui.services import Services
from staff_feed_tui.store.delivery_state import channel_health
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.staff import find_staff
from tests.rows import database_env, rows
from tests.smtp_server import SmtpServer
from tests.waiting import wait_until

pytestmark = pytest.mark.both_engines


def _queue(services: Services, count: int) -> None:
    sam = find_staff(services.engine, "sam@example.com")
    for n in range(count):
        queue_message(services.engine, services.attachments, staff_id=sam.id, author="alex", body=f"message {n}")


def _status_counts(services: Services) -> Counter[str]:
    return Counter(dict(rows(services.engine, "SELECT status, count(*) FROM delivery GROUP BY status")))


def _worker_env(services: Services, server: SmtpServer, lease_s: float = 2.0) -> dict[str, str]:
    return {
        **os.environ,
        **database_env(services),
        "STAFF_FEED_DATA_DIR": str(services.settings.data_dir),
        "STAFF_FEED_EMAIL__TRANSPORT": "smtp",
        "STAFF_FEED_EMAIL__HOST": "127.0.0.1",
        "STAFF_FEED_EMAIL__PORT": str(server.port),
        "STAFF_FEED_EMAIL__SECURITY": "none",
        "STAFF_FEED_DELIVERY__LEASE_S": str(lease_s),
        "STAFF_FEED_DELIVERY__BATCH_SIZE": "50",
        "STAFF_FEED_DELIVERY__BACKOFF_S": "0.05",
    }


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "staff_feed_tui", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait(predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    wait_until(predicate, what, timeout)


def test_sigkill_mid_batch_then_restart_delivers_everything(services: Services) -> None:
    total = 1000
    _queue(services, total)
    server = SmtpServer().start()
    env = _worker_env(services, server)
    worker = _start_worker(env)
    try:
        server.handler.wait_for(300, timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        in_flight = _status_counts(services)["sending"]
        received_at_kill = len(server.handler.messages)
        worker = _start_worker(env)
        _wait(lambda: len(set(server.handler.message_ids)) == total, "every message to arrive")
        _wait(lambda: _status_counts(services)["sent"] == total, "every delivery recorded as sent")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
        server.stop()
    received = len(server.handler.messages)
    duplicates = received - total
    print(f"\nkilled after {received_at_kill} received; in flight {in_flight}; duplicates {duplicates}")
    assert _status_counts(services) == Counter({"sent": total})
    assert 0 <= duplicates <= in_flight


def test_smtp_outage_during_sends_loses_nothing(services: Services) -> None:
    total = 120
    _queue(services, total)
    server = SmtpServer().start()
    port = server.port
    settings = services.settings.model_copy(
        update={
            "email": services.settings.email.model_copy(
                update={"transport": "smtp", "host": "127.0.0.1", "port": port, "security": "none", "timeout_s": 5}
            )
        }
    )
    worker = make_worker(settings, services.engine)
    worker.policy = RetryPolicy(max_attempts=30, backoff_s=0.05, max_backoff_s=0.5)
    worker.batch_size = 10
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(worker.run(stop)), daemon=True)
    thread.start()
    try:
        server.handler.wait_for(30)
        server.stop()
        _wait(lambda: any(h.paused for h in channel_health(services.engine)), "the worker to meet the outage")
        first = server.handler.messages
        server = SmtpServer(port=port).start()
        _wait(lambda: _status_counts(services)["sent"] == total, "every delivery to be sent after the outage")
    finally:
        stop.set()
        thread.join(10)
        server.stop()
    counts = _status_counts(services)
    assert counts == Counter({"sent": total}), counts
    received = len(first) + len(server.handler.messages)
    assert received >= total
    ids = {m["Message-ID"] for m in [*first, *server.handler.messages]}
    assert len(ids) == total


def test_two_workers_never_send_the_same_delivery(services: Services) -> None:
    total = 400
    _queue(services, total)
    server = SmtpServer().start()
    env = _worker_env(services, server, lease_s=60)
    workers = [_start_worker(env), _start_worker(env)]
    try:
        server.handler.wait_for(total, timeout=60)
        _wait(lambda: _status_counts(services)["sent"] == total, "every delivery recorded")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(10)
        server.stop()
    ids = Counter(server.handler.message_ids)
    assert len(ids) == total
    assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1][:5]
    attempts = {row[0] for row in rows(services.engine, "SELECT attempts FROM delivery")}
    assert attempts == {1}


def test_worker_once_drains_and_exits(services: Services) -> None:
    _queue(services, 5)
    server = SmtpServer().start()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "staff_feed_tui", "worker", "--once"],
            env=_worker_env(services, server), capture_output=True, text=True, timeout=60,
        )
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    assert "handled 5 deliveries (5 sent, 0 to retry, 0 failed)" in out.stdout
    assert len(server.handler.messages) == 5


@pytest.mark.sqlite_only
def test_database_held_by_another_process_during_sends_loses_no_result(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the write lock while a batch is on the wire: the results that could not be written
    are kept and written once it lets go. None is left `sending` (which would send it again after the lease)."""
    import textwrap

    from staff_feed_tui.store.db import make_engine

    total = 80
    _queue(services, total)
    db = services.settings.data_dir / "staff_feed.db"
    server = SmtpServer().start()
    server.handler.delay_s = 0.02  # about two seconds of sending: the lock below comes and goes within it
    settings = services.settings.model_copy(
        update={
            "email": services.settings.email.model_copy(
                update={"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "none"}
            )
        }
    )
    worker = make_worker(settings, make_engine(f"sqlite:///{db}", busy_timeout_ms=200))
    holder: list[subprocess.Popen[str]] = []

    def hold_the_lock() -> None:
        server.handler.wait_for(5, timeout=30)
        holder.append(subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""
                import sqlite3, time
                c = sqlite3.connect({str(db)!r}, isolation_level=None)
                c.execute("BEGIN IMMEDIATE")
                print("locked", flush=True)
                time.sleep(0.8)  # how long this process keeps the database
                c.execute("ROLLBACK")
            """)],
            stdout=subprocess.PIPE, text=True,
        ))

    thread = threading.Thread(target=hold_the_lock, daemon=True)
    thread.start()
    try:
        with caplog.at_level("WARNING", logger="staff_feed_tui.delivery.worker"):
            handled = asyncio.run(worker.drain())
    finally:
        thread.join(30)
        for process in holder:
            process.wait(10)
        server.stop()
    assert holder and holder[0].stdout is not None and holder[0].stdout.read().strip() == "locked"
    assert any("results kept for the next write" in r.getMessage() for r in caplog.records), "no write was refused"
    assert handled == total
    assert _status_counts(services) == Counter({"sent": total})
    assert len(server.handler.messages) == total and len(set(server.handler.message_ids)) == total


@pytest.mark.sqlite_only
def test_worker_says_the_database_is_busy_and_carries_on_after(services: Services) -> None:
    """Another process holds the database when the worker wants to claim: its state says so (the TUI shows it),
    and once the database is free the deliveries go out."""
    import textwrap

    from staff_feed_tui.store.db import make_engine

    _queue(services, 3)
    db = services.settings.data_dir / "staff_feed.db"
    server = SmtpServer().start()
    settings = services.settings.model_copy(
        update={
            "email": services.settings.email.model_copy(
                update={"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "none"}
            )
        }
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            c = sqlite3.connect({str(db)!r}, isolation_level=None)
            c.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    worker = make_worker(settings, make_engine(f"sqlite:///{db}", busy_timeout_ms=200))
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(worker.run(stop)), daemon=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        thread.start()
        _wait(lambda: worker.state.text.startswith("database busy"), "the worker to say the database is busy")
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
        _wait(lambda: _status_counts(services)["sent"] == 3, "the deliveries once the database is free")
    finally:
        stop.set()
        thread.join(10)
        if holder.poll() is None:
            holder.kill()
        server.stop()
    assert len(server.handler.messages) == 3
