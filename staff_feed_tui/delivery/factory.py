"""Building the worker and its transports from the settings. Senders' libraries load only here, when needed."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from sqlalchemy import Engine

from staff_feed_tui.config import Settings
from staff_feed_tui.core.media_token import make_media_token
from staff_feed_tui.core.reply_address import bounce_address
from staff_feed_tui.core.types import Channel
from staff_feed_tui.delivery.email import build_email
from staff_feed_tui.delivery.results import RetryPolicy, Transport
from staff_feed_tui.delivery.worker import OutboxWorker
from staff_feed_tui.store import delivery_state
from staff_feed_tui.store.outbox import ClaimedDelivery, OutgoingFile


def email_transport(settings: Settings) -> Transport:
    email = settings.email
    secret = settings.gateway.media_secret
    key = secret.get_secret_value().encode() if secret else None
    build = partial(
        build_email,
        company=settings.company.name,
        from_address=email.from_address,
        reply_domain=email.reply_domain,
        reply_secret=key,
    )
    if email.transport == "file":
        from staff_feed_tui.delivery.transports.file import FileEmailTransport

        return FileEmailTransport(settings.outbox_dir, build)
    from staff_feed_tui.delivery.tls import tls_context
    from staff_feed_tui.delivery.transports.smtp import SmtpTransport

    return SmtpTransport(
        host=email.host,
        port=email.effective_port,
        security=email.security,
        username=email.username,
        password=email.password.get_secret_value() if email.password else None,
        build=build,
        timeout_s=email.timeout_s,
        tls_context=tls_context(email.ca_file) if email.security != "none" else None,
        envelope_sender=bounce_sender(email.reply_domain, key) if email.reply_domain and key else None,
    )


def bounce_sender(domain: str, secret: bytes) -> Callable[[ClaimedDelivery], str]:
    """Each email's envelope sender: `reply+b<delivery id>.<signature>@<reply domain>`, so that a bounce, which goes
    to the envelope sender, names the delivery it is about (mail-in reads it)."""
    return lambda item: bounce_address(item.delivery_id, secret, domain)


def sms_transport(settings: Settings) -> Transport | None:
    """The SMS transport, or None when texting is off (then SMS deliveries wait for a worker that has one)."""
    if not settings.company.text_messaging:
        return None
    if settings.sms.transport == "file":
        from staff_feed_tui.delivery.transports.file import FileSmsTransport

        return FileSmsTransport(settings.outbox_dir, settings.sms.from_number or settings.company.sms_number)
    sms = settings.sms
    if not sms.account_sid or sms.auth_token is None:
        return None  # doctor reports it; texts wait in the outbox until a worker with credentials runs
    from staff_feed_tui.delivery.transports.twilio_sms import TwilioSmsTransport

    gateway = settings.gateway
    public = gateway.public_url.rstrip("/") if gateway.public_url else None
    media_url = None
    if public and gateway.media_secret is not None:
        media_url = partial(
            signed_media_url, public, gateway.media_secret.get_secret_value().encode(), gateway.media_ttl_s
        )
    return TwilioSmsTransport(
        account_sid=sms.account_sid,
        auth_token=sms.auth_token.get_secret_value(),
        from_number=sms.from_number or settings.company.sms_number,
        messaging_service_sid=sms.messaging_service_sid,
        api_base_url=sms.api_base_url,
        status_callback_url=f"{public}/twilio/status" if sms.status_callback and public else None,
        media_url=media_url,
        rate_per_s=settings.delivery.sms_rate_per_s,
        timeout_s=sms.timeout_s,
    )


def signed_media_url(public_url: str, secret: bytes, ttl_s: int, file: OutgoingFile) -> str:
    """A `/media/<token>` URL under the gateway's public URL, valid for `ttl_s` seconds."""
    token = make_media_token(secret, file.attachment_id, int(time.time()) + ttl_s)
    return f"{public_url}/media/{token}"


def make_worker(
    settings: Settings, engine: Engine, *, owner: str | None = None, kind: str = delivery_state.SERVICE
) -> OutboxWorker:
    """The worker with its transports. `kind` is `service` for `staff-feed worker`, `embedded` inside an app."""
    transports: dict[Channel, Transport] = {Channel.EMAIL: email_transport(settings)}
    sms = sms_transport(settings)
    if sms is not None:
        transports[Channel.SMS] = sms
    d = settings.delivery
    return OutboxWorker(
        engine,
        settings.attachments_dir,
        transports,
        policy=RetryPolicy(max_attempts=d.max_attempts, backoff_s=d.backoff_s, give_up_after_s=d.give_up_after_s),
        batch_size=d.batch_size,
        lease_s=d.lease_s,
        owner=owner,
        kind=kind,
    )
