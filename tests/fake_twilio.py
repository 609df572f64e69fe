"""A loopback HTTP server that plays Twilio's REST API (Messages and Accounts), for the real twilio client to call.

Answers look like Twilio's: 201 with the message resource as JSON, and errors as `{"code", "message",
"more_info", "status"}` with the real codes. `script` gives per-number answers, consumed in order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
import weakref
from dataclasses import dataclass, field

from aiohttp import web

from tests.smtp_server import reserve_port


@dataclass
class Call:
    account: str
    form: dict[str, list[str]]

    def one(self, key: str) -> str | None:
        values = self.form.get(key)
        return values[0] if values else None


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    calls: list[Call] = field(default_factory=list)
    # To number -> answers to give, in order: (http status, twilio code or None).
    script: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    port: int = 0  # 0: an ephemeral port, held from here on (see `reserve_port`)
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        self._sock = reserve_port(self.port)
        self._closer = weakref.finalize(self, self._sock.close)
        self.port = self._sock.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.received = threading.Condition()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
        return web.json_response(body, status=status)

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        form: dict[str, list[str]] = {}
        for key, value in (await request.post()).items():
            form.setdefault(key, []).append(str(value))
        call = Call(request.match_info["sid"], form)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        to = call.one("To") or ""
        answers = self.script.get(to)
        with self.received:
            self.calls.append(call)
            self.received.notify_all()
        if answers:
            status, code = answers.pop(0)
            if status >= 400:
                if code is None:
                    return web.Response(status=status, text="upstream trouble")
                return self._error(status, code, f"scripted error {code}")
        sid = "SM" + uuid.uuid4().hex
        body = {
            "account_sid": call.account,
            "api_version": "2010-04-01",
            "body": call.one("Body"),
            "date_created": "Sun, 29 Nov 2026 13:00:00 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": call.one("From"),
            "messaging_service_sid": call.one("MessagingServiceSid"),
            "num_media": str(len(form.get("MediaUrl", []))),
            "num_segments": "1",
            "sid": sid,
            "status": "queued",
            "to": to,
            "uri": f"/2010-04-01/Accounts/{call.account}/Messages/{sid}.json",
        }
        return web.json_response(body, status=201)

    async def _account(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        sid = request.match_info["sid"]
        return web.json_response({"sid": sid, "friendly_name": "Test account", "status": "active", "type": "Full"})

    def start(self) -> FakeTwilio:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)
            app.router.add_get("/2010-04-01/Accounts/{sid}.json", self._account)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.SockSite(self._runner, self._sock).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Twilio did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None
        self._closer()  # the port is given up: a client now finds nothing there

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Call]:
        with self.received:
            if not self.received.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} calls, got {len(self.calls)}")
            return list(self.calls)


def as_json(call: Call) -> str:
    return json.dumps(call.form, sort_keys=True)
