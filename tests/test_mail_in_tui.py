"""What the app shows of inbound email: a bounce in the feed (in words) and on the staff list, an email reply
marked as such, with a toast that says email; and any bytes at all parse without an exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from staff_feed_tui.core.types import DeliveryMethod
from staff_feed_tui.mail_in.ingest import ingest
from staff_feed_tui.mail_in.parse import parse_mail
from staff_feed_tui.services import queue_outgoing
from staff_feed_tui.store import outbox
from staff_feed_tui.store.staff import find_staff
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.widgets.feed_view import FeedView
from staff_feed_tui.tui.widgets.staff_list import StaffList
from tests import mail_fixtures as fx
from tests.mail_setup import DOMAIN, SECRET, open_mail_services, token_for
from tests.waiting import wait_for


async def test_a_bounce_shows_in_the_feed_and_the_staff_list_and_a_reply_says_email(tmp_path: Path) -> None:
    from staff_feed_tui.core.reply_address import bounce_address

    svc = open_mail_services(tmp_path / "data")
    dana = find_staff(svc.engine, "dana@example.com")
    queue_outgoing(svc, staff=dana, body="Walk at 9?", method=DeliveryMethod.EMAIL)
    [item] = outbox.claim_due_deliveries(svc.engine, svc.attachments.root, owner="t")
    outbox.record_sent(svc.engine, item.delivery_id, "t", "<p@x>")
    app = make_app(svc, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        staff_list = app.screen.query_one(StaffList)
        feed = app.screen.query_one(FeedView)
        await wait_for(pilot, lambda: len(staff_list.staff) == 3, "the staff list")
        await wait_for(pilot, lambda: "Walk at 9?" in "\n".join(feed.rendered_lines()), "Dana's feed")
        ingest(svc, fx.postfix_dsn(bounce_address(item.delivery_id, SECRET, DOMAIN)))
        await wait_for(pilot, lambda: "email: BOUNCED (550 5.1.1" in "\n".join(feed.rendered_lines()),
                       "the bounce in the feed, in words")
        await wait_for(pilot, lambda: any(s.email_bounced for s in staff_list.staff), "the staff list to know")
        row = "".join(segment.text for segment in staff_list.render_line(0))  # Dana is first
        assert "Dana Reyes bounced" in row
        notes: list[str] = []
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        ingest(svc, fx.gmail_reply(token_for(svc, "dana@example.com")))
        await wait_for(pilot, lambda: "received from Dana Reyes by email" in "\n".join(feed.rendered_lines()),
                       "the reply in the feed")
        await wait_for(pilot, lambda: any(n.startswith("Email from Dana Reyes") for n in notes), "the toast")
    svc.close()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=800).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_parse_without_an_exception(raw: bytes) -> None:
    parsed = parse_mail(raw)
    assert parsed.key


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.text(max_size=60))
def test_any_reply_text_and_subject_parse(text: str, subject: str) -> None:
    raw = (f"From: a@b.example\r\nSubject: {subject}\r\nMessage-ID: <h@x>\r\n"
           f"Content-Type: text/plain; charset=utf-8\r\n\r\n").encode("utf-8", "surrogatepass") + text.encode(
        "utf-8", "surrogatepass")
    parse_mail(raw)


async def test_unknown_senders_lists_an_email_with_its_reason(tmp_path: Path) -> None:
    from textual.widgets import OptionList

    from staff_feed_tui.tui.screens.triage import TriageScreen

    svc = open_mail_services(tmp_path / "data")
    ingest(svc, fx.gmail_reply("dispatch@paws.example", from_addr="stranger@example.org"))
    app = make_app(svc, embedded_worker=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.screen.query_one(StaffList).staff) == 3, "the staff list")
        await pilot.press("U")
        assert isinstance(app.screen, TriageScreen)
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count == 1 and not options.get_option_at_index(0).disabled,
                       "the entry")
        row = str(options.get_option_at_index(0).prompt)
        assert row.startswith("email stranger@example.org")
        assert "Yes, I can take it." in row and "no staff member has the address stranger@example.org" in row
    svc.close()
