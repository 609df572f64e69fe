"""SMS through the real twilio client against a loopback server that plays Twilio's REST API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from staff_feed_tui.core.media_token import read_media_token
from staff_feed_tui.core.types import DeliveryMethod
from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.services import Services, queue_outgoing
from staff_feed_tui.store.feed import get_messages
from staff_feed_tui.store.staff import find_staff, get_staff
from tests.fake_twilio import FakeTwilio


@pytest.fixture
def twilio():  # type: ignore[no-untyped-def]
    server = FakeTwilio().start()
    yield server
    server.stop()


def _with_twilio(services: Services, twilio: FakeTwilio, **sms: object) -> Services:
    s = services.settings
    settings = s.model_copy(
        update={
            "sms": s.sms.model_copy(
                update={
                    "transport": "twilio",
                    "account_sid": twilio.account_sid,
                    "auth_token": SecretStr(twilio.auth_token),
                    "from_number": "+14155550100",
                    "api_base_url": twilio.base_url,
                    "status_callback": True,
                    **sms,
                }
            ),
            "gateway": s.gateway.model_copy(
                update={"public_url": "https://feed.example.com", "media_secret": SecretStr("media-secret")}
            ),
            "delivery": s.delivery.model_copy(update={"sms_rate_per_s": 0}),
        }
    )
    return Services(settings, services.engine, services.attachments, services.dispatcher)


def _sms_status(services: Services, message_id: int) -> tuple[str, str | None, str | None]:
    (message,) = get_messages(services.engine, [message_id])
    (d,) = [d for d in message.deliveries if d.channel.value == "sms"]
    return d.status.value, d.last_error, d.provider_id


async def test_sms_with_media_and_status_callback(services: Services, twilio: FakeTwilio, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Region/edge variables in the environment must not move the API host.
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    services = _with_twilio(services, twilio)
    photo = tmp_path / "gate.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + os.urandom(1000))
    dana = find_staff(services.engine, "dana@example.com")
    message_id = queue_outgoing(services, staff=dana, body="Gate code 4417", attachments=[photo],
                                method=DeliveryMethod.SMS)
    assert await make_worker(services.settings, services.engine).drain() == 1
    (call,) = twilio.wait_for(1)
    assert call.account == twilio.account_sid
    assert call.one("To") == "+14155550101"
    assert call.one("From") == "+14155550100"
    assert call.one("Body") == "Gate code 4417"
    assert call.one("StatusCallback") == "https://feed.example.com/twilio/status"
    (media,) = call.form["MediaUrl"]
    assert media.startswith("https://feed.example.com/media/")
    token = media.rsplit("/", 1)[1]
    (attachment,) = get_messages(services.engine, [message_id])[0].attachments
    assert read_media_token(b"media-secret", token, now=0) == attachment.id
    assert "/" not in token and "gate.jpg" not in token
    status, error, sid = _sms_status(services, message_id)
    assert (status, error) == ("sent", None)
    assert sid is not None and sid.startswith("SM")


async def test_messaging_service_sid_is_the_sender(services: Services, twilio: FakeTwilio) -> None:
    services = _with_twilio(services, twilio, messaging_service_sid="MG" + "1" * 32)
    dana = find_staff(services.engine, "dana@example.com")
    queue_outgoing(services, staff=dana, body="hi", method=DeliveryMethod.SMS)
    await make_worker(services.settings, services.engine).drain()
    (call,) = twilio.wait_for(1)
    assert call.one("MessagingServiceSid") == "MG" + "1" * 32
    assert call.one("From") is None


async def test_mms_without_public_url_is_refused_with_a_reason(services: Services, twilio: FakeTwilio,
                                                               tmp_path: Path) -> None:
    services = _with_twilio(services, twilio)
    settings = services.settings.model_copy(
        update={"gateway": services.settings.gateway.model_copy(update={"public_url": None})}
    )
    services = Services(settings, services.engine, services.attachments, services.dispatcher)
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    dana = find_staff(services.engine, "dana@example.com")
    message_id = queue_outgoing(services, staff=dana, body="x", attachments=[photo], method=DeliveryMethod.SMS)
    await make_worker(services.settings, services.engine).drain()
    status, error, _ = _sms_status(services, message_id)
    assert status == "failed" and error is not None and "gateway.public_url" in error
    assert twilio.calls == []


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        ((429, 20429), "queued", "Twilio is rate limiting"),
        ((503, None), "queued", "Twilio error 503"),
        ((400, 21211), "failed", "21211 not a valid mobile number"),
        ((400, 30006), "failed", "30006 landline or unreachable carrier"),
        ((400, 21610), "failed", "21610 the staff member replied STOP"),
    ],
)
async def test_classification(services: Services, twilio: FakeTwilio, answer: tuple[int, int | None], status: str,
                              words: str) -> None:
    services = _with_twilio(services, twilio)
    dana = find_staff(services.engine, "dana@example.com")
    twilio.script["+14155550101"] = [answer]
    message_id = queue_outgoing(services, staff=dana, body="x", method=DeliveryMethod.SMS)
    await make_worker(services.settings, services.engine).run_once()
    got_status, error, _ = _sms_status(services, message_id)
    assert got_status == status
    assert error is not None and words in error
    assert len(twilio.calls) == 1  # never the client's own retry
    opted_out = get_staff(services.engine, dana.id).sms_opted_out
    assert opted_out is (answer[1] == 21610)


async def test_twilio_unreachable_is_transient(services: Services, twilio: FakeTwilio) -> None:
    twilio.stop()
    services = _with_twilio(services, twilio)
    dana = find_staff(services.engine, "dana@example.com")
    message_id = queue_outgoing(services, staff=dana, body="x", method=DeliveryMethod.SMS)
    await make_worker(services.settings, services.engine).run_once()
    status, error, _ = _sms_status(services, message_id)
    assert status == "queued" and error is not None and "Twilio unreachable" in error


async def test_rate_cap_spaces_sends(services: Services, twilio: FakeTwilio) -> None:
    import time

    services = _with_twilio(services, twilio)
    settings = services.settings.model_copy(
        update={"delivery": services.settings.delivery.model_copy(update={"sms_rate_per_s": 20})}
    )
    dana = find_staff(services.engine, "dana@example.com")
    for n in range(6):
        queue_outgoing(services, staff=dana, body=f"m{n}", method=DeliveryMethod.SMS)
    start = time.monotonic()
    await make_worker(settings, services.engine).drain()
    elapsed = time.monotonic() - start
    assert len(twilio.wait_for(6)) == 6
    assert elapsed >= 5 / 20 * 0.9  # six starts at 20/s span at least five intervals


async def test_batches_follow_one_another_and_none_is_left_sending(services: Services, twilio: FakeTwilio) -> None:
    """More texts than one turn of batches: each batch is claimed while the last is still in flight, every text
    goes out once, and nothing is left marked as sending."""
    from collections import Counter

    from staff_feed_tui.delivery.worker import MAX_BATCHES_PER_TURN

    services = _with_twilio(services, twilio)
    dana = find_staff(services.engine, "dana@example.com")
    total = 20 * MAX_BATCHES_PER_TURN + 30
    for n in range(total):
        queue_outgoing(services, staff=dana, body=f"text {n}", method=DeliveryMethod.SMS)
    worker = make_worker(services.settings, services.engine)
    worker.batch_size = 20

    def statuses() -> Counter[str]:
        with services.engine.connect() as conn:
            return Counter(s for (s,) in conn.exec_driver_sql("SELECT status FROM delivery WHERE channel = 'sms'"))

    assert await worker.run_once() == 20 * MAX_BATCHES_PER_TURN
    assert statuses() == Counter({"sent": 20 * MAX_BATCHES_PER_TURN, "queued": 30})
    assert await worker.drain() == 30
    assert statuses() == Counter({"sent": total})
    bodies = [call.one("Body") for call in twilio.wait_for(total)]
    assert sorted(bodies) == sorted(f"text {n}" for n in range(total))
