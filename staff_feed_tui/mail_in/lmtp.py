"""The LMTP server (aiosmtpd) that a local MTA hands replies and bounces to (Postfix `mailbox_transport`).

LMTP answers once per recipient after DATA: 250 only once the email is stored (the write has committed), 451 when it
could not be, so that the MTA keeps it and tries again. LMTP has no authentication: listen on loopback or a socket
only the MTA reaches.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from staff_feed_tui.mail_in.ingest import MAX_MAIL_BYTES, ingest
from staff_feed_tui.services.context import Services

log = logging.getLogger(__name__)


class StoreHandler:
    """aiosmtpd's handler: store the email (in a thread: the store is synchronous), then answer for each recipient."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        recipients = tuple(envelope.rcpt_tos)
        try:
            await asyncio.to_thread(ingest, self.services, raw, recipients)
        except Exception as exc:
            log.exception("an email could not be stored; the MTA is told to try again")
            answer = f"451 4.3.0 could not store the message: {type(exc).__name__}"
        else:
            answer = "250 2.0.0 stored"
        return "\r\n".join([answer] * max(1, len(recipients)))


async def start_lmtp(services: Services, host: str, port: int) -> asyncio.Server:
    """Listen for LMTP on host:port (port 0: an ephemeral one, as tests use); the caller closes the server."""
    from aiosmtpd.lmtp import LMTP

    handler = StoreHandler(services)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: LMTP(handler, data_size_limit=MAX_MAIL_BYTES, enable_SMTPUTF8=True, decode_data=False,
                     ident="staff-feed mail-in", loop=loop),
        host=host,
        port=port,
    )
