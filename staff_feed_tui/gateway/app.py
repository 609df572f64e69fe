"""The gateway's aiohttp app: Twilio's inbound SMS/MMS and status webhooks, signed media URLs, and a health check.

Every `/twilio/*` request must carry a valid `X-Twilio-Signature` for `gateway.public_url` + path + query (so the
check holds behind a TLS proxy); without one the answer is 403 and nothing is read further or stored. A signed but
malformed request gets 400. No input is meant to produce a 500: handlers turn every failure into an answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from aiohttp import BasicAuth, ClientSession, ClientTimeout, web
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from twilio.request_validator import RequestValidator

from staff_feed_tui.config import Settings
from staff_feed_tui.core.inbound_media import ALLOWED_MEDIA, EXTENSIONS
from staff_feed_tui.core.media_token import InvalidMediaToken, read_media_token
from staff_feed_tui.core.segments import MAX_SMS_CHARS
from staff_feed_tui.core.sms_errors import describe
from staff_feed_tui.core.validation import InvalidContact, normalize_phone
from staff_feed_tui.gateway.guard import GUARD, Limits, guard_middleware
from staff_feed_tui.services.context import AttachmentStore, DatabaseBusy
from staff_feed_tui.services.inbound import StoredMedia, apply_status, is_known_sid, media_file, receive_sms

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10


class BadRequest(Exception):
    """A signed request that cannot be used (400)."""


@dataclass
class Gateway:
    settings: Settings
    engine: Engine
    attachments: AttachmentStore

    def __post_init__(self) -> None:
        token = self.settings.sms.auth_token
        self._validator = RequestValidator(token.get_secret_value()) if token else None
        self._public = (self.settings.gateway.public_url or "").rstrip("/")
        secret = self.settings.gateway.media_secret
        self._media_secret = secret.get_secret_value().encode() if secret else None

    # ---- signatures -------------------------------------------------------------------------------------------

    async def _signed_form(self, request: web.Request) -> dict[str, str]:
        """The form, once its signature checks out; raises HTTPForbidden otherwise."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or self._validator is None or not self._public:
            raise web.HTTPForbidden(text="missing or unverifiable signature")
        try:
            form = await request.post()
        except Exception:  # noqa: BLE001 - a body aiohttp cannot parse is not a signed Twilio form
            raise web.HTTPForbidden(text="bad signature") from None
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        url = self._public + request.rel_url.path_qs
        if not self._validator.validate(url, params, signature):
            raise web.HTTPForbidden(text="bad signature")
        return params

    # ---- handlers ---------------------------------------------------------------------------------------------

    async def inbound_sms(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
        sender = form.get("From", "")
        if not sid or len(sid) > 64 or not sender:
            raise BadRequest("MessageSid and From are required")
        try:
            number = normalize_phone(sender, self.settings.company.default_region)
        except InvalidContact as exc:
            raise BadRequest(str(exc)) from None
        body = form.get("Body", "")
        if await asyncio.to_thread(is_known_sid, self.engine, sid):
            return _twiml()
        media, note = await self._fetch_media(form)
        if len(body) > MAX_SMS_CHARS:  # more than any text can carry: a forged or broken request, kept short
            cut = f"the text had {len(body):,} characters; only the first {MAX_SMS_CHARS:,} are kept"
            body, note = body[:MAX_SMS_CHARS], f"{note}; {cut}" if note else cut
        received = await asyncio.to_thread(
            receive_sms, self.engine, sid=sid, from_number=number, body=body, media=media, note=note
        )
        log.info("inbound %s from %s: %s", sid, number, received.outcome.value)
        return _twiml()

    async def status_callback(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if not sid or not status:
            raise BadRequest("MessageSid and MessageStatus are required")
        code = _small_number(form.get("ErrorCode", ""))
        error = describe(code, form.get("ErrorMessage", "")) if code is not None else None
        await asyncio.to_thread(apply_status, self.engine, sid=sid, status=status, error=error)
        return web.Response(status=204)

    async def media(self, request: web.Request) -> web.StreamResponse:
        if self._media_secret is None:
            raise web.HTTPForbidden(text="media is not served: gateway.media_secret is not set")
        try:
            attachment_id = read_media_token(self._media_secret, request.match_info["token"], time.time())
        except InvalidMediaToken as exc:
            raise web.HTTPForbidden(text=str(exc)) from None
        found = await asyncio.to_thread(media_file, self.engine, self.attachments, attachment_id)
        if found is None:
            raise web.HTTPNotFound(text="no such file")
        return web.FileResponse(found.path, headers={"Content-Type": found.mime_type,
                                                     "Cache-Control": "private, max-age=60"})

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    # ---- inbound media ----------------------------------------------------------------------------------------

    async def _fetch_media(self, form: dict[str, str]) -> tuple[list[StoredMedia], str | None]:
        """Download each MediaUrlN with the account's credentials. A file that fails is named in the note."""
        count = _small_number(form.get("NumMedia", "0"))
        if count is None:
            raise BadRequest("NumMedia must be a number")
        if count == 0:
            return [], None
        problems: list[str] = []
        if count > MAX_MEDIA:
            problems.append(f"{count - MAX_MEDIA} of {count} files were not fetched (at most {MAX_MEDIA})")
            count = MAX_MEDIA
        sms = self.settings.sms
        auth = BasicAuth(sms.account_sid or "", sms.auth_token.get_secret_value() if sms.auth_token else "")
        stored: list[StoredMedia] = []
        limit = self.settings.gateway.max_media_bytes
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            for n in range(count):
                url = form.get(f"MediaUrl{n}", "")
                declared = form.get(f"MediaContentType{n}", "").split(";")[0].strip().lower()
                if not url.startswith(("https://", "http://")):
                    problems.append(f"file {n + 1} has no usable URL")
                    continue
                if not declared.startswith(ALLOWED_MEDIA):
                    problems.append(f"file {n + 1} ({declared or 'unknown type'}) is not a type staff-feed keeps")
                    continue
                try:
                    data = await _download(session, url, auth, limit)
                except _MediaTooLarge as exc:
                    problems.append(f"file {n + 1} is too large ({exc}); the limit is {limit // 1_000_000} MB")
                    continue
                except Exception as exc:  # noqa: BLE001 - any network failure is recorded, not raised
                    problems.append(f"file {n + 1} could not be fetched ({type(exc).__name__}: {exc})")
                    continue
                blob = await asyncio.to_thread(self.attachments.put_bytes, data)
                name = PurePosixPath(urlsplit(url).path).name or f"media-{n + 1}"
                stored.append(
                    StoredMedia(
                        filename=f"{name}{EXTENSIONS.get(declared, '')}",
                        mime_type=declared,
                        size=blob.size,
                        sha256=blob.sha256,
                        stored_path=blob.relative_path,
                    )
                )
        return stored, ("; ".join(problems) if problems else None)


class _MediaTooLarge(Exception):
    pass


async def _download(session: ClientSession, url: str, auth: BasicAuth, limit: int) -> bytes:
    async with session.get(url, auth=auth) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        if response.content_length is not None and response.content_length > limit:
            raise _MediaTooLarge(f"{response.content_length / 1_000_000:.1f} MB")
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise _MediaTooLarge(f"over {limit / 1_000_000:.1f} MB")
            chunks.append(chunk)
        return b"".join(chunks)


def _small_number(text: str) -> int | None:
    """A count or a code as Twilio sends it: ASCII digits, at most nine (`²` is a digit to str.isdigit)."""
    return int(text) if 0 < len(text) <= 9 and text.isascii() and text.isdigit() else None


def _twiml() -> web.Response:
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


@web.middleware
async def _answers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Every failure becomes an answer: 400 for a bad request, 503 when the database is busy, never a 500."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except BadRequest as exc:
        return web.Response(status=400, text=str(exc))
    except (DatabaseBusy, OperationalError) as exc:
        log.warning("database busy: %s", exc)
        return web.Response(status=503, text="busy, try again", headers={"Retry-After": "1"})
    except Exception as exc:  # one line for the log (a client can cause it); the traceback only in debug
        log.error("request to %s could not be handled: %s: %s", request.path[:100], type(exc).__name__, str(exc)[:200])
        log.debug("the traceback", exc_info=True)
        return web.Response(status=400, text="request could not be handled")


def make_gateway_app(settings: Settings, engine: Engine, attachments: AttachmentStore) -> web.Application:
    gateway = Gateway(settings, engine, attachments)
    limits = Limits(settings.gateway)
    app = web.Application(middlewares=[guard_middleware(limits), _answers],
                          client_max_size=settings.gateway.max_body_bytes)
    app[GUARD] = limits
    app.router.add_post("/twilio/sms", gateway.inbound_sms)
    app.router.add_post("/twilio/status", gateway.status_callback)
    app.router.add_get("/media/{token}", gateway.media)
    app.router.add_get("/healthz", gateway.health)
    return app
