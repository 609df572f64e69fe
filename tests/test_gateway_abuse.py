"""The gateway under abuse: slow and stalled clients, floods, large bodies, hostile numbers.

In-process tests use the app over real loopback sockets; the last test runs a real `staff-feed gateway` process
whose open-file limit is lowered to 1,024, against 1,100 stalled clients.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from staff_feed_tui.services import Services
from staff_feed_tui.store.feed import iter_feed
from staff_feed_tui.store.staff import find_staff
from tests.smtp_server import free_port
from tests.test_gateway import PUBLIC, SID, TOKEN, configured, inbound, post_signed, serving, snapshot
from tests.twilio_signing import twilio_signature


def _limited(services: Services, **gateway: object) -> Services:
    svc = configured(services)
    settings = svc.settings.model_copy(update={"gateway": svc.settings.gateway.model_copy(update=gateway)})
    return Services(settings, svc.engine, svc.attachments, svc.dispatcher)


@pytest.fixture
async def small_gateway(services: Services) -> AsyncIterator[tuple[TestClient, Services]]:
    svc = _limited(services, max_concurrent=3, body_timeout_s=1.0, max_body_bytes=4096)
    async with serving(svc) as client:
        yield client, svc


@pytest.fixture
async def gateway(services: Services) -> AsyncIterator[tuple[TestClient, Services]]:
    svc = configured(services)
    async with serving(svc) as client:
        yield client, svc


async def _stalled_in_body(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that sends its headers and a little of its body, then nothing more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: s\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nBody=")
    await writer.drain()
    return reader, writer


async def test_past_max_concurrent_503_healthz_still_answers_and_slow_bodies_get_408(small_gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = small_gateway
    port = client.server.port
    assert port is not None
    stalled = [await _stalled_in_body(port) for _ in range(3)]
    deadline = time.monotonic() + 5
    while True:  # the three are in their bodies, the cap is reached
        answer = await post_signed(client, "/twilio/sms", inbound("SM" + "1" * 32))
        if answer.status == 503 or time.monotonic() > deadline:
            break
    assert answer.status == 503 and answer.headers["Retry-After"] == "1"
    assert (await client.get("/healthz")).status == 200  # outside the cap
    for reader, writer in stalled:  # each is answered 408 once body_timeout_s has passed, and closed
        head = await asyncio.wait_for(reader.read(), timeout=10)
        assert head.startswith(b"HTTP/1.1 408 "), head
        writer.close()
    assert (await post_signed(client, "/twilio/sms", inbound("SM" + "2" * 32))).status == 200
    assert len(list(iter_feed(svc.engine, find_staff(svc.engine, "dana@example.com").id))) == 1


async def test_a_body_over_max_body_bytes_gets_413_and_nothing_is_stored(small_gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = small_gateway
    before = snapshot(svc)
    params = inbound("SM" + "3" * 32, body="x" * 5000)
    answer = await post_signed(client, "/twilio/sms", params)
    assert answer.status == 413
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b"Body=" + b"x" * 1000

    # No Content-Length: the body is counted as it comes.
    chunked = await client.post("/twilio/sms", data=chunks(), headers={"X-Twilio-Signature": "s"})
    assert chunked.status == 413
    assert snapshot(svc) == before


async def test_an_inbound_text_is_kept_to_1600_characters(gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    answer = await post_signed(client, "/twilio/sms", inbound("SM" + "4" * 32, body="é" * 1599 + "xyz" * 1000))
    assert answer.status == 200
    (message,) = list(iter_feed(svc.engine, find_staff(svc.engine, "dana@example.com").id))
    assert message.body == "é" * 1599 + "x"
    assert message.note == "the text had 4,599 characters; only the first 1,600 are kept"


async def test_client_errors_log_one_line_never_a_traceback(gateway, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    before = snapshot(svc)
    caplog.set_level(logging.DEBUG - 1, logger="aiohttp")
    caplog.set_level(logging.INFO, logger="staff_feed_tui")
    answers = [
        (await client.get("/media/" + "9" * 5000 + ".1.x")).status,
        (await client.get("/media/1.²²²²².x")).status,
        (await post_signed(client, "/twilio/sms", inbound("SM" + "5" * 32, NumMedia="²"))).status,
        (await post_signed(client, "/twilio/sms", inbound("SM" + "6" * 32, NumMedia="9" * 5000))).status,
        (await post_signed(client, "/twilio/status", {"MessageSid": "SM7", "MessageStatus": "failed",
                                                       "ErrorCode": "³" + "9" * 5000})).status,
    ]
    assert answers == [403, 403, 400, 400, 204]
    assert snapshot(svc)[:4] == before[:4]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text


# A real gateway process, 1,100 sockets, and waits of the header and body deadlines: about 30 s alone.
@pytest.mark.timeout(300)
def test_the_gateway_process_at_1024_open_files_against_1100_stalled_clients(tmp_path: Path,
                                                                            services: Services) -> None:
    """Half the clients stall in their headers, half in their body; none ever finishes. `/healthz` keeps answering,
    each client is answered (503, or 408 when its time is up) and closed, and the log stays a few lines."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2400:
        pytest.skip(f"this test opens 1,100 sockets; the open-file limit here is {hard}")
    if soft != resource.RLIM_INFINITY and soft < 2400:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    port = free_port()
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(services.settings.data_dir), "STAFF_FEED_SMS__ACCOUNT_SID": SID,
           "STAFF_FEED_SMS__AUTH_TOKEN": TOKEN, "STAFF_FEED_GATEWAY__PUBLIC_URL": PUBLIC,
           "STAFF_FEED_GATEWAY__PORT": str(port), "STAFF_FEED_GATEWAY__HEADER_TIMEOUT_S": "3",
           "STAFF_FEED_GATEWAY__BODY_TIMEOUT_S": "5"}
    launcher = ("import resource, sys\n"
                "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
                "from staff_feed_tui.cli import main\n"
                "sys.exit(main(['gateway']))\n")
    log_path = tmp_path / "gateway.log"
    with open(log_path, "wb") as log:
        gateway = subprocess.Popen([sys.executable, "-c", launcher], env=env, stdout=log, stderr=subprocess.STDOUT)
    clients: list[socket.socket] = []
    try:
        assert _health(port, gateway, timeout=30) == 200
        for n in range(1100):
            clients.append(_stalled_client(port, in_body=n % 2 == 1))
        for _ in range(3):  # while all 1,100 are open (or being answered)
            assert _health(port, gateway, timeout=5) == 200
        signed = _signed_post(port)
        assert signed in (200, 503), signed
        answers = _read_all(clients, timeout=60)
        assert gateway.poll() is None
        assert _health(port, gateway, timeout=5) == 200
    finally:
        for client in clients:
            client.close()
        gateway.send_signal(signal.SIGTERM)
        code = gateway.wait(timeout=30)
    assert code == 0
    assert set(answers) <= {b"HTTP/1.1 408", b"HTTP/1.1 503"}, set(answers)
    assert answers.count(b"HTTP/1.1 408") >= 256  # the body stalls that were let in, and the header stalls
    text = log_path.read_text()
    assert "Traceback" not in text
    assert len(text) < 20_000, text[-3000:]


