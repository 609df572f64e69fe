"""The gateway over real HTTP on loopback, with requests signed the way Twilio signs them."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from staff_feed_tui.core.media_token import make_media_token
from staff_feed_tui.core.types import DeliveryMethod
from staff_feed_tui.gateway.app import make_gateway_app
from staff_feed_tui.services import Services, queue_outgoing
from staff_feed_tui.store import outbox
from staff_feed_tui.store.feed import get_messages, iter_feed
from staff_feed_tui.store.inbound import list_triage
from staff_feed_tui.store.staff import find_staff, get_staff
from tests.rows import rows
from tests.twilio_signing import twilio_signature

pytestmark = pytest.mark.both_engines

PUBLIC = "https://feed.example.com"
TOKEN = "gateway-test-token"
SID = "AC" + "1" * 32


def configured(services: Services) -> Services:
    s = services.settings
    settings_ = s.model_copy(
        update={
            "sms": s.sms.model_copy(update={"account_sid": SID, "auth_token": SecretStr(TOKEN)}),
            "gateway": s.gateway.model_copy(update={"public_url": PUBLIC, "media_secret": SecretStr("media-key")}),
        }
    )
    return Services(settings_, services.engine, services.attachments, services.dispatcher)


@asynccontextmanager
async def serving(svc: Services) -> AsyncIterator[TestClient]:
    """The gateway app for `svc` on a loopback port, and a client of it."""
    client = TestClient(TestServer(make_gateway_app(svc.settings, svc.engine, svc.attachments), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def gateway(services: Services) -> AsyncIterator[tuple[TestClient, Services]]:
    svc = configured(services)
    async with serving(svc) as client:
        yield client, svc


async def post_signed(client: TestClient, path: str, params: dict[str, str], *, token: str = TOKEN,
                      signature: str | None = None):  # type: ignore[no-untyped-def]
    sig = signature if signature is not None else twilio_signature(token, PUBLIC + path, params)
    headers = {"X-Twilio-Signature": sig} if sig else {}
    return await client.post(path, data=params, headers=headers)


def inbound(sid: str, sender: str = "+14155550101", body: str = "Running late", **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": SID, "From": sender, "To": "+14155550100", "Body": body,
            "NumMedia": "0", **extra}


def snapshot(services: Services) -> tuple:  # type: ignore[type-arg]
    return tuple(
        rows(services.engine, f"SELECT * FROM {table} ORDER BY 1")
        for table in ("message", "attachment", "delivery", "staff", "inbound_triage")
    )


def test_our_signer_matches_twilios_validator() -> None:
    params = {"Body": "hi & bye", "From": "+14155550101", "MessageSid": "SM1", "NumMedia": "0"}
    signature = twilio_signature(TOKEN, PUBLIC + "/twilio/sms?x=1", params)
    validator = RequestValidator(TOKEN)
    assert validator.validate(PUBLIC + "/twilio/sms?x=1", params, signature)
    assert not validator.validate(PUBLIC + "/twilio/sms", params, signature)
    assert not RequestValidator("other").validate(PUBLIC + "/twilio/sms?x=1", params, signature)


async def test_inbound_text_lands_in_the_feed_verbatim(gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    body = "[bold]Gate[/bold] code? \x1b[31m <script>"
    response = await post_signed(client, "/twilio/sms", inbound("SM" + "a" * 32, "(415) 555-0101", body))
    assert response.status == 200
    assert response.content_type == "text/xml"
    assert (await response.text()).endswith("<Response></Response>")
    dana = find_staff(svc.engine, "dana@example.com")
    (message,) = list(iter_feed(svc.engine, dana.id))
    assert message.direction.value == "in" and message.body == body


@pytest.mark.parametrize("signature", ["", "forged+signature=", "wrong-token"])
async def test_forged_or_missing_signature_is_403_and_stores_nothing(gateway, signature: str) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    before = snapshot(svc)
    params = inbound("SM" + "b" * 32)
    if signature == "wrong-token":
        response = await post_signed(client, "/twilio/sms", params, token="not-the-token")
    else:
        response = await post_signed(client, "/twilio/sms", params, signature=signature)
    assert response.status == 403
    status = await post_signed(client, "/twilio/status", {"MessageSid": "SMx", "MessageStatus": "delivered"},
                               signature=signature or "")
    assert status.status == 403
    assert snapshot(svc) == before


async def test_signature_over_a_different_url_is_refused(gateway) -> None:  # type: ignore[no-untyped-def]
    client, _svc = gateway
    params = inbound("SM" + "c" * 32)
    signature = twilio_signature(TOKEN, "https://evil.example.com/twilio/sms", params)
    assert (await post_signed(client, "/twilio/sms", params, signature=signature)).status == 403


async def test_malformed_signed_requests_are_400(gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    before = snapshot(svc)
    assert (await post_signed(client, "/twilio/sms", {"Body": "no sid"})).status == 400
    assert (await post_signed(client, "/twilio/sms", inbound("SM1", sender="not a number"))).status == 400
    assert (await post_signed(client, "/twilio/sms", inbound("SM2", NumMedia="lots"))).status == 400
    assert (await post_signed(client, "/twilio/status", {"MessageSid": "SM3"})).status == 400
    assert snapshot(svc) == before


async def test_replayed_and_racing_webhooks_store_once(gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    params = inbound("SM" + "d" * 32, body="once only")
    first = await post_signed(client, "/twilio/sms", params)
    again = await post_signed(client, "/twilio/sms", params)
    racing = await asyncio.gather(*(post_signed(client, "/twilio/sms", inbound("SM" + "e" * 32)) for _ in range(8)))
    assert first.status == again.status == 200
    assert all(r.status == 200 for r in racing)
    dana = find_staff(svc.engine, "dana@example.com")
    bodies = [m.body for m in iter_feed(svc.engine, dana.id)]
    assert bodies.count("once only") == 1
    assert bodies.count("Running late") == 1


async def test_unknown_number_goes_to_triage(gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    response = await post_signed(client, "/twilio/sms", inbound("SM" + "f" * 32, "+14155559999", "who dis"))
    assert response.status == 200
    (entry,) = list_triage(svc.engine)
    assert (entry.from_number, entry.body) == ("+14155559999", "who dis")
    for staff in ("dana@example.com", "sam@example.com", "priya@example.com"):
        assert list(iter_feed(svc.engine, find_staff(svc.engine, staff).id)) == []


async def test_stop_and_start(gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    dana = find_staff(svc.engine, "dana@example.com")
    await post_signed(client, "/twilio/sms", inbound("SM" + "1" * 32, body="stop"))
    staff = get_staff(svc.engine, dana.id)
    assert staff.sms_opted_out and staff.sms_opted_out_at is not None
    await post_signed(client, "/twilio/sms", inbound("SM" + "2" * 32, body="please stop texting me at night"))
    assert get_staff(svc.engine, dana.id).sms_opted_out  # not alone in the text: an ordinary message
    await post_signed(client, "/twilio/sms", inbound("SM" + "3" * 32, body=" START "))
    assert not get_staff(svc.engine, dana.id).sms_opted_out
    assert len(list(iter_feed(svc.engine, dana.id))) == 3  # the keywords are kept in the feed too


async def test_mms_with_two_media_from_a_loopback_media_server(gateway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    photo, pdf = b"\xff\xd8\xff" + os.urandom(3000), b"%PDF-1.4" + os.urandom(2000)
    seen_auth = []

    async def serve(request: web.Request) -> web.Response:
        seen_auth.append(request.headers.get("Authorization", ""))
        data = {"/media/ME1": (photo, "image/jpeg"), "/media/ME2": (pdf, "application/pdf"),
                "/media/ME3": (b"x" * 10, "application/x-msdownload")}[request.path]
        return web.Response(body=data[0], content_type=data[1])

    app = web.Application()
    app.router.add_get("/media/{name}", serve)
    media = TestServer(app, host="127.0.0.1")
    await media.start_server()
    try:
        base = f"http://127.0.0.1:{media.port}/media"
        params = inbound("SM" + "9" * 32, body="photos of the gate", NumMedia="3",
                         MediaUrl0=f"{base}/ME1", MediaContentType0="image/jpeg",
                         MediaUrl1=f"{base}/ME2", MediaContentType1="application/pdf",
                         MediaUrl2=f"{base}/ME3", MediaContentType2="application/x-msdownload")
        assert (await post_signed(client, "/twilio/sms", params)).status == 200
    finally:
        await media.close()
    dana = find_staff(svc.engine, "dana@example.com")
    (message,) = list(iter_feed(svc.engine, dana.id))
    assert [(a.mime_type, a.size) for a in message.attachments] == [("image/jpeg", len(photo)),
                                                                     ("application/pdf", len(pdf))]
    stored = [svc.attachments.path_of(f"{a.sha256[:2]}/{a.sha256}").read_bytes() for a in message.attachments]
    assert stored == [photo, pdf]
    assert all(h.startswith("Basic ") for h in seen_auth) and len(seen_auth) == 2  # the refused type is not fetched
    (raw,) = get_messages(svc.engine, [message.id])
    ((note,),) = rows(svc.engine, "SELECT note FROM message WHERE id = :id", id=raw.id)
    assert "file 3 (application/x-msdownload) is not a type staff-feed keeps" in note


async def test_status_callbacks_move_forward_only(gateway) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    dana = find_staff(svc.engine, "dana@example.com")
    message_id = queue_outgoing(svc, staff=dana, body="x", method=DeliveryMethod.SMS)
    (claimed,) = outbox.claim_due_deliveries(svc.engine, svc.attachments.root, owner="t")
    outbox.record_sent(svc.engine, claimed.delivery_id, "t", "SMout1")

    def status() -> tuple[str, str | None]:
        (d,) = get_messages(svc.engine, [message_id])[0].deliveries
        return d.status.value, d.last_error

    for value in ("delivered", "sent", "sending", "queued"):  # the late "sent" arrives after "delivered"
        assert (await post_signed(client, "/twilio/status", {"MessageSid": "SMout1", "MessageStatus": value})).status == 204
    assert status() == ("delivered", None)
    assert (await post_signed(client, "/twilio/status", {"MessageSid": "SMnone", "MessageStatus": "sent"})).status == 204

    message2 = queue_outgoing(svc, staff=dana, body="y", method=DeliveryMethod.SMS)
    (claimed,) = outbox.claim_due_deliveries(svc.engine, svc.attachments.root, owner="t")
    outbox.record_sent(svc.engine, claimed.delivery_id, "t", "SMout2")
    await post_signed(client, "/twilio/status", {"MessageSid": "SMout2", "MessageStatus": "undelivered",
                                                 "ErrorCode": "30006"})
    (d,) = get_messages(svc.engine, [message2])[0].deliveries
    assert (d.status.value, d.last_error) == ("failed", "30006 landline or unreachable carrier")


async def test_media_tokens(gateway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, svc = gateway
    photo = tmp_path / "gate.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + os.urandom(500))
    dana = find_staff(svc.engine, "dana@example.com")
    message_id = queue_outgoing(svc, staff=dana, body="photo", attachments=[photo])
    (attachment,) = get_messages(svc.engine, [message_id])[0].attachments
    good = make_media_token(b"media-key", attachment.id, int(time.time()) + 60)
    response = await client.get(f"/media/{good}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert await response.read() == photo.read_bytes()
    tampered = good.replace(f"{attachment.id}.", f"{attachment.id + 1}.", 1)
    expired = make_media_token(b"media-key", attachment.id, int(time.time()) - 1)
    other_key = make_media_token(b"other-key", attachment.id, int(time.time()) + 60)
    for token in (tampered, expired, other_key, "1.2", good + "x", "%2e%2e%2fetc%2fpasswd"):
        assert (await client.get(f"/media/{token}")).status == 403, token
    traversal = await client.get("/media/../../etc/passwd")
    assert traversal.status == 404  # normalised to /etc/passwd, which is no route
    assert (await client.get("/healthz")).status == 200


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@given(
    form=st.dictionaries(
        st.sampled_from(["MessageSid", "From", "Body", "NumMedia", "MediaUrl0", "MediaContentType0", "To",
                         "MessageStatus", "ErrorCode", "SmsSid", "x"]) | _text,
        _text,
        max_size=8,
    ),
    headers=st.dictionaries(st.sampled_from(["X-Twilio-Signature", "Content-Type", "X-Forwarded-Proto"]),
                            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
                            max_size=3),
    path=st.sampled_from(["/twilio/sms", "/twilio/status", "/twilio/sms?x=1"]),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_requests_never_5xx_and_store_nothing_unsigned(services: Services, form, headers, path) -> None:  # type: ignore[no-untyped-def]
    svc = configured(services)

    async def run() -> int:
        client = TestClient(TestServer(make_gateway_app(svc.settings, svc.engine, svc.attachments), host="127.0.0.1"))
        await client.start_server()
        try:
            body = urlencode(form).encode()
            response = await client.post(
                path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded", **headers}
            )
            return response.status
        finally:
            await client.close()

    before = snapshot(svc)
    status = asyncio.run(run())
    assert status < 500
    assert status == 403  # no valid signature can come out of random text
    assert snapshot(svc) == before
