"""`staff-feed doctor`: checks the configuration and every outside service, one line per check, without sending."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from dataclasses import dataclass

from staff_feed_tui.config import Settings
from staff_feed_tui.services.context import Services


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<16} {self.detail}"


async def check_smtp(settings: Settings) -> Check:
    email = settings.email
    if email.transport == "file":
        return Check("email", True, f"file transport: mail is written to {settings.outbox_dir / 'email'}")
    import aiosmtplib

    from staff_feed_tui.delivery.tls import certificate_problem, tls_context

    context = tls_context(email.ca_file) if email.security != "none" else None
    client = aiosmtplib.SMTP(
        hostname=email.host,
        port=email.effective_port,
        use_tls=email.security == "tls",
        start_tls=email.security == "starttls",
        timeout=min(email.timeout_s, 15),
        tls_context=context,
    )
    where = f"{email.host}:{email.effective_port} ({email.security})"
    try:
        await client.connect()
        if email.username:
            password = email.password.get_secret_value() if email.password else ""
            await client.login(email.username, password)
            detail = f"connected to {where}, logged in as {email.username}"
        else:
            detail = f"connected to {where} (no login configured)"
        await client.quit()
        return Check("email (SMTP)", True, detail)
    except aiosmtplib.SMTPAuthenticationError as exc:
        return Check("email (SMTP)", False, f"{where} refused the login for {email.username}: {exc.code} {exc.message}")
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        problem = certificate_problem(exc)
        if problem is not None:
            return Check("email (SMTP)", False, f"{where} was refused over TLS: {problem}")
        return Check("email (SMTP)", False, f"cannot connect to {where}: {exc or type(exc).__name__}")
    finally:
        client.close()


async def check_twilio(settings: Settings) -> Check:
    sms = settings.sms
    if not settings.company.text_messaging:
        return Check("sms", True, "texting is off for the company (company.text_messaging = false)")
    if sms.transport == "file":
        return Check("sms", True, f"file transport: texts are written to {settings.outbox_dir / 'sms.jsonl'}")
    if not sms.account_sid or sms.auth_token is None:
        return Check("sms (Twilio)", False, "sms.account_sid and sms.auth_token are needed to send texts")
    if not (sms.from_number or sms.messaging_service_sid or settings.company.sms_number):
        return Check("sms (Twilio)", False, "set sms.from_number or sms.messaging_service_sid")
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client

    from staff_feed_tui.delivery.transports.twilio_sms import RebasedHttpClient

    http = RebasedHttpClient(sms.api_base_url, timeout=15)
    try:
        client = Client(sms.account_sid, sms.auth_token.get_secret_value(), http_client=http, environment={})
        account = await client.api.v2010.accounts(sms.account_sid).fetch_async()
        return Check("sms (Twilio)", True, f"account {account.friendly_name!r} is {account.status}")
    except TwilioRestException as exc:
        return Check("sms (Twilio)", False, f"Twilio refused the credentials: {exc.status} {exc.code} {exc.msg}")
    except Exception as exc:  # noqa: BLE001 - aiohttp's errors, timeouts: all mean "unreachable" here
        return Check("sms (Twilio)", False, f"cannot reach Twilio: {exc or type(exc).__name__}")
    finally:
        await http.close()


def check_gateway(settings: Settings) -> Check:
    url = settings.gateway.public_url
    if not url:
        if settings.company.text_messaging and settings.sms.transport == "twilio":
            return Check("gateway", False, "gateway.public_url is not set: inbound texts, receipts and MMS need it")
        return Check("gateway", True, "no public URL set (only needed for Twilio)")
    health = url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(health, timeout=10) as response:  # noqa: S310 - an operator-set URL
            status = response.status
    except urllib.error.HTTPError as exc:
        return Check("gateway", False, f"{health} answered {exc.code}")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return Check("gateway", False, f"cannot reach {health}: {getattr(exc, 'reason', exc)}")
    if status != 200:
        return Check("gateway", False, f"{health} answered {status}")
    warning = "" if url.startswith("https://") else " (not https: Twilio should reach it over TLS)"
    return Check("gateway", True, f"{health} answered 200{warning}")


def check_delivery(services: Services) -> Check:
    """The outbox as the workers left it: a paused channel (the reason, since when, how many wait), and which
    workers are alive by their heartbeats."""
    from staff_feed_tui.services.delivery import delivery_status, live_workers_words

    paused = delivery_status(services, full=True)
    workers = live_workers_words(services)
    if paused:
        return Check("delivery", False, f"{paused} ({workers})")
    return Check("delivery", True, f"no channel paused ({workers})")


async def run_checks(settings: Settings) -> list[Check]:
    smtp, twilio = await asyncio.gather(check_smtp(settings), check_twilio(settings))
    gateway = await asyncio.to_thread(check_gateway, settings)
    return [smtp, twilio, gateway]