def _health(port: int, gateway: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        if gateway.poll() is not None:
            raise AssertionError(f"the gateway exited with {gateway.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=max(0.1, deadline - time.monotonic())) as r:
                return r.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _stalled_client(port: int, *, in_body: bool) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    if in_body:
        client.sendall(b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: s\r\nContent-Length: 500\r\n\r\nBo")
    else:
        client.sendall(b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Twilio-")
    client.setblocking(False)
    return client


def _signed_post(port: int) -> int:
    params = inbound("SM" + "8" * 32)
    data = "&".join(f"{k}={v}" for k, v in params.items()).replace("+", "%2B").encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/twilio/sms", data=data, headers={
        "X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + "/twilio/sms", params),
        "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _read_all(clients: list[socket.socket], timeout: float) -> list[bytes]:
    """Read every client until the gateway closes it; the first 12 bytes of what each got."""
    got = {client: b"" for client in clients}
    selector = selectors.DefaultSelector()
    for client in clients:
        selector.register(client, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    open_count = len(clients)
    while open_count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{open_count} of {len(clients)} clients were never answered and closed")
        for key, _ in selector.select(left):
            client = key.fileobj
            try:
                chunk = client.recv(4096)  # type: ignore[union-attr]
            except ConnectionResetError:
                chunk = b""
            if chunk:
                got[client] += chunk  # type: ignore[index]
            else:
                selector.unregister(client)
                open_count -= 1
    return [data[:12] for data in got.values()]
