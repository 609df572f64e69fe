"""`staff-feed mail-in`: the chosen way in (IMAP or LMTP), run until a signal; and the doctor's check of it."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

from staff_feed_tui.config import InboundEmailSettings
from staff_feed_tui.services.context import Services

log = logging.getLogger(__name__)


class MailInOff(RuntimeError):
    """Inbound email is off (the default)."""


def run_mail_in(services: Services, stop: threading.Event) -> None:
    settings = services.settings.inbound_email
    if settings.transport == "off":
        raise MailInOff('inbound email is off: set [inbound_email] transport = "imap" or "lmtp" in the config')
    if settings.transport == "imap":
        from staff_feed_tui.mail_in.imap import ImapWatcher

        log.info("mail-in: watching %s on %s:%s", settings.folder, settings.host, settings.effective_port)
        ImapWatcher(services, settings, stop=stop).run()
        return
    asyncio.run(_serve_lmtp(services, settings, stop))


async def _serve_lmtp(services: Services, settings: InboundEmailSettings, stop: threading.Event) -> None:
    from staff_feed_tui.mail_in.lmtp import start_lmtp

    server = await start_lmtp(services, settings.host, settings.effective_port)
    log.info("mail-in: LMTP on %s:%s", settings.host, settings.effective_port)
    try:
        await asyncio.to_thread(stop.wait)
    finally:
        server.close()
        await server.wait_closed()


def check_mail_in(settings: InboundEmailSettings) -> tuple[str, bool, str]:
    """(name, ok, detail) for `doctor`: the IMAP login, or whether the LMTP port can be listened on (or is already
    served by a running mail-in)."""
    if settings.transport == "off":
        return "inbound email", True, "off (replies and bounces are not read; see [inbound_email])"
    where = f"{settings.host}:{settings.effective_port}"
    if settings.transport == "imap":
        from staff_feed_tui.mail_in.imap import check_login

        try:
            return "inbound (IMAP)", True, check_login(settings)
        except Exception as exc:  # noqa: BLE001 - the server's or the network's words, whatever they are
            return "inbound (IMAP)", False, f"cannot log in to {where}: {type(exc).__name__}: {exc}"
    try:
        with socket.create_connection((settings.host, settings.effective_port), timeout=3) as sock:
            greeting = sock.recv(512).decode("ascii", "replace").strip()
        return "inbound (LMTP)", True, f"{where} answers: {greeting[:80]}"
    except OSError:
        pass
    try:
        with socket.create_server((settings.host, settings.effective_port)):
            pass
    except OSError as exc:
        return "inbound (LMTP)", False, f"cannot listen on {where}: {exc.strerror or exc}"
    return "inbound (LMTP)", True, f"{where} is free; start `staff-feed mail-in` to serve it"
