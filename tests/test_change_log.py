"""The change log is trimmed to its newest rows; a reader that fell behind the trim reloads instead of missing out."""

from __future__ import annotations

import time

import pytest

from staff_feed_tui.services import Services
from staff_feed_tui.store.changes import EVERYTHING, ChangedFeed, ChangeSource, open_change_feed, trim_changes
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.staff import find_staff
from tests.rows import rows
from tests.test_tui import _ready, wait_for
from tests.waiting import wait_async

pytestmark = pytest.mark.both_engines


def _rows(services: Services) -> int:
    return rows(services.engine, "SELECT count(*) FROM change")[0][0]


def _trim(services: Services, keep: int) -> int:
    return trim_changes(services.db_path or services.engine, keep=keep)


def poll_until_told(feed: ChangeSource, timeout: float = 10.0) -> list[ChangedFeed]:
    """The first non-empty poll (on PostgreSQL a NOTIFY reaches the reader a moment after the commit)."""
    deadline = time.monotonic() + timeout
    while not (told := feed.poll()):
        assert time.monotonic() < deadline, "the change feed was never told"
        time.sleep(0.01)
    return told


def test_trim_keeps_the_newest_rows_and_a_lagging_reader_is_told(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    current = open_change_feed(services.engine)  # reads as rows come
    lagging = open_change_feed(services.engine)  # reads only after the trim
    try:
        ids = [queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body=f"m{n}")
               for n in range(10)]
        seen = poll_until_told(current)
        assert {m for f in seen for m in f.message_ids} == set(ids)
        before = _rows(services)
        assert _trim(services, keep=4) == before - 4
        assert _rows(services) == 4
        assert current.poll() == []  # it had read everything: nothing to redo
        assert poll_until_told(lagging) == [ChangedFeed(staff_id=EVERYTHING, message_ids=frozenset(),
                                                        staff_changed=True)]
        assert lagging.poll() == []  # told once
        newer = queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body="new")
        assert [m for f in poll_until_told(lagging) for m in f.message_ids] == [newer]  # then it goes on as usual
        assert _trim(services, keep=50_000) == 0
    finally:
        current.close()
        lagging.close()


async def test_the_app_reloads_when_told_it_missed_changes(services: Services) -> None:
    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.messages import FeedsChanged
    from staff_feed_tui.tui.widgets.feed_view import FeedView

    dana = find_staff(services.engine, "dana@example.com")
    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        feed = app.screen.query_one(FeedView)
        app._changes.close()  # type: ignore[union-attr]  # this app stops reading the log: it "falls behind"
        queue_message(services.engine, services.attachments, staff_id=dana.id, author="sam", body="written meanwhile")
        assert not any(m.body == "written meanwhile" for m in feed.messages)
        app.screen.post_message(FeedsChanged([ChangedFeed(EVERYTHING, frozenset(), True)]))
        await wait_for(pilot, lambda: any(m.body == "written meanwhile" for m in feed.messages), "the reload")


async def test_the_worker_trims_the_log(services: Services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import threading

    from staff_feed_tui.delivery import running as running_module
    from staff_feed_tui.delivery.factory import make_worker

    dana = find_staff(services.engine, "dana@example.com")
    for n in range(6):
        queue_message(services.engine, services.attachments, staff_id=dana.id, author="alex", body=f"m{n}")
    def oldest() -> int:
        return rows(services.engine, "SELECT min(seq) FROM change")[0][0]

    first, newest_before = oldest(), _rows(services)
    assert newest_before > 3
    monkeypatch.setattr(running_module, "TRIM_KEEP", 3)
    stop = threading.Event()
    worker = make_worker(services.settings, services.engine)
    running = asyncio.create_task(worker.run(stop))
    # Trimmed at start (the sends that follow add rows of their own).
    await wait_async(lambda: oldest() != first, "the worker to trim the change log")
    assert oldest() >= first + newest_before - 3
    stop.set()
    await asyncio.wait_for(running, 10)
