"""P8: latency from a dispatcher's Send (the outbox write) to the message reaching the SMTP server, with the worker
idle and waiting. The worker runs as the TUI embeds it (its own thread and loop); the server is aiosmtpd on
loopback, and its DATA handler stamps the arrival. Target: p95 <= 200 ms.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

from common import free_port, machine, median, percentile, temp_services

SAMPLES = 40


def main() -> None:
    from aiosmtpd.controller import Controller

    from staff_feed_tui.delivery.factory import make_worker
    from staff_feed_tui.store.feed import queue_message

    arrivals: dict[str, float] = {}
    arrived = threading.Condition()

    class Stamp:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            now = time.time()
            body = envelope.content.decode(errors="replace")
            key = body.rsplit("probe-", 1)[1].split()[0]
            with arrived:
                arrivals[key] = now
                arrived.notify_all()
            return "250 OK"

    port = free_port()
    controller = Controller(Stamp(), hostname="127.0.0.1", port=port)
    controller.start()
    services = temp_services(email={"transport": "smtp", "host": "127.0.0.1", "port": port, "security": "none"})
    worker = make_worker(services.settings, services.engine)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(worker.run(stop)), daemon=True)
    thread.start()
    print(f"P8 enqueue-to-SMTP latency, idle worker · {machine()}")
    latencies = []
    rng = random.Random(8)
    try:
        time.sleep(0.5)  # let the worker settle into its idle wait; then each probe comes after an idle gap
        for n in range(SAMPLES):
            time.sleep(rng.uniform(0.1, 0.6))
            start = time.time()
            queue_message(services.engine, services.attachments, staff_id=1, author="bench", body=f"probe-{n} ")
            with arrived:
                if not arrived.wait_for(lambda n=n: str(n) in arrivals, timeout=10):
                    raise RuntimeError(f"probe {n} never arrived")
            latencies.append((arrivals[str(n)] - start) * 1000)
    finally:
        stop.set()
        thread.join(10)
        controller.stop()
    p95 = percentile(latencies, 95)
    print(f"  {SAMPLES} sends: median {median(latencies):.0f} ms, p95 {p95:.0f} ms, max {max(latencies):.0f} ms")
    print(f"  target p95 <= 200 ms: {'MET' if p95 <= 200 else 'NOT MET'}")


if __name__ == "__main__":
    main()
