"""One worker per database: heartbeats, the embedded worker's start and hand-over, and the top bar's words."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from staff_feed_tui.core.types import Channel
from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.services import Services
from staff_feed_tui.services.delivery import claim_embedded_worker, delivery_status, worker_running_elsewhere
from staff_feed_tui.store import delivery_state
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.models import utcnow
from staff_feed_tui.store.staff import find_staff
from staff_feed_tui.tui.app import make_app
from tests.test_tui import _ready, wait_for


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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while ("app-1", "embedded") not in delivery_state.live_workers(services.engine, delivery_state.FRESH_S):
            assert loop.time() < deadline, "no heartbeat from the embedded worker"
            await asyncio.sleep(0.05)
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
        await wait_for(pilot, lambda: "delivery: by another worker" in str(state.render()), "the pause to clear")
