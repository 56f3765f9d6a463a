"""SMS through Twilio's Messages API with the real `twilio` SDK.

Twilio has no bulk send, so throughput is concurrent single sends. A fan-out sends
through the SDK's asynchronous client (aiohttp): one event loop per process keeps many
requests in flight over keep-alive connections, at about a third of the CPU per message
of a thread per request. The synchronous client (one per thread, with its own keep-alive
connection) serves the few sends made outside a fan-out's loop. Each request's
Retry-After is kept for its own caller: per thread, or per task.

Twilio has no idempotency key for sending. A request whose answer was lost may have been
accepted, so before sending again we list the messages to that number since the delivery
was queued and adopt one carrying our text (`find_accepted`). The window left: Twilio's
list is not guaranteed to show a message the instant it is accepted; a message accepted
and not yet listed would be sent twice. Status callbacks of both would then name the
same Delivery, and the second SID is recorded in last_error for follow-up.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from alerts.delivery.transports import OneTap, Transport, TransportError, retry_after_seconds

# The SDK logs every request at INFO, URLs included (a message look-up URL carries the
# phone number): never let personal data reach the logs (DESIGN decision 9).
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
logging.getLogger("twilio.async_http_client").setLevel(logging.WARNING)

# Twilio error codes that no retry can fix: invalid or unreachable numbers, a recipient who
# replied STOP, a region we may not send to. (Any other 4xx but 429 is final too.)
PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614, 30003, 30005, 30006}


class _RememberingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, keeping the last answer's Retry-After for our retry policy."""

    retry_after: str | None = None

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        self.retry_after = (response.headers or {}).get("Retry-After")
        return response


# The Retry-After of the last answer in this task: a task awaits its own requests, so a
# value set inside the client's `request` is the one its caller reads.
_retry_after: ContextVar[str | None] = ContextVar("twilio_retry_after", default=None)


