"""The gateway under abuse: deadlines, caps and short logs, so that stalled or flooding clients cannot take it down.

- Request headers must arrive within `gateway.header_timeout_s` and the body within `gateway.body_timeout_s`;
  otherwise the answer is 408 and the connection is closed. aiohttp has no header deadline of its own: each
  connection is wrapped in `GuardedConnection`, whose timer the middleware stops once the headers are in.
- At most `gateway.max_concurrent` requests are handled at once; past that, 503 (`/healthz` is outside the cap).
- Bodies over `gateway.max_body_bytes` get 413.
- Open connections stay below the process's open-file limit: at the limit, the oldest connection that has not sent
  its headers yet makes room. Without this, 1,100 stalled clients at the common limit of 1,024 left no descriptor
  for `/healthz` and asyncio logged a traceback for every refused accept (166 MB in 35 s).
- Client errors log one line, never a traceback, and repeated ones are counted into one line a second.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from staff_feed_tui.config import GatewaySettings

log = logging.getLogger("staff_feed_tui.gateway")

# asyncio accepts up to BACKLOG connections in one go before any of them reaches `Limits.opened`, so the room kept
# under the open-file limit covers that burst and the rest: the database, its WAL, media downloads, the log.
BACKLOG = 128
RESERVED_FILES = BACKLOG + 128
_408 = b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\n" \
       b"request too slow"
_503 = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nRetry-After: 1\r\n" \
       b"Connection: close\r\n\r\nbusy"


class Tally:
    """Log lines that may come in floods, counted and written at most once a second per kind."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._scheduled = False

    def note(self, kind: str) -> None:
        self._counts[kind] = self._counts.get(kind, 0) + 1
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(1.0, self.flush)

    def flush(self) -> None:
        self._scheduled = False
        counts, self._counts = self._counts, {}
        for kind, count in counts.items():
            log.warning("%s (%d times in the last second)" if count > 1 else "%s", kind, *([count] if count > 1 else []))


@dataclass
class Limits:
    """What the guard counts for one gateway app: open connections, requests in flight."""

    settings: GatewaySettings
    max_connections: int = 1 << 30
    in_flight: int = 0
    tally: Tally = field(default_factory=Tally)
    connections: dict[object, GuardedConnection] = field(default_factory=dict)  # by transport, oldest first

    def opened(self, connection: GuardedConnection) -> bool:
        """Make room for a new connection; False when there is none (every open one is in a request)."""
        if len(self.connections) >= self.max_connections:
            oldest = next((c for c in self.connections.values() if c.waiting_for_headers), None)
            if oldest is None:
                self.tally.note("a connection was refused: every open connection is in a request")
                return False
            oldest.drop("a connection that had sent no complete headers was closed to make room for a new one")
        self.connections[connection.transport] = connection
        return True


GUARD = web.AppKey("guard", Limits)


class GuardedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a deadline for the request headers."""

    def __init__(self, inner: asyncio.Protocol, limits: Limits) -> None:
        self._inner = inner
        self._limits = limits
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.waiting_for_headers = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self._limits.opened(self):
            transport.write(_503)
            transport.close()
            return
        self._inner.connection_made(transport)
        timeout = self._limits.settings.header_timeout_s
        self._timer = asyncio.get_running_loop().call_later(timeout, self.drop,
                                                            f"no complete request headers within {timeout:g} s")

    def headers_in(self) -> None:
        """The middleware has the request: its headers arrived in time."""
        self.waiting_for_headers = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def drop(self, why: str) -> None:
        """408 and close: the headers did not come in time, or the room is needed."""
        if self.transport is not None and not self.transport.is_closing():
            self._limits.tally.note(f"408: {why}")
            self.transport.write(_408)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._limits.connections.pop(self.transport, None) is not None:
            self._inner.connection_lost(exc)


async def _answer_and_close(request: web.Request, status: int, text: str, **headers: str) -> web.Response:
    """Answer and close at once: aiohttp would otherwise wait up to 10 s for the unread rest of the body."""
    response = web.Response(status=status, text=text, headers=headers)
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    if request.transport is not None:
        request.transport.close()  # after what is written has gone out
    return response


def guard_middleware(limits: Limits) -> Callable[..., Awaitable[web.StreamResponse]]:
    settings = limits.settings

    @web.middleware
    async def guarded(request: web.Request, handler):  # type: ignore[no-untyped-def]
        connection = limits.connections.get(request.transport)
        if connection is not None:
            connection.headers_in()
        if request.path == "/healthz":
            return await handler(request)
        if limits.in_flight >= settings.max_concurrent:
            limits.tally.note(f"503: more than {settings.max_concurrent} requests at once")
            return await _answer_and_close(request, 503, "busy, try again", **{"Retry-After": "1"})
        if request.content_length is not None and request.content_length > settings.max_body_bytes:
            limits.tally.note(f"413: a body of more than {settings.max_body_bytes} bytes")
            return await _answer_and_close(request, 413, f"the body is larger than {settings.max_body_bytes} bytes")
        limits.in_flight += 1
        try:
            if request.body_exists:
                try:
                    await asyncio.wait_for(request.read(), settings.body_timeout_s)
                except TimeoutError:
                    limits.tally.note(f"408: no complete body within {settings.body_timeout_s:g} s")
                    return await _answer_and_close(request, 408, "request too slow")
                except web.HTTPRequestEntityTooLarge:
                    limits.tally.note(f"413: a body of more than {settings.max_body_bytes} bytes")
                    return await _answer_and_close(request, 413, f"the body is larger than {settings.max_body_bytes} bytes")
            return await handler(request)
        finally:
            limits.in_flight -= 1

    return guarded


class OneLine(logging.Filter):
    """A record that carries a traceback becomes one line: the exception's type and the start of its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {str(exc)[:200]}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def open_file_limit() -> int | None:
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def _out_of_files_counted(tally: Tally) -> Callable[[asyncio.AbstractEventLoop, dict[str, object]], None]:
    """asyncio's handler logs a traceback each time accept() finds no free descriptor: count those instead."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
            tally.note(f"new connections wait: {exc.strerror}")
            return
        loop.default_exception_handler(context)

    return handle


async def serve(app: web.Application, host: str, port: int, ready: Callable[[str, int], None]) -> None:
    """Serve `app` (made by make_gateway_app) until SIGINT or SIGTERM, each connection guarded."""
    limits = app[GUARD]
    files = open_file_limit()
    if files is not None:
        limits.max_connections = max(16, files - RESERVED_FILES)
    for name in ("aiohttp.server", "aiohttp.access", "aiohttp.web", "asyncio"):
        logging.getLogger(name).addFilter(OneLine())
    # aiohttp closes a connection idle for keepalive_timeout without a word (from 3.14 also one that never sent its
    # headers): a second later than our deadline, so that such a client hears 408 from us first.
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.settings.header_timeout_s + 1)
    await runner.setup()
    protocol_factory = runner.server
    assert protocol_factory is not None
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_out_of_files_counted(limits.tally))
    server = await loop.create_server(lambda: GuardedConnection(protocol_factory(), limits), host, port,
                                      backlog=BACKLOG)
    ready(host, server.sockets[0].getsockname()[1])
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await runner.cleanup()
