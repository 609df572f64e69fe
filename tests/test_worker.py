from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staff_feed_tui.core.types import Channel, DeliveryMethod, DeliveryStatus, can_move
from staff_feed_tui.delivery.factory import make_worker
from staff_feed_tui.delivery.results import RetryPolicy
from staff_feed_tui.services import Services, queue_outgoing
from staff_feed_tui.store import outbox
from staff_feed_tui.store.feed import get_messages
from staff_feed_tui.store.models import utcnow
from staff_feed_tui.store.staff import find_staff
from tests.clock import FrozenClock
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.both_engines


def _statuses(services: Services, message_id: int) -> dict[str, tuple[str, str | None]]:
    (message,) = get_messages(services.engine, [message_id])
    return {d.channel.value: (d.status.value, d.last_error) for d in message.deliveries}


def _smtp(services: Services, server: SmtpServer, **email: object) -> Services:
    settings = services.settings.model_copy(
        update={
            "email": services.settings.email.model_copy(
                update={"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "none", **email}
            )
        }
    )
    return Services(settings, services.engine, services.attachments, services.dispatcher)


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    server = SmtpServer().start()
    yield server
    server.stop()


async def test_file_transport_writes_eml_and_jsonl(services: Services) -> None:
    dana = find_staff(services.engine, "dana@example.com")
    message_id = queue_outgoing(services, staff=dana, body="Walk at 10", method=DeliveryMethod.BOTH)
    worker = make_worker(services.settings, services.engine)
    assert await worker.drain() == 2
    statuses = _statuses(services, message_id)
    assert statuses == {"email": ("sent", None), "sms": ("sent", None)}
    (eml,) = (services.settings.outbox_dir / "email").glob("*.eml")
    assert "Walk at 10" in eml.read_text()
    (line,) = (services.settings.outbox_dir / "sms.jsonl").read_text().splitlines()
    assert json.loads(line)["to"] == "+14155550101"


async def test_smtp_delivery_headers_body_and_attachments(services: Services, smtp_server: SmtpServer, tmp_path: Path) -> None:
    from pydantic import SecretStr

    services = _smtp(services, smtp_server, reply_domain="replies.test.example")
    services.settings.gateway.media_secret = SecretStr("reply-secret")
    pdf = tmp_path / "rota.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + os.urandom(5000))
    photo = tmp_path / "dog photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + os.urandom(3000))
    dana = find_staff(services.engine, "dana@example.com")
    sam = find_staff(services.engine, "sam@example.com")
    first = queue_outgoing(services, staff=dana, body="Rota attached.\nSee you Monday.", attachments=[pdf, photo])
    queue_outgoing(services, staff=sam, body="Second")
    queue_outgoing(services, staff=sam, body="Third")
    worker = make_worker(services.settings, services.engine)
    assert await worker.drain() == 3
    received = smtp_server.handler.wait_for(3)
    assert smtp_server.handler.sessions == 1  # one connection reused for the batch
    mail = next(m for m in received if m["To"] == "Dana Reyes <dana@example.com>")
    assert mail["From"] == "Test Co <dispatch@test.example>"
    assert mail["Subject"] == "Message from Test Co (alex)"
    assert mail["Date"] is not None
    assert mail["Message-ID"].endswith("@test.example>")
    from staff_feed_tui.core.reply_address import reply_token

    assert mail["Reply-To"] == f"reply+{reply_token(dana.id, b'reply-secret')}@replies.test.example"
    assert reply_token(dana.id, b"reply-secret") != reply_token(sam.id, b"reply-secret")
    assert reply_token(dana.id, b"reply-secret") != reply_token(dana.id, b"other-secret")
    assert mail.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == (
        "Rota attached.\nSee you Monday."
    )  # type: ignore[union-attr]
    parts = {p.get_filename(): p for p in mail.iter_attachments()}
    assert set(parts) == {"rota.pdf", "dog photo.jpg"}
    assert parts["rota.pdf"].get_content_type() == "application/pdf"
    assert parts["rota.pdf"].get_content() == pdf.read_bytes()
    assert parts["dog photo.jpg"].get_content_type() == "image/jpeg"
    assert parts["dog photo.jpg"].get_content() == photo.read_bytes()
    (view,) = get_messages(services.engine, [first])
    assert view.deliveries[0].status is DeliveryStatus.SENT
    assert view.deliveries[0].provider_id == mail["Message-ID"]


async def test_refused_recipient_fails_with_the_reason(services: Services, smtp_server: SmtpServer) -> None:
    services = _smtp(services, smtp_server)
    smtp_server.handler.refuse.add("sam@example.com")
    sam = find_staff(services.engine, "sam@example.com")
    message_id = queue_outgoing(services, staff=sam, body="hello")
    await make_worker(services.settings, services.engine).drain()
    status, error = _statuses(services, message_id)["email"]
    assert status == "failed"
    assert error is not None and "recipient refused" in error and "550" in error


async def test_deferred_recipient_is_retried_with_the_same_message_id(services: Services, smtp_server: SmtpServer) -> None:
    services = _smtp(services, smtp_server)
    smtp_server.handler.defer["sam@example.com"] = 1
    sam = find_staff(services.engine, "sam@example.com")
    message_id = queue_outgoing(services, staff=sam, body="hello")
    clock = FrozenClock(utcnow())  # the backoff is 25-50 ms: only a clock that stands still makes "not yet" certain
    worker = make_worker(services.settings, services.engine)
    worker.clock = clock
    assert await worker.run_once() == 1
    status, error = _statuses(services, message_id)["email"]
    assert status == "queued" and error is not None and "451" in error
    # Not due yet: the backoff holds it back.
    assert await worker.run_once() == 0
    # Once due, the retry goes through.
    clock.advance(seconds=5)
    assert await worker.run_once() == 1
    await worker.close_transports()
    assert _statuses(services, message_id)["email"] == ("sent", None)
    (mail,) = smtp_server.handler.wait_for(1)
    ((delivery_id, attempts),) = _attempts(services, message_id)
    assert attempts == 2
    assert mail["Message-ID"] == f"<staff-feed.{message_id}.{delivery_id}@test.example>"


def _attempts(services: Services, message_id: int) -> list[tuple[int, int]]:
    with services.engine.connect() as conn:
        return list(conn.exec_driver_sql(f"SELECT id, attempts FROM delivery WHERE message_id = {message_id}"))


async def test_server_down_is_transient_and_nothing_fails(services: Services) -> None:
    server = SmtpServer()  # not started yet
    services = _smtp(services, server)
    sam = find_staff(services.engine, "sam@example.com")
    message_id = queue_outgoing(services, staff=sam, body="while the server was down")
    worker = make_worker(services.settings, services.engine)
    await worker.run_once()
    status, error = _statuses(services, message_id)["email"]
    assert status == "queued" and error is not None and "SMTP unreachable" in error
    server.start()
    try:
        later = utcnow() + timedelta(minutes=5)
        for item in outbox.claim_due_deliveries(services.engine, services.attachments.root, owner=worker.owner, now=later):
            worker._record(item, await worker.transports[Channel.EMAIL].send(item))
        await worker.transports[Channel.EMAIL].close()
        assert _statuses(services, message_id)["email"] == ("sent", None)
        assert len(server.handler.wait_for(1)) == 1
    finally:
        server.stop()


async def test_attempts_run_out_then_failed(services: Services, smtp_server: SmtpServer) -> None:
    """`max_attempts` bounds a message's own temporary refusals (451 at RCPT, twice): then it fails."""
    services = _smtp(services, smtp_server)
    smtp_server.handler.defer["sam@example.com"] = 5
    sam = find_staff(services.engine, "sam@example.com")
    message_id = queue_outgoing(services, staff=sam, body="x")
    worker = make_worker(services.settings, services.engine)
    worker.policy = RetryPolicy(max_attempts=2, backoff_s=0.01)
    now = utcnow()
    for step in range(2):
        for item in outbox.claim_due_deliveries(
            services.engine, services.attachments.root, owner=worker.owner, now=now + timedelta(minutes=step)
        ):
            worker._record(item, await worker.transports[Channel.EMAIL].send(item))
    await worker.close_transports()
    status, error = _statuses(services, message_id)["email"]
    assert status == "failed"
    assert error is not None and error.startswith("gave up after 2 attempts: mail server deferred the recipient: 451")


async def test_an_unreachable_server_uses_no_attempts(services: Services) -> None:
    """The channel's trouble is not the message's: however often the server cannot be reached, the delivery waits
    (queued, the reason shown) with no attempt used."""
    server = SmtpServer()  # never started: every attempt is a connection error
    services = _smtp(services, server)
    sam = find_staff(services.engine, "sam@example.com")
    message_id = queue_outgoing(services, staff=sam, body="x")
    worker = make_worker(services.settings, services.engine)
    worker.policy = RetryPolicy(max_attempts=2, backoff_s=0.01)
    now = utcnow()
    for step in range(5):
        for item in outbox.claim_due_deliveries(
            services.engine, services.attachments.root, owner=worker.owner, now=now + timedelta(minutes=step)
        ):
            worker._record(item, await worker.transports[Channel.EMAIL].send(item))
    status, error = _statuses(services, message_id)["email"]
    assert status == "queued" and error is not None and "SMTP unreachable" in error
    with services.engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT attempts FROM delivery WHERE message_id = {message_id}").scalar() == 0


async def test_smtp_auth_and_secret_never_stored(services: Services, tmp_path: Path) -> None:
    server = SmtpServer(username="dispatch", password="s3cret-pa55word").start()
    try:
        from pydantic import SecretStr

        services = _smtp(services, server, username="dispatch", password=SecretStr("s3cret-pa55word"))
        sam = find_staff(services.engine, "sam@example.com")
        message_id = queue_outgoing(services, staff=sam, body="authenticated")
        await make_worker(services.settings, services.engine).drain()
        assert _statuses(services, message_id)["email"] == ("sent", None)
        assert server.handler.logins == [("dispatch", "s3cret-pa55word")]
    finally:
        server.stop()
    services.engine.dispose()
    for path in services.settings.data_dir.rglob("*"):
        if path.is_file():
            assert b"s3cret-pa55word" not in path.read_bytes(), path


async def test_wrong_smtp_password_is_retried_not_lost(services: Services) -> None:
    server = SmtpServer(username="dispatch", password="right").start()
    try:
        from pydantic import SecretStr

        services = _smtp(services, server, username="dispatch", password=SecretStr("wrong"))
        sam = find_staff(services.engine, "sam@example.com")
        message_id = queue_outgoing(services, staff=sam, body="x")
        await make_worker(services.settings, services.engine).run_once()
        status, error = _statuses(services, message_id)["email"]
        assert status == "queued" and error is not None and "SMTP" in error
    finally:
        server.stop()


def test_two_claimers_never_share_a_delivery(services: Services) -> None:
    sam = find_staff(services.engine, "sam@example.com")
    for n in range(20):
        queue_outgoing(services, staff=sam, body=f"m{n}")
    root = services.attachments.root
    a = outbox.claim_due_deliveries(services.engine, root, owner="a", limit=12)
    b = outbox.claim_due_deliveries(services.engine, root, owner="b", limit=12)
    ids_a = {c.delivery_id for c in a}
    ids_b = {c.delivery_id for c in b}
    assert len(ids_a) == 12 and len(ids_b) == 8 and not ids_a & ids_b
    # b cannot record a result for a's delivery.
    some = next(iter(ids_a))
    assert outbox.record_sent(services.engine, some, "b", "x") is False
    assert outbox.record_sent(services.engine, some, "a", "x") is True


def test_expired_lease_is_claimable_again(services: Services) -> None:
    sam = find_staff(services.engine, "sam@example.com")
    queue_outgoing(services, staff=sam, body="m")
    root = services.attachments.root
    (first,) = outbox.claim_due_deliveries(services.engine, root, owner="crashed", lease_s=30)
    assert outbox.claim_due_deliveries(services.engine, root, owner="other") == []
    later = utcnow() + timedelta(seconds=31)
    (again,) = outbox.claim_due_deliveries(services.engine, root, owner="other", now=later)
    assert again.delivery_id == first.delivery_id and again.attempt == 2
    assert outbox.record_sent(services.engine, first.delivery_id, "crashed", "late") is False


def test_status_moves_forward_only() -> None:
    S = DeliveryStatus
    assert can_move(S.QUEUED, S.SENDING) and can_move(S.SENDING, S.SENT) and can_move(S.SENT, S.DELIVERED)
    assert can_move(S.SENDING, S.QUEUED)  # a retry
    assert not can_move(S.DELIVERED, S.SENT)
    assert not can_move(S.FAILED, S.SENT)
    assert not can_move(S.SENT, S.SENDING)


def test_retry_policy_backs_off_with_jitter() -> None:
    import random

    policy = RetryPolicy(max_attempts=4, backoff_s=10)
    now = utcnow()
    rng = random.Random(1)
    delays = [(policy.next_attempt(n, now, rng) - now).total_seconds() for n in (1, 2, 3)]  # type: ignore[operator]
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20 and 20 <= delays[2] <= 40
    assert policy.next_attempt(4, now) is None


def test_attachment_store_is_content_addressed(services: Services, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"same bytes")
    one = services.attachments.put(source)
    two = services.attachments.put(source)
    assert one == two
    assert one.sha256 == hashlib.sha256(b"same bytes").hexdigest()
    assert services.attachments.path_of(one.relative_path).read_bytes() == b"same bytes"
    assert not list(services.attachments.root.glob(".incoming-*"))




@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.smtp_server import make_certificates

    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_smtp_over_tls_validates_the_certificate(services: Services, certificates, security: str) -> None:  # type: ignore[no-untyped-def]
    ca_file, server_context = certificates
    kind = {"starttls": "starttls", "tls": "tls"}[security]
    server = SmtpServer(**{kind: server_context}).start()
    try:
        trusted = _smtp(services, server, security=security, ca_file=str(ca_file))
        sam = find_staff(trusted.engine, "sam@example.com")
        message_id = queue_outgoing(trusted, staff=sam, body="over TLS")
        await make_worker(trusted.settings, trusted.engine).drain()
        assert _statuses(trusted, message_id)["email"] == ("sent", None)
        assert server.handler.wait_for(1)[0].get_body(("plain",)).get_content().strip() == "over TLS"  # type: ignore[union-attr]

        # Without our CA the certificate is not trusted: nothing is sent, and the delivery waits to be retried.
        untrusted = _smtp(services, server, security=security)
        message_id = queue_outgoing(untrusted, staff=sam, body="must not go out")
        await make_worker(untrusted.settings, untrusted.engine).run_once()
        status, error = _statuses(untrusted, message_id)["email"]
        assert status == "queued" and error is not None and "certificate" in error.lower()
        assert len(server.handler.messages) == 1
    finally:
        server.stop()


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300))
@settings(max_examples=200, deadline=None)
def test_fast_text_body_matches_set_content(body: str) -> None:
    """The fast path for plain bodies writes exactly what EmailMessage.set_content would."""
    from email.message import EmailMessage

    from staff_feed_tui.delivery.email import POLICY, _set_text

    fast, reference = EmailMessage(policy=POLICY), EmailMessage()
    _set_text(fast, body)
    reference.set_content(body)
    assert bytes(fast) == bytes(reference)


