"""Bounces: an email sent through a real SMTP server (aiosmtpd) carries the VERP envelope sender; a DSN as Postfix or
Exchange writes it, to that address or (rewritten on the way) matched by the returned Message-ID, turns the delivery
into `bounced` with the reason in words; a delay is a note; a forged address changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from staff_feed_tui.cli import main
from staff_feed_tui.core.reply_address import bounce_address
from staff_feed_tui.core.types import DeliveryStatus, can_move
from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.mail_in.ingest import ingest
from staff_feed_tui.mail_in.lmtp import start_lmtp
from staff_feed_tui.services import Services, queue_outgoing
from staff_feed_tui.services.inbound_email import Landed
from staff_feed_tui.store.feed import iter_feed
from staff_feed_tui.store.inbound import apply_status
from staff_feed_tui.store.staff import find_staff
from tests import mail_fixtures as fx
from tests.mail_setup import DOMAIN, SECRET, open_mail_services
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def sent(tmp_path: Path, smtp: SmtpServer) -> Iterator[tuple[Services, int, str, str]]:
    """One email to Dana, sent through the SMTP server: (services, message id, envelope sender, Message-ID)."""
    svc = open_mail_services(tmp_path / "data", transport="smtp", host="127.0.0.1", port=smtp.port, security="none")
    dana = find_staff(svc.engine, "dana@example.com")
    message_id = queue_outgoing(svc, staff=dana, body="Walk at 9?")
    asyncio.run(make_worker(svc.settings, svc.engine).drain())
    [(mail_from, _)] = smtp.handler.envelopes
    yield svc, message_id, mail_from, smtp.handler.message_ids[0]
    svc.close()


def email_delivery(svc: Services, message_id: int):  # type: ignore[no-untyped-def]
    [message] = [m for m in iter_feed(svc.engine, find_staff(svc.engine, "dana@example.com").id) if m.id == message_id]
    return message, next(d for d in message.deliveries if d.channel.value == "email")


def test_the_envelope_sender_is_the_signed_bounce_address_of_the_delivery(sent) -> None:
    svc, message_id, mail_from, _ = sent
    _, delivery = email_delivery(svc, message_id)
    assert delivery.status is DeliveryStatus.SENT
    assert mail_from == bounce_address(delivery.id, SECRET, DOMAIN)


async def test_a_postfix_dsn_through_lmtp_bounces_the_delivery_with_the_reason(sent) -> None:
    svc, message_id, mail_from, _ = sent
    server = await start_lmtp(svc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    def hand_over() -> dict:
        with smtplib.LMTP("127.0.0.1", port) as client:
            return client.sendmail("", [mail_from], fx.postfix_dsn(mail_from, original_id="<not-ours@x>"))

    try:
        assert await asyncio.to_thread(hand_over) == {}
    finally:
        server.close()
        await server.wait_closed()
    message, delivery = email_delivery(svc, message_id)
    assert delivery.status is DeliveryStatus.BOUNCED and delivery.status.label == "BOUNCED"
    assert delivery.last_error == ("550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in "
                                   "local recipient table")
    assert [m.id for m in iter_feed(svc.engine, message.staff_id)] == [message_id]  # no new message


def test_an_exchange_ndr_to_a_rewritten_address_is_matched_by_the_returned_message_id(sent) -> None:
    svc, message_id, _, original = sent
    assert ingest(svc, fx.exchange_dsn("bounces@relay.example", original_id=original)).landed is Landed.BOUNCED
    _, delivery = email_delivery(svc, message_id)
    assert delivery.status is DeliveryStatus.BOUNCED
    assert delivery.last_error == ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
                                   "address lookup")


def test_a_delayed_dsn_is_a_note_not_a_failure(sent) -> None:
    svc, message_id, mail_from, _ = sent
    raw = fx.postfix_dsn(mail_from, action="delayed", status="4.4.1",
                         diagnostic="smtp; 451 4.4.1 connection timed out")
    assert ingest(svc, raw).landed is Landed.NOTE
    message, delivery = email_delivery(svc, message_id)
    assert delivery.status is DeliveryStatus.SENT
    assert message.note == "email delayed: 451 4.4.1 connection timed out"


def test_a_bounce_after_a_delivery_receipt_still_bounces_and_is_final(sent) -> None:
    svc, message_id, mail_from, _ = sent
    _, delivery = email_delivery(svc, message_id)
    apply_status(svc.engine, sid=delivery.provider_id or "", status="delivered")  # a receipt came first
    assert ingest(svc, fx.postfix_dsn(mail_from)).landed is Landed.BOUNCED
    assert email_delivery(svc, message_id)[1].status is DeliveryStatus.BOUNCED
    assert not can_move(DeliveryStatus.BOUNCED, DeliveryStatus.DELIVERED)
    assert not can_move(DeliveryStatus.QUEUED, DeliveryStatus.BOUNCED)
    assert not can_move(DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)
    assert can_move(DeliveryStatus.DELIVERED, DeliveryStatus.BOUNCED)


def test_a_forged_bounce_address_changes_nothing(sent) -> None:
    svc, message_id, _, original = sent
    _, delivery = email_delivery(svc, message_id)
    forged = bounce_address(delivery.id, b"not-the-secret", DOMAIN)
    # Not even the returned Message-ID is trusted with a forged address.
    assert ingest(svc, fx.postfix_dsn(forged, original_id=original)).landed is Landed.UNMATCHED
    assert email_delivery(svc, message_id)[1].status is DeliveryStatus.SENT


def test_feed_status_bounced_and_failed_include_it(sent) -> None:
    svc, message_id, mail_from, _ = sent
    dana = find_staff(svc.engine, "dana@example.com")
    queue_outgoing(svc, staff=dana, body="not bounced")
    ingest(svc, fx.postfix_dsn(mail_from))
    for status in ("bounced", "failed"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["feed", "--data-dir", str(svc.settings.data_dir), "dana", "--status", status]) == 0
        assert [m["id"] for m in json.loads(out.getvalue())] == [message_id]
