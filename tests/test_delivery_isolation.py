"""One bad message fails alone; no header can be forged; every network call has a deadline; channels run apart.

All with the real worker, aiosmtpd on loopback and the real twilio client against the loopback Twilio API.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from staff_feed_tui.core.types import Channel, DeliveryMethod
from staff_feed_tui.delivery.email import UnsendableEmail, build_email
from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.services import Services
from staff_feed_tui.store.db import write_session
from staff_feed_tui.store.delivery_state import channel_health
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.models import Staff
from staff_feed_tui.store.outbox import ClaimedDelivery
from tests.fake_twilio import FakeTwilio
from tests.smtp_server import SilentServer, SmtpServer
from tests.waiting import wait_async


def _with(services: Services, *, email: dict | None = None, sms: dict | None = None) -> Services:
    s = services.settings
    update: dict[str, object] = {"delivery": s.delivery.model_copy(update={"sms_rate_per_s": 0})}
    if email is not None:
        update["email"] = s.email.model_copy(update={"transport": "smtp", "host": "127.0.0.1", "security": "none",
                                                      **email})
    if sms is not None:
        update["sms"] = s.sms.model_copy(update={"transport": "twilio", "from_number": "+14155550100", **sms})
    return Services(s.model_copy(update=update), services.engine, services.attachments, services.dispatcher)


def _twilio_settings(twilio: FakeTwilio, **extra: object) -> dict[str, object]:
    return {"account_sid": twilio.account_sid, "auth_token": SecretStr(twilio.auth_token),
            "api_base_url": twilio.base_url, **extra}


def _add_staff(services: Services, name: str, email: str, phone: str | None = None) -> int:
    """Straight into the table, as an older import or another tool may have left it: no checks on the way."""
    with write_session(services.engine) as session:
        row = Staff(name=name, email=email, phone=phone, accepts_texts=phone is not None)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _queue(services: Services, staff_id: int, body: str, method: DeliveryMethod = DeliveryMethod.EMAIL) -> int:
    return queue_message(services.engine, services.attachments, staff_id=staff_id, author="alex", body=body,
                         method=method)


def _delivery(services: Services, message_id: int, channel: str = "email") -> tuple[str, str | None, int]:
    with services.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT status, last_error, attempts FROM delivery WHERE message_id = ? AND channel = ?",
            (message_id, channel),
        ).one()  # type: ignore[return-value]


POISON = [
    ("José Ortega", "josé@example.com"),  # a local part outside ASCII: needs SMTPUTF8
    ("Zoe Müller", "zoe@müller.example"),  # an international domain: sent in IDNA
    ("Ann\nLee", "ann@example.com"),  # a line break from a quoted CSV field
    ("Bo\r\nBcc: evil@attacker.example", "bo@example.com"),  # a forged header, tried through a name
    ("Not An Address", "nobody-at-example.com"),  # no @ at all
]


@pytest.mark.parametrize("smtputf8", [False, True], ids=["server-without-SMTPUTF8", "server-with-SMTPUTF8"])
async def test_poison_recipients_fail_alone_and_the_others_go(services: Services, smtputf8: bool) -> None:
    server = SmtpServer(smtputf8=smtputf8).start()
    try:
        svc = _with(services, email={"port": server.port})
        good_staff = _add_staff(svc, "Good Person", "good@example.com")
        ids: dict[str, int] = {}
        for n in range(5):
            ids[f"good-before-{n}"] = _queue(svc, good_staff, f"before {n}")
        for name, address in POISON:
            ids[address] = _queue(svc, _add_staff(svc, name, address), f"to {address}")
        for n in range(5):
            ids[f"good-after-{n}"] = _queue(svc, good_staff, f"after {n}")
        worker = make_worker(svc.settings, svc.engine)
        await asyncio.wait_for(worker.drain(), 30)

        results = {key: _delivery(svc, message_id) for key, message_id in ids.items()}
        for key, (status, error, _) in results.items():
            if key.startswith("good"):
                assert status == "sent", (key, error)
        assert results["zoe@müller.example"][0] == "sent"
        assert results["ann@example.com"][0] == "sent"
        assert results["bo@example.com"][0] == "sent"
        status, error, _ = results["nobody-at-example.com"]
        assert status == "failed" and error is not None and "is not valid" in error
        status, error, _ = results["josé@example.com"]
        if smtputf8:
            assert status == "sent", error
        else:
            assert status == "failed" and error is not None and "SMTPUTF8" in error and "josé@example.com" in error

        received = server.handler.messages
        assert len(received) == 10 + 3 + smtputf8
        recipients = [rcpt for _, rcpts in server.handler.envelopes for rcpt in rcpts]
        assert "zoe@xn--mller-kva.example" in recipients  # IDNA on the wire
        assert "evil@attacker.example" not in recipients
        assert ("josé@example.com" in recipients) is smtputf8
        for mail in received:
            assert mail["Bcc"] is None
            assert "\n" not in str(mail["To"]) and "\n" not in str(mail["Subject"])
        ann = next(m for m in received if "ann@example.com" in str(m["To"]))
        assert ann["To"].addresses[0].display_name == "Ann Lee"
    finally:
        server.stop()


def _item(name: str, author: str | None, email: str = "dana@example.com") -> ClaimedDelivery:
    return ClaimedDelivery(7, 3, Channel.EMAIL, 1, 5, name, email, None, author, "the body", datetime.now(UTC), ())


def test_a_dispatcher_name_cannot_forge_a_header_or_end_the_headers() -> None:
    """The header cache hands EmailMessage ready-made header objects, which skip the standard library's CR/LF check:
    a name with a line break added a Bcc and a blank line replaced the body."""
    mail = build_email(_item("Dana", "alex\r\nBcc: evil@attacker.example\r\n\r\nforged body"),
                       company="Paws", from_address="dispatch@example.com")
    assert mail["Bcc"] is None
    assert mail.get_content().strip() == "the body"  # type: ignore[attr-defined]
    assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])
    wire = bytes(mail)
    assert b"\nBcc:" not in wire and b"forged body\n\nthe body" not in wire


def test_a_header_value_from_the_settings_is_checked_too() -> None:
    with pytest.raises(UnsendableEmail, match="control character"):
        build_email(_item("Dana", "alex"), company="Paws", from_address="dispatch@example.com",
                    reply_domain="r.example\r\nBcc: evil@attacker.example", reply_secret=b"k")


@given(
    name=st.text(max_size=40), author=st.one_of(st.none(), st.text(max_size=40)), company=st.text(max_size=30),
)
@settings(max_examples=300, deadline=None)
def test_no_text_in_any_name_adds_a_header_line(name: str, author: str | None, company: str) -> None:
    """Whatever the names hold, the message has exactly its own headers, each on one logical line."""
    try:
        mail = build_email(_item(name, author), company=company, from_address="dispatch@example.com")
    except UnsendableEmail:
        return
    wire = bytes(mail).decode("ascii")
    head, _, body = wire.partition("\n\n")
    fields = [line.split(":", 1)[0] for line in head.split("\n") if line and not line[0].isspace()]
    assert fields == ["Subject", "From", "To", "Date", "Message-ID", "Content-Type", "Content-Transfer-Encoding",
                      "MIME-Version"]
    assert body == "the body\n"


async def test_an_smtp_server_that_never_answers_costs_one_deadline_and_no_attempt(services: Services) -> None:
    silent = SilentServer().start()
    try:
        svc = _with(services, email={"port": silent.port, "timeout_s": 1.0})
        staff = _add_staff(svc, "Good Person", "good@example.com")
        ids = [_queue(svc, staff, f"m{n}") for n in range(3)]
        worker = make_worker(svc.settings, svc.engine)
        started = time.monotonic()
        await asyncio.wait_for(worker.drain(), 20)
        assert time.monotonic() - started < 5
        for message_id in ids:
            status, _, attempts = _delivery(svc, message_id)
            assert status == "queued" and attempts == 0
        assert "did not answer within 1 s" in (_delivery(svc, ids[0])[1] or "")
        (email,) = [h for h in channel_health(svc.engine) if h.channel is Channel.EMAIL]
        assert email.paused and "did not answer" in (email.reason or "") and email.waiting == 3
    finally:
        silent.stop()


async def test_a_twilio_api_that_never_answers_is_cut_off_and_the_text_is_not_sent(services: Services) -> None:
    """twilio's async client passes timeout=None to aiohttp: without a deadline of our own the send hangs past its
    lease, and a second worker sends the text again."""
    silent = SilentServer().start()
    try:
        twilio = FakeTwilio()
        svc = _with(services, sms=_twilio_settings(twilio, api_base_url=f"http://127.0.0.1:{silent.port}",
                                                   timeout_s=1.0))
        message_id = _queue(svc, _add_staff(svc, "Texter", "t@example.com", "+14155550123"), "gate code",
                            DeliveryMethod.SMS)
        worker = make_worker(svc.settings, svc.engine)
        await asyncio.wait_for(worker.drain(), 20)
        status, error, attempts = _delivery(svc, message_id, "sms")
        assert status == "queued" and attempts == 0
        assert error is not None and "did not answer within 1 s" in error
    finally:
        silent.stop()


class _AnswerThenCut:
    """An HTTP server that answers 201 and then cannot deliver its body (cut mid-way, or not JSON)."""

    def __init__(self, body: bytes, length: int) -> None:
        self.body, self.length = body, length
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            self.requests += 1
            writer.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % self.length + self.body)
            await writer.drain()
            writer.close()

        async def start() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> _AnswerThenCut:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.mark.parametrize(("body", "length"), [(b'{"sid": "SM12', 400), (b"<html>busy</html>", 17)],
                         ids=["body-cut-off", "body-not-json"])
async def test_a_2xx_whose_body_cannot_be_read_counts_as_sent(services: Services, body: bytes, length: int) -> None:
    server = _AnswerThenCut(body, length).start()
    try:
        twilio = FakeTwilio()
        svc = _with(services, sms=_twilio_settings(twilio, api_base_url=f"http://127.0.0.1:{server.port}"))
        message_id = _queue(svc, _add_staff(svc, "Texter", "t@example.com", "+14155550123"), "gate code",
                            DeliveryMethod.SMS)
        worker = make_worker(svc.settings, svc.engine)
        await asyncio.wait_for(worker.drain(), 20)
        assert _delivery(svc, message_id, "sms")[0] == "sent"
        await asyncio.wait_for(worker.drain(), 20)
        assert server.requests == 1  # never sent again
    finally:
        server.stop()


async def test_a_stuck_email_channel_never_holds_texts(services: Services) -> None:
    silent = SilentServer().start()
    twilio = FakeTwilio().start()
    stop = threading.Event()
    try:
        svc = _with(services, email={"port": silent.port, "timeout_s": 60.0}, sms=_twilio_settings(twilio))
        staff = _add_staff(svc, "Both Ways", "both@example.com", "+14155550123")
        _queue(svc, staff, "by email first")
        worker = make_worker(svc.settings, svc.engine)
        thread = threading.Thread(target=lambda: asyncio.run(worker.run(stop)), daemon=True)
        thread.start()
        # The email send is on the wire, waiting for a greeting that never comes.
        await wait_async(lambda: silent.accepted, "the email channel to dial the silent server")
        text = _queue(svc, staff, "text while email hangs", DeliveryMethod.SMS)
        await wait_async(lambda: _delivery(svc, text, "sms")[0] == "sent", "the text to go while email hangs")
    finally:
        worker.request_stop()
        await asyncio.to_thread(thread.join, 10)
        assert not thread.is_alive()
        silent.stop()
        twilio.stop()
