"""One worker per database: heartbeats, the embedded worker's start and hand-over, and the top bar's words."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from staff_feed_tui.core.types import Channel
from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.services import Services
from staff_feed_tui.services.delivery import claim_embedded_worker, delivery_status, worker_running_elsewhere
from staff_feed_tui.store import delivery_state
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.models import utcnow
from staff_feed_tui.store.staff import find_staff
from staff_feed_tui.tui.app import make_app
from tests.test_tui import _ready
from tests.waiting import wait_async, wait_for


def test_of_two_apps_starting_together_one_runs_the_worker(services: Services) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def claim(owner: str) -> None:
        barrier.wait()
        results.append(claim_embedded_worker(services, owner))

    threads = [threading.Thread(target=claim, args=(f"app-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False, False, False, True]


def test_a_stale_heartbeat_does_not_hold_the_slot(services: Services) -> None:
    delivery_state.beat(services.engine, "gone-worker", delivery_state.SERVICE,
                        now=utcnow() - timedelta(seconds=delivery_state.FRESH_S + 1))
    assert not worker_running_elsewhere(services, "me")
    assert claim_embedded_worker(services, "me")
    assert not claim_embedded_worker(services, "another app")


def test_no_embedded_worker_when_the_settings_say_so(services: Services) -> None:
    services.settings.delivery.embedded_worker = False
    assert not claim_embedded_worker(services, "me")


async def test_an_embedded_worker_hands_over_when_a_service_worker_appears(services: Services) -> None:
    embedded = make_worker(services.settings, services.engine, owner="app-1", kind=delivery_state.EMBEDDED)
    thread = threading.Thread(target=lambda: asyncio.run(embedded.run()), daemon=True)
    thread.start()
    try:
        await wait_async(lambda: ("app-1", "embedded") in delivery_state.live_workers(
            services.engine, delivery_state.FRESH_S), "the embedded worker's heartbeat")
        delivery_state.beat(services.engine, "service-1", delivery_state.SERVICE)
        await asyncio.to_thread(thread.join, delivery_state.HEARTBEAT_S * 2 + 5)
        assert not thread.is_alive() and embedded.handed_over
        assert delivery_state.live_workers(services.engine, delivery_state.FRESH_S) == [("service-1", "service")]
    finally:
        embedded.request_stop()
        thread.join(10)


async def test_an_app_starts_no_worker_while_another_runs_and_shows_a_pause(services: Services) -> None:
    delivery_state.beat(services.engine, "service-1", delivery_state.SERVICE)
    sam = find_staff(services.engine, "sam@example.com")
    for n in range(3):
        queue_message(services.engine, services.attachments, staff_id=sam.id, author="alex", body=f"m{n}")
    delivery_state.pause_channel(services.engine, Channel.EMAIL, "SMTP unreachable", failures=3,
                                 retry_at=utcnow() + timedelta(minutes=5))
    expected = delivery_status(services)
    assert expected is not None and expected.startswith("email: SMTP unreachable since ")
    assert expected.endswith(", 3 waiting")
    app = make_app(services)
    async with app.run_test(size=(160, 30)) as pilot:
        await _ready(pilot)
        state = app.screen.query_one("#worker-state")
        await wait_for(pilot, lambda: expected in str(state.render()), "the pause in the top bar")
        assert app.outbox_worker is None
        delivery_state.resume_channel(services.engine, Channel.EMAIL)
        app._look_at_delivery()  # the app looks every 10 s; here, at once
        await wait_for(pilot, lambda: "delivery: by another worker" in str(state.render()), "the pause to clear")


async def test_an_idle_worker_wakes_at_once_on_a_commit_from_another_process(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle, the worker looks at the database rarely (backed off); a commit anywhere wakes it through inotify on the
    database's WAL. With every periodic look pushed to an hour, only that wake-up can send the message."""
    import staff_feed_tui.delivery.running as running_module

    for name in ("POLL_FIRST_S", "POLL_MAX_S", "POLL_MAX_WATCHED_S", "MAX_REST_S", "HEARTBEAT_S"):
        monkeypatch.setattr(running_module, name, 3600.0)
    worker = make_worker(services.settings, services.engine)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run()), daemon=True)
    thread.start()
    try:
        await wait_async(lambda: worker.owner in [o for o, _ in delivery_state.live_workers(
            services.engine, delivery_state.FRESH_S)], "the worker to start")
        await wait_async(lambda: worker.state.text == "idle", "the worker to go idle")
        outbox_file = services.settings.outbox_dir / "email"
        sam = find_staff(services.engine, "sam@example.com")
        queue_message(services.engine, services.attachments, staff_id=sam.id, author="alex", body="wake up")
        await wait_async(lambda: outbox_file.is_dir() and any(outbox_file.glob("*.eml")), "the email to be written")
    finally:
        worker.request_stop()
        await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive()


def test_the_top_bar_words_for_a_paused_channel() -> None:
    from datetime import UTC, datetime

    from staff_feed_tui.core.types import ChannelHealth
    from staff_feed_tui.services.delivery import channel_words

    reason = "SMTP unreachable (smtp.example.com:587): Error connecting to smtp.example.com on port 587: [Errno 111]"
    health = ChannelHealth(Channel.EMAIL, 37, datetime(2026, 11, 30, 10, 2, tzinfo=UTC), reason, None)
    same_day, next_day = datetime(2026, 11, 30, 11, 0, tzinfo=UTC), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert channel_words(health, same_day, local=lambda m: m) == (
        "email: SMTP unreachable (smtp.example.com:587) since 10:02, 37 waiting")
    assert channel_words(health, next_day, local=lambda m: m) == (
        "email: SMTP unreachable (smtp.example.com:587) since 2026-11-30 10:02, 37 waiting")
    assert reason in channel_words(health, same_day, full=True, local=lambda m: m)
    hostile = ChannelHealth(Channel.SMS, 1, health.paused_since, "Twilio \x1b]0;owned\x07 said no", None)
    assert "\x1b" not in channel_words(hostile, same_day, local=lambda m: m)
