"""Email over SMTP with aiosmtplib: one connection reused for a batch, reopened when the server drops it."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from staff_feed_tui.delivery.results import SendResult
from staff_feed_tui.store.outbox import ClaimedDelivery


class SmtpTransport:
    concurrency = 1  # one connection, one conversation at a time
    rate_per_s = 0.0

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
    ) -> None:
        self._build = build
        self.timeout_s = timeout_s
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
        await client.connect()
        self._client = client
        return client

    def prepare(self, item: ClaimedDelivery) -> EmailMessage | SendResult:
        """Build the message (CPU only). The worker calls this for the next item while the current one is on the
        wire, so building overlaps the wait for the server."""
        try:
            return self._build(item)
        except OSError as exc:
            return SendResult.permanent(f"attachment unreadable: {exc.strerror or exc}")

    async def send(self, item: ClaimedDelivery) -> SendResult:
        return await self.deliver(item, self.prepare(item))

    async def deliver(self, item: ClaimedDelivery, prepared: EmailMessage | SendResult) -> SendResult:
        if isinstance(prepared, SendResult):
            return prepared
        mail = prepared
        for attempt in (1, 2):
            try:
                client = await self._connected()
                _, reply = await client.send_message(mail)
                return SendResult.sent(mail["Message-ID"] or reply)
            except aiosmtplib.SMTPServerDisconnected as exc:
                # A reused connection the server closed while idle: reconnect once, then call it transient.
                self._client = None
                if attempt == 2:
                    return SendResult.transient(f"SMTP server disconnected: {exc}")
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0] if exc.recipients else None
                detail = f"{refused.code} {refused.message}" if refused else str(exc)
                if refused is not None and 400 <= refused.code < 500:
                    return SendResult.transient(f"mail server deferred the recipient: {detail}")
                return SendResult.permanent(f"recipient refused by the mail server: {detail}")
            except aiosmtplib.SMTPAuthenticationError as exc:
                await self._drop()
                return SendResult.transient(f"SMTP login failed: {exc.code} {exc.message}")
            except aiosmtplib.SMTPResponseException as exc:
                if 500 <= exc.code < 600:
                    return SendResult.permanent(f"mail server refused the message: {exc.code} {exc.message}")
                return SendResult.transient(f"mail server deferred the message: {exc.code} {exc.message}")
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop()
                return SendResult.transient(f"SMTP unreachable: {exc or type(exc).__name__}")
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
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