class _AsyncHttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client on a session of ours: at most `limit` keep-alive
    connections, the request timeout, and the environment's proxy for Twilio's URL read
    once (aiohttp's trust_env reads the environment and ~/.netrc on every request: ~10%
    of a send's CPU)."""

    def __init__(self, limit: int, timeout: float) -> None:
        super().__init__(pool_connections=False)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit),
            timeout=aiohttp.ClientTimeout(total=timeout),
            proxy=_proxy_for(settings.TWILIO_BASE_URL or "https://api.twilio.com"),
        )

    async def request(self, method, url, params=None, data=None, headers=None, auth=None, **kw):
        headers = dict(headers or {})
        if auth is not None:  # as a header: aiohttp deprecates the SDK's BasicAuth object
            token = base64.b64encode(":".join(auth).encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        if isinstance(data, dict):  # the form as bytes: aiohttp's FormData is ~1/4 of a send
            data = urlencode(data, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = await super().request(method, url, params, data, headers, None, **kw)
        _retry_after.set((response.headers or {}).get("Retry-After"))
        return response


def _proxy_for(url: str) -> str | None:
    parts = urlsplit(url)
    if proxy_bypass(parts.hostname or ""):
        return None
    return getproxies().get(parts.scheme)


def status_callback_url(key: str) -> str:
    """Where Twilio reports each message's status: always set, so every Delivery learns
    whether it arrived. The key names the delivery even before we know the SID."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/hooks/twilio/status?{urlencode({'key': key})}"


class TwilioSms(Transport):
    channel = "sms"
    max_recipients = 1
    concurrent = True

    def __init__(self) -> None:
        self._local = threading.local()
        self.timeout = settings.ALERTS_HTTP_TIMEOUT_S
        self._async: Client | None = None

    def client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            # Proxies read from the environment once, not on every request (requests scans
            # os.environ per request otherwise: ~18% of a send's CPU in a fan-out).
            http = _RememberingHttpClient(
                pool_connections=True, timeout=self.timeout, proxy=getproxies() or None
            )
            http.session.trust_env = False
            client = self._with_base_url(
                Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)
            )
            self._local.client = client
        return client

    def _with_base_url(self, client: Client) -> Client:
        if settings.TWILIO_BASE_URL:
            client.api.base_url = settings.TWILIO_BASE_URL
        return client

    @asynccontextmanager
    async def opened(self, concurrency: int) -> AsyncIterator[None]:
        http = _AsyncHttpClient(concurrency, self.timeout)
        self._async = self._with_base_url(
            Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)
        )
        try:
            yield
        finally:
            self._async = None
            await http.close()

    def _message(self, number: str, text: str, idempotency_key: str) -> dict:
        return {
            "to": number,
            "from_": settings.TWILIO_FROM_NUMBER,
            "body": text,
            "status_callback": status_callback_url(idempotency_key),
            # A level-4 order that could not go out within this window is stale.
            "validity_period": settings.ALERTS_SMS_VALIDITY_S,
        }

    def send(
        self,
        to: Sequence[str],
        text: str,
        *,
        idempotency_key: str,
        answers: Sequence[OneTap] = (),  # no buttons in an SMS: the text asks for a digit
    ) -> str:
        (number,) = to
        client = self.client()
        try:
            message = client.messages.create(**self._message(number, text, idempotency_key))
        except TwilioRestException as error:
            raise self._error(error, client.http_client.retry_after) from error
        except (requests.ConnectTimeout, requests.exceptions.SSLError) as error:
            # Never reached Twilio: safe to send again without looking.
            raise TransportError(f"Twilio unreachable: {type(error).__name__}") from error
        except requests.RequestException as error:
            raise TransportError(
                f"Twilio answer lost: {type(error).__name__}", ambiguous=True
            ) from error
        return message.sid

    async def send_async(self, to: Sequence[str], text: str, *, idempotency_key: str) -> str:
        (number,) = to
        assert self._async is not None, "send_async outside opened()"
        try:
            message = await self._async.messages.create_async(
                **self._message(number, text, idempotency_key)
            )
        except TwilioRestException as error:
            raise self._error(error, _retry_after.get()) from error
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            # Never reached Twilio (no connection, or TLS refused): safe to send again.
            raise TransportError(f"Twilio unreachable: {type(error).__name__}") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransportError(
                f"Twilio answer lost: {type(error).__name__}", ambiguous=True
            ) from error
        return message.sid

    def _error(self, error: TwilioRestException, retry_after: str | None) -> TransportError:
        if error.status == 429:
            return TransportError(
                "Twilio rate limit (429)", retry_after=retry_after_seconds(retry_after)
            )
        if error.status >= 500:
            return TransportError(f"Twilio error {error.status}")
        permanent = error.code in PERMANENT_CODES or 400 <= error.status < 500
        return TransportError(f"Twilio error {error.code or error.status}", permanent=permanent)

    def find_accepted(self, to: Sequence[str], text: str, since: datetime) -> str | None:
        (number,) = to
        try:
            messages = self.client().messages.list(**self._look_up(number))
        except (TwilioRestException, requests.RequestException) as error:
            raise TransportError(f"Twilio look-up failed: {type(error).__name__}") from error
        return _ours(messages, text, since)

    async def find_accepted_async(
        self, to: Sequence[str], text: str, since: datetime
    ) -> str | None:
        (number,) = to
        assert self._async is not None, "find_accepted_async outside opened()"
        try:
            messages = await self._async.messages.list_async(**self._look_up(number))
        except (TwilioRestException, aiohttp.ClientError, TimeoutError) as error:
            raise TransportError(f"Twilio look-up failed: {type(error).__name__}") from error
        return _ours(messages, text, since)

    @staticmethod
    def _look_up(number: str) -> dict:
        return {"to": number, "from_": settings.TWILIO_FROM_NUMBER, "limit": 50}


def _ours(messages: list, text: str, since: datetime) -> str | None:
    """The SID of the message listed with our text, created since the delivery was queued."""
    for message in messages:
        created = message.date_created
        if message.body == text and (created is None or created >= since.replace(microsecond=0)):
            return message.sid
    return None
