"""Inbound email through a real LMTP conversation (smtplib.LMTP against mail-in's aiosmtpd server): replies in the
shapes real clients write land in the right feed without their quoted history; matching by signed token, by From,
else Unknown senders; attachments checked; dedupe by Message-ID; 4xx when the email could not be stored."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import smtplib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from staff_feed_tui.cli import main
from staff_feed_tui.core.reply_address import AddressKind, bounce_address, read_address, reply_address
from staff_feed_tui.core.safe_text import safe_text
from staff_feed_tui.core.types import Channel, DeliveryMethod, Direction
from staff_feed_tui.mail_in.lmtp import start_lmtp
from staff_feed_tui.mail_in.parse import parse_mail
from staff_feed_tui.services import Services, queue_outgoing
from staff_feed_tui.services.inbound_email import original_email, receive_returned_mail
from staff_feed_tui.store.feed import iter_feed
from staff_feed_tui.store.inbound import list_triage
from staff_feed_tui.store.staff import find_staff
from tests import mail_fixtures as fx
from tests.mail_setup import DOMAIN, SECRET, open_mail_services, received, staff_id, token_for


@pytest.fixture
def mail_services(tmp_path: Path) -> Iterator[Services]:
    svc = open_mail_services(tmp_path / "data")
    yield svc
    svc.close()


class Lmtp:
    def __init__(self, port: int) -> None:
        self.port = port

    async def send(self, raw: bytes, rcpt: str = "replies@paws.example") -> dict:
        def go() -> dict:
            with smtplib.LMTP("127.0.0.1", self.port) as client:
                return client.sendmail("someone@example.com", [rcpt], raw)

        return await asyncio.to_thread(go)


@pytest.fixture
async def lmtp(mail_services: Services) -> AsyncIterator[Lmtp]:
    server = await start_lmtp(mail_services, "127.0.0.1", 0)
    yield Lmtp(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize(
    ("build", "sender", "text"),
    [
        (fx.gmail_reply, "dana@example.com", "Yes, I can take it."),
        (fx.outlook_reply, "sam@example.com", "Sure, I will be there."),
        (fx.apple_reply, "priya@example.com", "On my way."),
        (fx.html_only_reply, "dana@example.com", "Running 10 minutes late.\n\nDana"),
    ],
    ids=["gmail", "outlook", "apple-mail", "html-only"],
)
async def test_a_reply_lands_in_the_feed_its_token_names_without_the_quoted_text(
    mail_services: Services, lmtp: Lmtp, build, sender: str, text: str
) -> None:
    # The token names the staff member, whatever address it came from.
    assert await lmtp.send(build(token_for(mail_services, sender))) == {}
    [message] = received(mail_services, sender)
    assert message.body == text
    assert "wrote:" not in message.body and fx.QUOTED not in message.body and "Sent from my" not in message.body
    assert message.received_by is Channel.EMAIL and message.channel == "email"
    whole = original_email(mail_services, message.id)
    assert whole is not None and text.splitlines()[0] in whole and fx.QUOTED in whole  # v shows the whole original


async def test_a_forged_token_is_never_trusted_and_goes_to_unknown_senders_with_the_reason(
    mail_services: Services, lmtp: Lmtp
) -> None:
    good = token_for(mail_services, "dana@example.com")
    forged = good.replace(good.split(".")[1][:4], "ffff" if not good.split(".")[1].startswith("ffff") else "0000")
    await lmtp.send(fx.gmail_reply(forged, from_addr="dana@example.com"))
    assert received(mail_services, "dana@example.com") == []  # not even the From address is trusted then
    [entry] = list_triage(mail_services.engine)
    assert entry.channel == "email" and entry.from_number == "dana@example.com"
    assert "signature that does not check" in (entry.note or "")


async def test_without_a_token_the_from_address_matches_else_unknown_senders(
    mail_services: Services, lmtp: Lmtp
) -> None:
    await lmtp.send(fx.gmail_reply("dispatch@paws.example", from_addr="SAM@Example.com", message_id="<a@x>"))
    assert [m.body for m in received(mail_services, "sam@example.com")] == ["Yes, I can take it."]
    await lmtp.send(fx.gmail_reply("dispatch@paws.example", from_addr="stranger@example.org", message_id="<b@x>"))
    [entry] = list_triage(mail_services.engine)
    assert entry.from_number == "stranger@example.org" and entry.body == "Yes, I can take it."
    assert "no staff member has the address stranger@example.org" in (entry.note or "")


async def test_a_message_handed_over_twice_or_at_once_is_stored_once(mail_services: Services, lmtp: Lmtp) -> None:
    raw = fx.apple_reply(token_for(mail_services, "priya@example.com"))
    answers = await asyncio.gather(*(lmtp.send(raw) for _ in range(4)))
    assert answers == [{}] * 4  # every copy is acknowledged: the MTA must not keep retrying a duplicate
    assert len(received(mail_services, "priya@example.com")) == 1


async def test_attachments_are_stored_with_the_media_checks(tmp_path: Path) -> None:
    svc = open_mail_services(tmp_path / "data", max_attachment_bytes=1000)
    server = await start_lmtp(svc, "127.0.0.1", 0)
    lmtp = Lmtp(server.sockets[0].getsockname()[1])
    try:
        to = token_for(svc, "dana@example.com")
        await lmtp.send(fx.reply_with_attachment(to, filename="../../etc/gate\x1b[31m.png", message_id="<1@x>"))
        await lmtp.send(fx.reply_with_attachment(to, filename="setup.exe", mime="application/x-msdownload",
                                                 message_id="<2@x>"))
        await lmtp.send(fx.reply_with_attachment(to, data=b"x" * 2000, filename="big.png", message_id="<3@x>"))
    finally:
        server.close()
        await server.wait_closed()
    first, exe, big = received(svc, "dana@example.com")
    [kept] = first.attachments
    assert kept.filename == "gate\\x1b[31m.png" and kept.mime_type == "image/png"  # no folders, no escape
    assert svc.attachments.path_of(f"{kept.sha256[:2]}/{kept.sha256}").read_bytes() == b"\x89PNG\r\n\x1a\nfake"
    assert exe.attachments == () and "setup.exe (application/x-msdownload) is not a type" in (exe.note or "")
    assert big.attachments == () and "over the email limit" in (big.note or "")
    svc.close()


async def test_lmtp_answers_4xx_when_the_email_cannot_be_stored_and_250_once_it_can(
    mail_services: Services, lmtp: Lmtp
) -> None:
    raw = fx.gmail_reply(token_for(mail_services, "dana@example.com"))
    store_root = mail_services.attachments.root
    store_root.parent.mkdir(parents=True, exist_ok=True)
    if store_root.exists():
        store_root.rmdir()
    store_root.write_text("a file where the attachment store should be")  # as a full or broken disk fails
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await lmtp.send(raw)
    assert 400 <= refused.value.smtp_code < 500
    assert received(mail_services, "dana@example.com") == []
    store_root.unlink()
    assert await lmtp.send(raw) == {}
    assert len(received(mail_services, "dana@example.com")) == 1


async def test_an_out_of_office_is_a_note_under_the_message_it_answers_not_a_new_message(
    mail_services: Services, lmtp: Lmtp
) -> None:
    dana = find_staff(mail_services.engine, "dana@example.com")
    first = queue_outgoing(mail_services, staff=dana, body="Walk at 9?", method=DeliveryMethod.EMAIL)
    queue_outgoing(mail_services, staff=dana, body="And at 5?", method=DeliveryMethod.EMAIL)
    in_reply_to = f"<staff-feed.{first}.1@paws.example>"
    await lmtp.send(fx.out_of_office(token_for(mail_services, "dana@example.com"), in_reply_to=in_reply_to))
    feed = list(iter_feed(mail_services.engine, dana.id))
    assert [m.direction for m in feed] == [Direction.OUT, Direction.OUT]  # no new (unread) message
    assert feed[0].note == "auto-reply: I am out of the office until Monday 7 December with no access to email."
    assert feed[1].note is None


async def test_a_reply_shows_as_data_never_markup_or_escapes(mail_services: Services, lmtp: Lmtp) -> None:
    text = "[bold]hi[/bold] \x1b]0;owned\x07 \u202eevil"
    await lmtp.send(fx.gmail_reply(token_for(mail_services, "dana@example.com"), text=text))
    [message] = received(mail_services, "dana@example.com")
    shown = safe_text(message.body)
    assert "[bold]hi[/bold]" in shown and "\x1b" not in shown and "\u202e" not in shown


def test_feed_json_gives_every_message_a_channel(mail_services: Services, tmp_path: Path) -> None:
    dana = find_staff(mail_services.engine, "dana@example.com")
    queue_outgoing(mail_services, staff=dana, body="both ways", method=DeliveryMethod.BOTH)
    raw = fx.gmail_reply(token_for(mail_services, "dana@example.com"))
    receive_returned_mail(mail_services, parse_mail(raw), raw)
    data_dir = mail_services.settings.data_dir
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["feed", "--data-dir", str(data_dir), "dana@example.com"]) == 0
    assert [(m["direction"], m["channel"]) for m in json.loads(out.getvalue())] == [("out", "both"), ("in", "email")]
    for flag, wanted in (("email", ["out", "in"]), ("sms", ["out"])):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["feed", "--data-dir", str(data_dir), "dana@example.com", "--channel", flag]) == 0
        assert [m["direction"] for m in json.loads(out.getvalue())] == wanted


def test_the_bounce_address_and_reply_token_name_what_they_sign() -> None:
    assert read_address(reply_address(7, SECRET, DOMAIN), SECRET, DOMAIN).ident == 7
    bounce = read_address(bounce_address(42, SECRET, DOMAIN), SECRET, DOMAIN)
    assert (bounce.kind, bounce.ident) == (AddressKind.BOUNCE, 42)
    assert read_address(bounce_address(42, b"other", DOMAIN), SECRET, DOMAIN).kind is AddressKind.FORGED
    assert read_address(reply_address(7, SECRET, "evil.example"), SECRET, DOMAIN).kind is AddressKind.OTHER
    # A signature for one staff member never names another.
    token = reply_address(7, SECRET, DOMAIN).replace("reply+7.", "reply+8.")
    assert read_address(token, SECRET, DOMAIN).kind is AddressKind.FORGED


async def test_a_good_token_for_a_staff_member_who_is_gone_goes_to_unknown_senders(
    mail_services: Services, lmtp: Lmtp
) -> None:
    await lmtp.send(fx.gmail_reply(reply_address(999, SECRET, DOMAIN), from_addr="old@example.com"))
    [entry] = list_triage(mail_services.engine)
    assert entry.note == "the reply token names staff member 999, who no longer exists"


async def test_an_email_assigned_from_unknown_senders_joins_the_feed_as_an_email(
    mail_services: Services, lmtp: Lmtp
) -> None:
    from staff_feed_tui.store.inbound import assign_triage

    await lmtp.send(fx.outlook_reply("dispatch@paws.example", from_addr="sam.private@example.org"))
    [entry] = list_triage(mail_services.engine)
    message_id = assign_triage(mail_services.engine, entry.id, staff_id(mail_services, "sam@example.com"), "alex")
    [message] = received(mail_services, "sam@example.com")
    assert (message.id, message.channel, message.body) == (message_id, "email", "Sure, I will be there.")
    assert fx.QUOTED in (original_email(mail_services, message_id) or "")