@given(
    name=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40),
    author=st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                                         max_size=30)),
    body=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200),
    seconds=st.integers(min_value=0, max_value=2_000_000_000),
)
@settings(max_examples=150, deadline=None)
def test_built_email_matches_plain_email_message(name: str, author: str | None, body: str, seconds: int) -> None:
    """build_email (cached header classes and parsed headers, a policy of its own) writes exactly the bytes of an
    EmailMessage built the plain way, with string headers and the default policy."""
    from datetime import UTC, datetime
    from email.message import EmailMessage
    from email.utils import format_datetime, formataddr

    from staff_feed_tui.core.reply_address import reply_token
    from staff_feed_tui.delivery.email import build_email, message_id

    created = datetime.fromtimestamp(seconds, UTC)
    item = outbox.ClaimedDelivery(7, 3, Channel.EMAIL, 1, 5, name, "dana@example.com", None, author, body, created, ())
    built = build_email(item, company="Paws & Co.", from_address="dispatch@example.com",
                        reply_domain="reply.example.com", reply_secret=b"k")
    reference = EmailMessage()
    reference["Subject"] = f"Message from Paws & Co. ({author or 'dispatch'})"
    reference["From"] = formataddr(("Paws & Co.", "dispatch@example.com"))
    reference["To"] = formataddr((name, "dana@example.com"))
    reference["Date"] = format_datetime(created)
    reference["Message-ID"] = message_id(item, "example.com")
    reference["Reply-To"] = f"reply+{reply_token(5, b'k')}@reply.example.com"
    reference.set_content(body or "(see attached files)")
    assert bytes(built) == bytes(reference)


