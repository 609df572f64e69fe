"""The IMAP watcher: waits on a mailbox with IDLE (or polls a server without it), stores each new email, and only
then flags it `\\Seen` or moves it to `processed_folder`. A crash between the two leaves the email unflagged: on the
next start it is read again, found by its Message-ID, and only flagged. A dropped connection (a server restart, a
network cut) is reconnected with backoff.

IMAPClient, a synchronous client, runs in one thread: the store is synchronous too, and its IDLE calls
(`idle`, `idle_check`, `idle_done`) let the loop look at the stop flag every second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from staff_feed_tui.config import InboundEmailSettings
from staff_feed_tui.mail_in.ingest import MAX_MAIL_BYTES, ingest
from staff_feed_tui.services.context import Services

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
FETCH_BATCH = 50  # uids handled per pass before new mail is looked for again


class ImapWatcher:
    def __init__(
        self,
        services: Services,
        settings: InboundEmailSettings,
        *,
        stop: threading.Event | None = None,
        after_store: Callable[[int], None] | None = None,
    ) -> None:
        self.services = services
        self.settings = settings
        self.stop = stop or threading.Event()
        self._after_store = after_store  # called between storing and flagging (tests crash the process there)
        self._too_large: set[int] = set()
        self.connected = threading.Event()  # set while a connection is up and the folder selected
        self.idling = threading.Event()  # set while waiting in IDLE (so a test knows news will come by IDLE)
        self.stored = 0

    # ---- the loop ---------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Watch until `stop` is set: connect, catch up, wait for news, repeat; reconnect with backoff on failure."""
        delay = 1.0
        while not self.stop.is_set():
            client = None
            try:
                client = self.connect()
                self.connected.set()
                delay = 1.0
                self._watch(client)
            except Exception as exc:  # noqa: BLE001 - any failure of the server or the network: reconnect
                self.connected.clear()
                if self.stop.is_set():
                    break
                log.warning("IMAP %s: %s; reconnecting in %.0f s", self._where(), _words(exc), delay)
                self.stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
            finally:
                self.connected.clear()
                if client is not None:
                    _close(client)

    def _watch(self, client: Any) -> None:
        can_idle = b"IDLE" in client.capabilities()
        while not self.stop.is_set():
            while self.process_pending(client):
                pass
            if can_idle:
                self._idle(client)
            else:
                self.stop.wait(self.settings.poll_s)
                client.noop()

    def _idle(self, client: Any) -> None:
        """Wait in IDLE until the server reports news, `idle_s` passes (the server's own limit is about 30 min), or
        `stop` is set. A closed connection raises from idle_check, and `run` reconnects."""
        client.idle()
        self.idling.set()
        try:
            deadline = time.monotonic() + self.settings.idle_s
            while not self.stop.is_set() and time.monotonic() < deadline:
                responses = client.idle_check(timeout=1.0)
                if any(_is_bye(r) for r in responses):
                    raise ConnectionError("the server closed the connection")
                if any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    break
        finally:
            self.idling.clear()
            client.idle_done()

    # ---- one pass ---------------------------------------------------------------------------------------------

    def connect(self) -> Any:
        return connect(self.settings)

    def process_pending(self, client: Any) -> int:
        """Store and mark what waits in the folder; returns how many were handled (0: none waited)."""
        criteria = ["ALL"] if self.settings.processed_folder else ["UNSEEN"]
        uids = [u for u in client.search(criteria) if u not in self._too_large][:FETCH_BATCH]
        handled = 0
        for uid in uids:
            if self.stop.is_set():
                break
            sizes = client.fetch([uid], ["RFC822.SIZE"])
            size = sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
            if size > MAX_MAIL_BYTES:
                log.warning("IMAP message %s is %d bytes, over the %d limit: left on the server", uid, size,
                            MAX_MAIL_BYTES)
                self._too_large.add(uid)
                continue
            # BODY.PEEK: reading must not set \Seen, or a crash before storing would hide the mail for good.
            data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
            if not data or b"BODY[]" not in data:
                continue  # expunged meanwhile
            ingest(self.services, bytes(data[b"BODY[]"]))
            self.stored += 1
            if self._after_store is not None:
                self._after_store(uid)
            self._mark_done(client, uid)
            handled += 1
        return handled

    def _mark_done(self, client: Any, uid: int) -> None:
        folder = self.settings.processed_folder
        if not folder:
            client.add_flags([uid], [b"\\Seen"])
        elif b"MOVE" in client.capabilities():
            client.move([uid], folder)
        else:
            client.copy([uid], folder)
            client.delete_messages([uid])
            client.uid_expunge([uid]) if b"UIDPLUS" in client.capabilities() else client.expunge()

    def _where(self) -> str:
        return _where(self.settings)


def _where(settings: InboundEmailSettings) -> str:
    return f"{settings.host}:{settings.effective_port}"


def connect(settings: InboundEmailSettings) -> Any:
    """A logged-in client with the folder selected (and `processed_folder` made, when set)."""
    from imapclient import IMAPClient

    s = settings
    ssl_context = None
    if s.security in ("tls", "starttls"):
        import ssl

        ssl_context = ssl.create_default_context()
    client = IMAPClient(s.host, port=s.effective_port, ssl=s.security == "tls", ssl_context=ssl_context,
                        timeout=s.timeout_s)
    try:
        if s.security == "starttls":
            client.starttls(ssl_context)
        client.login(s.username or "", s.password.get_secret_value() if s.password else "")
        client.select_folder(s.folder)
        if s.processed_folder and not client.folder_exists(s.processed_folder):
            client.create_folder(s.processed_folder)
    except BaseException:
        _close(client)
        raise
    return client


def _is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 1 and response[0] == b"BYE"


def _words(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _close(client: Any) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - a broken connection closes any way it likes
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            log.debug("IMAP connection closed uncleanly")


def check_login(settings: InboundEmailSettings) -> str:
    """Log in and select the folder (for `doctor`); returns what was found, raises with the server's words."""
    client = connect(settings)
    try:
        count = len(client.search(["UNSEEN"] if not settings.processed_folder else ["ALL"]))
        return f"logged in to {_where(settings)} as {settings.username}; {count} in {settings.folder} to read"
    finally:
        _close(client)
