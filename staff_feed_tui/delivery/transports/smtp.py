"""Email over SMTP with aiosmtplib: one connection reused for a batch, reopened when the server drops it.

Every exchange with the server runs under the transport's own deadline (`email.timeout_s`), whatever aiosmtplib's
per-command timeouts make of a server that trickles its answers. What goes wrong is sorted in two:
- the channel's trouble (cannot connect, TLS or greeting failure, 421/454/530/535, a timeout): the worker pauses
  email and no message uses an attempt;
- a message's own answer (4xx or 5xx at RCPT or DATA, an address the server cannot take): that message's outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from staff_feed_tui.delivery.email import prepare_email, recipient
from staff_feed_tui.delivery.results import SendResult
from staff_feed_tui.store.outbox import ClaimedDelivery

# Replies that speak of the server or the account, not of the message: the whole channel waits.
CHANNEL_CODES = frozenset({421, 454, 530, 534, 535})


class SmtpTransport:
    concurrency = 1  # one connection, one conversation at a time

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Literal["starttls", "tls", "none"],
        username: str | None,
        password: str | None,
        build: Callable[[ClaimedDelivery], EmailMessage],
        timeout_s: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        envelope_sender: Callable[[ClaimedDelivery], str] | None = None,
    ) -> None:
        self._build = build
        # The MAIL FROM of each delivery (a VERP bounce address: a bounce then names its delivery); None: From.
        self._envelope_sender = envelope_sender
        self.timeout_s = timeout_s
        self.rate_per_s = 0.0
        self.where = f"{host}:{port}"
        self._params = {
            "hostname": host,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "timeout": timeout_s,
            "tls_context": tls_context,
        }
        self._client: aiosmtplib.SMTP | None = None

    async def open(self) -> None:
        """Connections open lazily on the first send, so a batch of SMS alone never dials SMTP."""

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = aiosmtplib.SMTP(**self._params)  # type: ignore[arg-type]
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def prepare(self, item: ClaimedDelivery) -> EmailMessage | SendResult:
        """Build the message (CPU only). The worker calls this for the next item while the current one is on the
        wire, so building overlaps the wait for the server."""
        return prepare_email(self._build, item)

    async def send(self, item: ClaimedDelivery) -> SendResult:
        return await self.deliver(item, self.prepare(item))

    async def deliver(self, item: ClaimedDelivery, prepared: EmailMessage | SendResult) -> SendResult:
        if isinstance(prepared, SendResult):
            return prepared
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._deliver(item, prepared)
        except TimeoutError:
            await self._drop()
            return SendResult.channel_down(f"the mail server {self.where} did not answer within {self.timeout_s:g} s")

    async def _deliver(self, item: ClaimedDelivery, mail: EmailMessage) -> SendResult:
        for attempt in (1, 2):
            try:
                client = await self._connected()
            except aiosmtplib.SMTPAuthenticationError as exc:
                await self._drop()
                return SendResult.channel_down(f"SMTP login refused: {exc.code} {exc.message}")
            except aiosmtplib.SMTPResponseException as exc:
                await self._drop()
                return SendResult.channel_down(f"SMTP server refused the connection: {exc.code} {exc.message}")
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self._drop()
                return SendResult.channel_down(f"SMTP unreachable ({self.where}): {_words(exc)}")
            if recipient(item.staff_email).needs_smtputf8 and not client.supports_extension("smtputf8"):
                return SendResult.permanent(
                    f"the mail server does not take international addresses (no SMTPUTF8): {item.staff_email}"
                )
            try:
                sender = self._envelope_sender(item) if self._envelope_sender else None
                _, reply = await client.send_message(mail, sender=sender)
                return SendResult.sent(mail["Message-ID"] or reply)
            except aiosmtplib.SMTPServerDisconnected as exc:
                # A reused connection the server closed while idle: reconnect once, then it is the channel's.
                self._client = None
                if attempt == 2:
                    return SendResult.channel_down(f"SMTP server disconnected: {_words(exc)}")
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0] if exc.recipients else None
                if refused is None:
                    return SendResult.transient(f"mail server refused the recipient: {exc}")
                return _answer(refused.code, refused.message, recipient_refused=True)
            except aiosmtplib.SMTPResponseException as exc:
                with contextlib.suppress(Exception):
                    await client.rset()
                return _answer(exc.code, exc.message, recipient_refused=False)
            except aiosmtplib.SMTPNotSupported as exc:
                return SendResult.permanent(f"the mail server cannot take this message: {exc}")
            except ValueError as exc:  # an address aiosmtplib will not put on a command line
                return SendResult.permanent(f"the address cannot be sent: {exc}")
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self._drop()
                return SendResult.channel_down(f"SMTP unreachable ({self.where}): {_words(exc)}")
        raise AssertionError("unreachable")

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail any way it likes
                client.close()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                async with asyncio.timeout(min(self.timeout_s, 5.0)):
                    await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


def _answer(code: int, message: str, *, recipient_refused: bool) -> SendResult:
    """A reply to one message: the channel's when it speaks of the server, else the message's own."""
    if code in CHANNEL_CODES:
        return SendResult.channel_down(f"the mail server is not taking mail: {code} {message}")
    what = "the recipient" if recipient_refused else "the message"
    if 400 <= code < 500:
        return SendResult.transient(f"mail server deferred {what}: {code} {message}")
    if recipient_refused:
        return SendResult.permanent(f"recipient refused by the mail server: {code} {message}")
    return SendResult.permanent(f"mail server refused the message: {code} {message}")


def _words(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
