"""SMS and MMS through Twilio's REST API with the twilio package's async client.

- The client is built with `environment={}`, so TWILIO_REGION / TWILIO_EDGE in the environment cannot change the
  host, and with our own HTTP client, which sends every call to `sms.api_base_url` when that is set (another region,
  or a loopback server in tests).
- Retries are ours (the worker's backoff), never the client's `max_retries`: its retry of a POST on 5xx can send
  a text twice.
- Deadlines are ours too: twilio's async client passes `timeout=None` to aiohttp, so a silent API would hold a send
  past its lease and a second worker would send the text again. Each request runs under `sms.timeout_s`; one that
  times out is retried, never counted as sent. A 2xx whose body cannot be read is counted as sent: Twilio has it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from staff_feed_tui.core import sms_errors
from staff_feed_tui.delivery.results import SendResult
from staff_feed_tui.store.outbox import ClaimedDelivery, OutgoingFile

log = logging.getLogger(__name__)

AUTHENTICATE = 20003  # Twilio's code for credentials it does not accept


class AcceptedUnread(Exception):
    """Twilio answered 2xx, but the body could not be read or parsed: the request was taken, so it is sent."""

    def __init__(self, status: int, problem: str) -> None:
        super().__init__(f"Twilio answered {status} but its answer could not be read ({problem})")


class RebasedHttpClient(AsyncTwilioHttpClient):
    """Sends every request to `base_url` instead of the host twilio chose, keeping the path and query, under a
    deadline of `timeout` seconds for the whole exchange (twilio's own passes None)."""

    def __init__(self, base_url: str | None, timeout: float | None = 30.0) -> None:
        super().__init__(timeout=timeout)
        self._base = urlsplit(base_url.rstrip("/")) if base_url else None

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self._base is not None:
            parts = urlsplit(url)
            url = urlunsplit((self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, ""))
        assert self.session is not None
        deadline = timeout or self.timeout
        async with asyncio.timeout(deadline):
            response = await self.session.request(
                method.upper(), url, params=params, data=data, headers=headers,  # type: ignore[arg-type]
                auth=aiohttp.BasicAuth(*auth) if auth else None, allow_redirects=allow_redirects,
                timeout=aiohttp.ClientTimeout(total=None),  # the deadline above covers the whole exchange
            )
            try:
                text = await response.text()
            except (aiohttp.ClientError, UnicodeDecodeError) as exc:
                if 200 <= response.status < 300:
                    raise AcceptedUnread(response.status, type(exc).__name__) from exc
                raise
        if 200 <= response.status < 300 and method.upper() == "POST":
            try:
                json.loads(text)
            except ValueError:
                raise AcceptedUnread(response.status, "not JSON") from None
        return Response(response.status, text, response.headers)


class TwilioSmsTransport:
    concurrency = 50  # texts in flight at once (aiohttp pools up to 100 connections per client)

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None,
        messaging_service_sid: str | None,
        api_base_url: str | None,
        status_callback_url: str | None,
        media_url: Callable[[OutgoingFile], str] | None,
        rate_per_s: float,
        timeout_s: float = 30.0,
    ) -> None:
        self._sid = account_sid
        self._token = auth_token
        self._from = from_number
        self._service = messaging_service_sid
        self._base = api_base_url
        self._callback = status_callback_url
        self._media_url = media_url
        self.rate_per_s = rate_per_s  # the worker spaces the starts
        self.timeout_s = timeout_s
        self._http: RebasedHttpClient | None = None
        self._client: Client | None = None

    async def open(self) -> None:
        if self._client is None:
            # The aiohttp session must be made inside the running loop.
            self._http = RebasedHttpClient(self._base, timeout=self.timeout_s)
            self._client = Client(self._sid, self._token, http_client=self._http, environment={})

    async def close(self) -> None:
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()

    async def send(self, item: ClaimedDelivery) -> SendResult:
        if not item.staff_phone:
            return SendResult.permanent(f"{item.staff_name} has no mobile number")
        media: list[str] = []
        if item.files:
            if self._media_url is None:
                return SendResult.permanent(
                    "MMS needs gateway.public_url and gateway.media_secret, so Twilio can fetch the files"
                )
            media = [self._media_url(f) for f in item.files]
        params: dict[str, object] = {"to": item.staff_phone, "body": item.body}
        if self._service:
            params["messaging_service_sid"] = self._service
        else:
            params["from_"] = self._from
        if media:
            params["media_url"] = media
        if self._callback:
            params["status_callback"] = self._callback
        await self.open()
        assert self._client is not None
        try:
            message = await self._client.messages.create_async(**params)  # type: ignore[arg-type]
        except TwilioRestException as exc:
            return classify(exc)
        except AcceptedUnread as exc:
            log.warning("delivery %s: %s; counted as sent", item.delivery_id, exc)
            return SendResult.sent(None)
        except TimeoutError:
            return SendResult.channel_down(f"Twilio did not answer within {self.timeout_s:g} s")
        except (aiohttp.ClientError, OSError) as exc:
            return SendResult.channel_down(f"Twilio unreachable: {exc or type(exc).__name__}")
        return SendResult.sent(message.sid)


def classify(exc: TwilioRestException) -> SendResult:
    """Twilio's refusal: the channel's (credentials, rate limiting, Twilio's own trouble) or the text's own."""
    code = exc.code if isinstance(exc.code, int) else None
    words = sms_errors.describe(code, (exc.msg or "").strip())
    if exc.status == 401 or code == AUTHENTICATE:
        return SendResult.channel_down(f"Twilio refused the account's credentials (check sms.auth_token): {words}")
    if exc.status == 429 or code in sms_errors.TRANSIENT_CODES:
        return SendResult.channel_down(f"Twilio is rate limiting: {words}")
    if exc.status >= 500:
        return SendResult.channel_down(f"Twilio error {exc.status}: {words}")
    if code == sms_errors.OPTED_OUT:
        return SendResult.permanent(words, opted_out=True)
    return SendResult.permanent(words if code else f"Twilio refused the text ({exc.status}): {words}")
