"""Building the worker and its transports from the settings. Senders' libraries load only here, when needed."""

from __future__ import annotations

from functools import partial

from sqlalchemy import Engine

from staff_feed_tui.config import Settings
from staff_feed_tui.core.types import Channel
from staff_feed_tui.delivery.email import build_email
from staff_feed_tui.delivery.results import RetryPolicy, Transport
from staff_feed_tui.delivery.worker import OutboxWorker


def email_transport(settings: Settings) -> Transport:
    email = settings.email
    secret = settings.gateway.media_secret
    build = partial(
        build_email,
        company=settings.company.name,
        from_address=email.from_address,
        reply_domain=email.reply_domain,
        reply_secret=secret.get_secret_value().encode() if secret else None,
    )
    if email.transport == "file":
        from staff_feed_tui.delivery.transports.file import FileEmailTransport

        return FileEmailTransport(settings.outbox_dir, build)
    from staff_feed_tui.delivery.transports.smtp import SmtpTransport

    return SmtpTransport(
        host=email.host,
        port=email.effective_port,
        security=email.security,
        username=email.username,
        password=email.password.get_secret_value() if email.password else None,
        build=build,
        timeout_s=email.timeout_s,
    )


def sms_transport(settings: Settings) -> Transport | None:
    """The SMS transport, or None when texting is off (then SMS deliveries wait for a worker that has one)."""
    if not settings.company.text_messaging:
        return None
    if settings.sms.transport == "file":
        from staff_feed_tui.delivery.transports.file import FileSmsTransport

        return FileSmsTransport(settings.outbox_dir, settings.sms.from_number or settings.company.sms_number)
    return None


def make_worker(settings: Settings, engine: Engine, *, owner: str | None = None) -> OutboxWorker:
    transports: dict[Channel, Transport] = {Channel.EMAIL: email_transport(settings)}
    sms = sms_transport(settings)
    if sms is not None:
        transports[Channel.SMS] = sms
    d = settings.delivery
    return OutboxWorker(
        engine,
        settings.attachments_dir,
        transports,
        policy=RetryPolicy(max_attempts=d.max_attempts, backoff_s=d.backoff_s),
        batch_size=d.batch_size,
        lease_s=d.lease_s,
        owner=owner,
    )
