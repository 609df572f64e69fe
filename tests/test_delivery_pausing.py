"""Outages pause the channel and are waited out; giving up is by time; the worker stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

from pydantic import SecretStr

from staff_feed_tui.core.types import Channel, DeliveryMethod
from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.delivery.results import RetryPolicy
from staff_feed_tui.services import Services
from staff_feed_tui.store.delivery_state import channel_health
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.models import utcnow
from staff_feed_tui.store.staff import find_staff
from tests.fake_twilio import FakeTwilio
from tests.smtp_server import SmtpServer
from tests.waiting import wait_until


def _email(services: Services, port: int, **extra: object) -> Services:
    s = services.settings
    settings = s.model_copy(update={"email": s.email.model_copy(
        update={"transport": "smtp", "host": "127.0.0.1", "port": port, "security": "none", **extra})})
    return Services(settings, services.engine, services.attachments, services.dispatcher)


def _queue(services: Services, count: int, method: DeliveryMethod = DeliveryMethod.EMAIL, **kw: object) -> list[int]:
    dana = find_staff(services.engine, "dana@example.com")
    return [queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body=f"visit {n}",
                          method=method, **kw) for n in range(count)]  # type: ignore[arg-type]


def _counts(services: Services, channel: str) -> Counter[str]:
    with services.engine.connect() as conn:
        return Counter(dict(conn.exec_driver_sql(
            "SELECT status, count(*) FROM delivery WHERE channel = ? GROUP BY status", (channel,)).all()))


def _paused(services: Services, channel: Channel) -> bool:
    return any(h.paused for h in channel_health(services.engine) if h.channel is channel)


def _failures(services: Services) -> int:
    with services.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT failures FROM channel_state WHERE channel = 'email'").scalar() or 0


def _run(worker) -> tuple[threading.Thread, threading.Event]:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(worker.run(stop)), daemon=True)
    thread.start()
    return thread, stop


def test_an_smtp_server_down_longer_than_the_attempt_budget_fails_nothing(services: Services) -> None:
    """Before, every connection failure used an attempt: an outage longer than the attempts' backoff failed every
    queued email. Now the channel pauses and the emails wait, however many times the server is tried."""
    server = SmtpServer()
    svc = _email(services, server.port)
    ids = _queue(svc, 20)
    worker = make_worker(svc.settings, svc.engine)
    worker.policy = RetryPolicy(max_attempts=2, backoff_s=0.02, max_backoff_s=0.1)
    thread, _stop = _run(worker)
    try:
        wait_until(lambda: _paused(svc, Channel.EMAIL), "email to pause")
        wait_until(lambda: _failures(svc) >= 6, "six failed tries: three times the old budget")
        assert _counts(svc, "email") == Counter({"queued": 20})
        (health,) = [h for h in channel_health(svc.engine) if h.channel is Channel.EMAIL]
        assert health.waiting == 20 and "SMTP unreachable" in (health.reason or "")
        server.start()
        wait_until(lambda: _counts(svc, "email") == Counter({"sent": 20}), "every email to go once the server is back")
        wait_until(lambda: not _paused(svc, Channel.EMAIL), "email to be running again")
    finally:
        worker.request_stop()
        thread.join(10)
        server.stop()
    assert len(server.handler.messages) == len(ids)
    with svc.engine.connect() as conn:
        assert {a for (a,) in conn.exec_driver_sql("SELECT attempts FROM delivery")} == {1}


def test_a_twilio_401_pauses_texts_until_the_token_is_fixed(services: Services) -> None:
    twilio = FakeTwilio(auth_token="the-token-twilio-now-expects").start()
    s = services.settings
    settings = s.model_copy(update={
        "sms": s.sms.model_copy(update={"transport": "twilio", "account_sid": twilio.account_sid,
                                        "auth_token": SecretStr("the-token-in-the-config"),
                                        "from_number": "+14155550100", "api_base_url": twilio.base_url}),
        "delivery": s.delivery.model_copy(update={"sms_rate_per_s": 0, "backoff_s": 0.05}),
    })
    svc = Services(settings, services.engine, services.attachments, services.dispatcher)
    _queue(svc, 10, DeliveryMethod.SMS)
    worker = make_worker(svc.settings, svc.engine)
    thread, _ = _run(worker)
    try:
        wait_until(lambda: _paused(svc, Channel.SMS), "texts to pause")
        (health,) = [h for h in channel_health(svc.engine) if h.channel is Channel.SMS]
        assert "credentials" in (health.reason or "") and "20003" in (health.reason or "")
        assert _counts(svc, "sms") == Counter({"queued": 10})
        twilio.auth_token = "the-token-in-the-config"  # the token is put right
        wait_until(lambda: _counts(svc, "sms") == Counter({"sent": 10}), "every text to go with the right token")
    finally:
        worker.request_stop()
        thread.join(10)
        twilio.stop()
    assert not _paused(svc, Channel.SMS)
    bodies = Counter(call.one("Body") for call in twilio.calls)
    assert len(bodies) == 10


async def test_once_never_waits_out_a_pause_and_gives_up_by_time(services: Services) -> None:
    server = SmtpServer()  # down
    svc = _email(services, server.port)
    old = _queue(svc, 1, now=utcnow() - timedelta(days=3))[0]
    fresh = _queue(svc, 1)[0]
    worker = make_worker(svc.settings, svc.engine)
    started = time.monotonic()
    await asyncio.wait_for(worker.drain(), 20)
    assert time.monotonic() - started < 5  # one try, then the pause is left for a later run
    assert _paused(svc, Channel.EMAIL)
    with svc.engine.connect() as conn:
        rows = {m: (s, e) for m, s, e in conn.exec_driver_sql(
            "SELECT message_id, status, last_error FROM delivery").all()}
    assert rows[old][0] == "failed" and rows[old][1] is not None and rows[old][1].startswith(
        "gave up: not sent within 2 days")
    assert rows[fresh][0] == "queued"
    # A second run while the pause lasts does not knock again.
    again = make_worker(svc.settings, svc.engine)
    assert await asyncio.wait_for(again.drain(), 20) == 0


def test_sigterm_mid_batch_stops_within_5_s_and_releases_its_claims(services: Services) -> None:
    server = SmtpServer().start()
    server.handler.delay_s = 0.05  # a slow server: the batch is long on the wire
    total = 300
    _queue(services, total)
    db = services.settings.data_dir / "staff_feed.db"
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(services.settings.data_dir),
           "STAFF_FEED_EMAIL__TRANSPORT": "smtp", "STAFF_FEED_EMAIL__HOST": "127.0.0.1",
           "STAFF_FEED_EMAIL__PORT": str(server.port), "STAFF_FEED_EMAIL__SECURITY": "none",
           "STAFF_FEED_DELIVERY__BATCH_SIZE": "100"}
    worker = subprocess.Popen([sys.executable, "-m", "staff_feed_tui", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        server.handler.wait_for(20, timeout=60)
        asked = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
        took = time.monotonic() - asked
    finally:
        if worker.poll() is None:
            worker.kill()
        server.stop()
    assert took < 5, took
    assert worker.returncode == 0, worker.stderr.read() if worker.stderr else ""
    with sqlite3.connect(db) as conn:
        counts = Counter(dict(conn.execute("SELECT status, count(*) FROM delivery GROUP BY status").fetchall()))
        leased = conn.execute("SELECT count(*) FROM delivery WHERE lease_owner IS NOT NULL").fetchone()[0]
    assert counts["sending"] == 0 and leased == 0, counts  # what was on the wire finished; the rest went back
    assert counts["sent"] == len(server.handler.messages)
    assert counts["sent"] + counts["queued"] == total
    assert counts["queued"] > 0
