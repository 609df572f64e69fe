"""What only PostgreSQL has: LISTEN/NOTIFY, a connection that can be cut, rows locked by several hosts at once.

These run when STAFF_FEED_TEST_POSTGRES_URL names a server (`.ci/run` sets it), each in its own database.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, text

from staff_feed_tui.services import Services
from staff_feed_tui.store import outbox
from staff_feed_tui.store.changes import open_change_feed
from staff_feed_tui.store.db import retrying, write_connection
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.pg_changes import PostgresChangeFeed
from staff_feed_tui.store.staff import find_staff
from tests import postgres
from tests.waiting import wait_for, wait_until

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(postgres.server_url() is None, reason=f"{postgres.ENV} is not set"),
]


@pytest.fixture
def engine_name() -> str:
    return "postgresql"


def _cut(engine: Engine, backend_pid: int) -> None:
    """What a server restart or a network drop does to one connection."""
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid}).scalar() is True


def test_a_notify_wakes_a_waiting_reader_at_once(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    feed = open_change_feed(services.engine)
    assert isinstance(feed, PostgresChangeFeed) and feed.wakes
    woke = threading.Event()

    def waiter() -> None:
        feed.wait(30)
        woke.set()

    try:
        thread = threading.Thread(target=waiter)
        thread.start()
        started = time.monotonic()
        message = queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="now")
        assert woke.wait(10), "the NOTIFY never woke the reader"
        assert time.monotonic() - started < 5  # well before the 30 s it would otherwise wait
        thread.join(5)
        assert feed.changed()
        assert [m for f in feed.poll() for m in f.message_ids] == [message]
    finally:
        feed.close()


def test_a_cut_connection_is_reconnected_and_the_feed_catches_up(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    feed = open_change_feed(services.engine)
    assert isinstance(feed, PostgresChangeFeed)
    try:
        _cut(services.engine, feed._conn.info.backend_pid)
        written = [queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex",
                                 body=f"while cut {n}") for n in range(3)]  # no NOTIFY reaches a dead connection
        seen: set[int] = set()

        def caught_up() -> bool:
            seen.update(m for f in feed.poll() for m in f.message_ids)
            return seen >= set(written)

        wait_until(caught_up, "the feed to reconnect and catch up")
        assert feed.reconnects == 1
        assert feed.connection_note == "database reconnected"
    finally:
        feed.close()


def test_an_unfinished_write_seen_late_is_not_missed(services: Services) -> None:
    """Seq numbers are taken at write time and seen at commit: a later seq can be read before an earlier one."""
    dana = find_staff(services.engine, "dana@example.com")
    feed = open_change_feed(services.engine)
    try:
        slow = services.engine.connect()
        slow_tx = slow.begin()
        slow.execute(text("UPDATE staff SET name = 'Dana R.' WHERE id = :id"), {"id": dana.id})  # takes a seq, uncommitted
        fast = queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="fast")
        seen: list[object] = []
        wait_until(lambda: seen.extend(feed.poll()) or any(fast in f.message_ids for f in seen), "the later write")
        assert not any(f.staff_changed for f in seen)
        slow_tx.commit()
        slow.close()
        wait_until(lambda: any(f.staff_changed for f in feed.poll()), "the earlier write, committed after")
    finally:
        feed.close()


async def test_the_app_catches_up_after_its_connection_is_cut_and_says_so(services: Services) -> None:
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.feed_view import FeedView
    from tests.test_tui import _ready

    dana = find_staff(services.engine, "dana@example.com")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(110, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        changes = app._changes
        assert isinstance(changes, PostgresChangeFeed)
        _cut(services.engine, changes._conn.info.backend_pid)
        # Every pooled connection goes too: the app's own reads must find new ones, never show a traceback.
        with services.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                              " AND pid <> pg_backend_pid() AND application_name = 'staff-feed'"))
        queue_message(services.engine, services.attachments, staff_id=dana.id, author="sam", body="sent while cut")
        await wait_for(pilot, lambda: any(m.body == "sent while cut" for m in feed.messages), "the catch-up")
        top = app.screen.query_one("#worker-state")
        await wait_for(pilot, lambda: "database reconnected" in str(top.render()), "the top bar to say it")
        assert changes.reconnects == 1


def test_claims_on_two_hosts_skip_each_others_rows(services: Services) -> None:
    """A claim holding its rows (as on another host, mid-transaction) does not block a second one, which takes
    other rows: FOR UPDATE SKIP LOCKED."""
    sam = find_staff(services.engine, "sam@example.com")
    for n in range(6):
        queue_message(services.engine, services.attachments, staff_id=sam.id, author="alex", body=f"m{n}")
    held = services.engine.connect()
    tx = held.begin()
    locked = [row[0] for row in held.execute(text(
        "SELECT id FROM delivery ORDER BY id LIMIT 3 FOR UPDATE"))]
    try:
        started = time.monotonic()
        claimed = outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="other", limit=10)
        assert time.monotonic() - started < 5
        assert sorted(c.delivery_id for c in claimed) == sorted(set(range(1, 7)) - set(locked))
    finally:
        tx.rollback()
        held.close()
    again = outbox.claim_due_deliveries(services.engine, services.attachments.root, owner="first", limit=10)
    assert sorted(c.delivery_id for c in again) == sorted(locked)


def test_a_deadlock_is_retried_within_a_bound(services: Services) -> None:
    calls: list[int] = []

    def deadlocking() -> int:
        calls.append(1)
        with write_connection(services.engine) as conn:
            if len(calls) < 3:  # raise what the server raises on a deadlock, from the server
                conn.exec_driver_sql("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
            return 7

    assert retrying(services.engine, deadlocking) == 7 and len(calls) == 3
    calls.clear()

    def always() -> int:
        calls.append(1)
        with write_connection(services.engine) as conn:
            conn.exec_driver_sql("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$")
        return 0

    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError):
        retrying(services.engine, always, attempts=4)
    assert len(calls) == 4
