"""P7: texts per second through the outbox worker against a loopback server playing Twilio's Messages API,
vs the raw twilio client's `create_async` calls gathered all at once, in the same run. Rate cap off.
Target: >= 0.8x.
"""

from __future__ import annotations

import asyncio
import time

from common import TWILIO_SERVER, ServerProcess, machine, report, temp_services

N = 4000  # a round lasts about 1.5 s per side: shorter ones swung 0.5-1.2x with the machine's other load
ROUNDS = 7
SID = "AC" + "0" * 32


async def raw_gather(base_url: str) -> float:
    from twilio.rest import Client

    from staff_feed_tui.delivery.transports.twilio_sms import RebasedHttpClient

    http = RebasedHttpClient(base_url)
    client = Client(SID, "token", http_client=http, environment={})
    start = time.perf_counter()
    await asyncio.gather(
        *(client.messages.create_async(to="+14155550101", from_="+14155550100", body=f"text {n}") for n in range(N))
    )
    elapsed = time.perf_counter() - start
    await http.close()
    return N / elapsed


async def through_worker(base_url: str) -> float:
    from staff_feed_tui.core.types import DeliveryMethod
    from staff_feed_tui.delivery.factory import make_worker
    from staff_feed_tui.store.feed import queue_message

    services = temp_services(
        company={"text_messaging": True},
        sms={"transport": "twilio", "account_sid": SID, "auth_token": "token", "from_number": "+14155550100",
             "api_base_url": base_url},
        delivery={"sms_rate_per_s": 0},
    )
    for n in range(N):
        queue_message(services.engine, services.attachments, staff_id=1, author="bench", body=f"text {n}",
                      method=DeliveryMethod.SMS)
    worker = make_worker(services.settings, services.engine)
    start = time.perf_counter()
    handled = await worker.drain()
    elapsed = time.perf_counter() - start
    assert handled == N, handled
    services.close()
    return N / elapsed


def main() -> None:
    print(f"P7 SMS throughput · {machine()}")
    server = ServerProcess(TWILIO_SERVER)
    base = f"http://127.0.0.1:{server.port}"
    try:
        raw, ours = [], []
        for n in range(ROUNDS):  # which side goes first alternates, so neither always meets a warmer server
            if n % 2:
                ours.append(asyncio.run(through_worker(base)))
                raw.append(asyncio.run(raw_gather(base)))
            else:
                raw.append(asyncio.run(raw_gather(base)))
                ours.append(asyncio.run(through_worker(base)))
    finally:
        server.proc.terminate()
        server.proc.wait(10)
    report("texts", raw, ours, target=0.8)


if __name__ == "__main__":
    main()
