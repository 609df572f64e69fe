"""P6: emails per second through the outbox worker, against a raw aiosmtplib loop on one reused connection.

Both send to the same local aiosmtpd (in its own process) in the same run; the ratio is worker / raw.
Target: >= 0.8x.
"""

from __future__ import annotations

import asyncio
import time

from common import SMTP_SERVER, ServerProcess, machine, report, temp_services

N = 1000
ROUNDS = 7


async def raw_loop(port: int, messages: list) -> float:  # type: ignore[type-arg]
    import aiosmtplib

    start = time.perf_counter()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await client.connect()
    for message in messages:
        await client.send_message(message)
    await client.quit()
    return N / (time.perf_counter() - start)


async def through_worker(port: int) -> float:
    from staff_feed_tui.delivery.factory import make_worker
    from staff_feed_tui.store.feed import queue_message

    services = temp_services(
        email={"transport": "smtp", "host": "127.0.0.1", "port": port, "security": "none"},
        company={"name": "Bench Co"},
    )
    for n in range(N):
        queue_message(services.engine, services.attachments, staff_id=1, author="bench", body=f"message {n}")
    worker = make_worker(services.settings, services.engine)
    start = time.perf_counter()
    handled = await worker.drain()
    elapsed = time.perf_counter() - start
    assert handled == N, handled
    services.close()
    return N / elapsed


def raw_messages() -> list:  # type: ignore[type-arg]
    """The same messages the worker builds, made by the same code, before the clock starts."""
    from datetime import UTC, datetime

    from staff_feed_tui.core.types import Channel
    from staff_feed_tui.delivery.email import build_email
    from staff_feed_tui.store.outbox import ClaimedDelivery

    return [
        build_email(
            ClaimedDelivery(n, n, Channel.EMAIL, 1, 1, "Dana Reyes", "dana@example.com", None, "bench",
                            f"message {n}", datetime.now(UTC), ()),
            company="Bench Co",
            from_address="dispatch@example.com",
        )
        for n in range(N)
    ]


def main() -> None:
    print(f"P6 email throughput · {machine()}")
    server = ServerProcess(SMTP_SERVER)
    try:
        raw, worker = [], []
        for n in range(ROUNDS):  # which side goes first alternates, so neither always meets a warmer server
            if n % 2:
                worker.append(asyncio.run(through_worker(server.port)))
                raw.append(asyncio.run(raw_loop(server.port, raw_messages())))
            else:
                raw.append(asyncio.run(raw_loop(server.port, raw_messages())))
                worker.append(asyncio.run(through_worker(server.port)))
    finally:
        server.stop()
    report("emails", raw, worker, target=0.8)


if __name__ == "__main__":
    main()