async def test_a_send_that_could_outlive_its_lease_is_not_started(services: Services) -> None:
    """A slow server: once a send could no longer end before the batch's lease runs out, the rest of the batch goes
    back to the queue unsent (attempt not counted) instead of going out while another worker may take it over."""
    server = SmtpServer().start()
    server.handler.delay_s = 1.2
    try:
        slow = _smtp(services, server, timeout_s=5)
        sam = find_staff(slow.engine, "sam@example.com")
        ids = [queue_outgoing(slow, staff=sam, body=f"visit {n}") for n in range(3)]
        worker = make_worker(slow.settings, slow.engine)
        worker.lease_s = 2.0  # sends may start up to 1 s after the claim (half the lease: the timeout is longer)
        assert worker.send_window(worker.transports[Channel.EMAIL]) == 1.0
        assert await worker.run_once() == 3
        assert len(server.handler.messages) == 1
        statuses = [_statuses(slow, i)["email"] for i in ids]
        assert statuses[0] == ("sent", None)
        assert statuses[1:] == [("queued", None), ("queued", None)]
        with slow.engine.connect() as conn:
            attempts = [a for (a,) in conn.exec_driver_sql(
                f"SELECT attempts FROM delivery WHERE message_id IN ({ids[1]}, {ids[2]})")]
        assert attempts == [0, 0]
        await worker.drain()  # one per turn while the server stays slow
        assert [_statuses(slow, i)["email"][0] for i in ids] == ["sent"] * 3
        assert sorted(server.handler.message_ids) == sorted(set(server.handler.message_ids))
        assert len(server.handler.messages) == 3
    finally:
        server.stop()


def test_a_rate_capped_batch_fits_in_half_its_send_window(services: Services) -> None:
    """At 1 text/s with a 60 s lease and a 30 s timeout, sends may start for 28 s: a batch is 14, not 100."""
    from staff_feed_tui.delivery.worker import OutboxWorker

    class Capped:
        concurrency, rate_per_s, timeout_s = 50, 1.0, 30.0

    class Uncapped:
        concurrency, rate_per_s, timeout_s = 50, 0.0, 30.0

    worker = OutboxWorker(services.engine, Path("."), {}, batch_size=100, lease_s=60.0)
    assert worker.send_window(Capped()) == 28.0  # type: ignore[arg-type]
    assert worker.claim_limit(Capped()) == 14  # type: ignore[arg-type]
    assert worker.claim_limit(Uncapped()) == 100  # type: ignore[arg-type]
    slow = type("Slow", (), {"concurrency": 1, "rate_per_s": 0.05, "timeout_s": 30.0})()
    assert worker.claim_limit(slow) == 1  # never less than one


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
@settings(max_examples=50, deadline=None)
def test_outbox_times_are_written_as_the_orm_writes_them(moment) -> None:  # type: ignore[no-untyped-def]
    """The claim and the record write times at the driver level; they must be the text the ORM column holds, as
    due times and leases are compared as text."""
    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

    from staff_feed_tui.store.models import UTCDateTime

    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=1, at=moment))
        stored = conn.exec_driver_sql("SELECT at FROM t").scalar_one()
        assert stored == outbox.sql_time(moment)
        assert conn.execute(select(table.c.at)).scalar_one() == moment
