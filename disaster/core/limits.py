"""Limits applied at the door, before a request's body is read: its size per route, and
per-client rate limits of the public routes that anyone can call.

The server receives a whole body before Django sees the request, so these checks sit in
front of it as ASGI middleware (`EntryGate`, in `disaster/asgi.py`): a body declared too
large is refused unread, a streamed one as soon as it passes its route's cap, and a client
already over its limit gets its 429 without its photo being received.
`BodyLimitMiddleware` is the same cap inside Django (the test client). Both answer in the
API's error format.
"""

from __future__ import annotations

import contextvars
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja.throttling import BaseThrottle

from disaster.core.clients import client_key, request_client, scope_client
from disaster.core.errors import RateLimited, error_response

# Routes that take a file: (path pattern, the setting holding the largest file). Every other
# request may carry DATA_UPLOAD_MAX_MEMORY_SIZE, Django's own limit for a non-file body.
UPLOAD_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"/api/v1/public/reports"), "REPORT_PHOTO_MAX_BYTES"),
    (re.compile(r"/api/v1/reports/\d+/photos"), "REPORT_PHOTO_MAX_BYTES"),
    (re.compile(r"/api/v1/depots/\d+/count-sheet"), "SHEET_MAX_BYTES"),
    (re.compile(r"/api/v1/shelters/import"), "OPENDATA_MAX_BYTES"),
    (re.compile(r"/admin/setup-city/"), "CITY_SETUP_MAX_BYTES"),
]
# A multipart body's own overhead (boundaries, part headers, the form's other fields).
MULTIPART_SLACK = 64 * 1024


def body_cap(path: str) -> int:
    """The most bytes a request to `path` may send."""
    for pattern, setting in UPLOAD_ROUTES:
        if pattern.fullmatch(path):
            return getattr(settings, setting) + MULTIPART_SLACK
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large(cap: int) -> HttpResponse:
    mb = f"{cap / 1_000_000:.1f}".removesuffix(".0")
    return error_response(
        413, "too_large", _("送信内容が大きすぎます（%(mb)s MB まで）。") % {"mb": mb}
    )


def rate_limited(retry_after: int) -> HttpResponse:
    response = error_response(
        429, "rate_limited", str(RateLimited.default_message), retry_after=retry_after
    )
    response["Retry-After"] = str(retry_after)
    return response


# Per-client limits of public routes: (method, path) → a function from the client's key to
# the seconds it must wait (None while it may go on).
WaitFor = Callable[[str], int | None]
CLIENT_LIMITS: dict[tuple[str, str], WaitFor] = {}

_wait: contextvars.ContextVar[int | None] = contextvars.ContextVar("client_limit_wait")


@dataclass(eq=False)
class ClientLimit(BaseThrottle):
    """A per-client limit on one route, as a ninja throttle (checked before ninja reads the
    form) and, through `CLIENT_LIMITS`, by `EntryGate` before the body is received at all.
    The count itself stays with the service, which checks it again under its lock."""

    method: str
    path: str
    wait_for: WaitFor

    def __post_init__(self) -> None:
        CLIENT_LIMITS[(self.method, self.path)] = self.wait_for

    def allow_request(self, request: HttpRequest) -> bool:
        wait = self.wait_for(client_key(request_client(request)))
        _wait.set(wait)
        return wait is None

    def wait(self) -> float | None:
        return _wait.get(None)


class BodyLimitMiddleware:
    """The body cap for WSGI servers and the test client: a declared length over the route's
    cap is refused before anything reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cap = body_cap(request.path)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > cap:
            return too_large(cap)
        return self.get_response(request)


MAX_REMEMBERED = 10_000  # refused clients kept in memory per process


def _asked_in_thread(wait_for: WaitFor, key: str) -> int | None:
    try:
        return wait_for(key)
    finally:
        close_old_connections()  # this thread's connection goes back (to the pool)


async def _answer(send, response: HttpResponse) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    headers.append((b"connection", b"close"))  # the rest of the body is never read
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


class EntryGate:
    """ASGI middleware in front of Django: body caps and public routes' client limits."""

    def __init__(self, app):
        self.app = app
        # Clients this process refused, until when: a flood from one client is answered
        # from here, in the event loop, without a query and without taking one of the
        # threads Django's views run on (the operations room's requests wait for those).
        self._refused: dict[tuple[str, str, str], float] = {}

    async def _client_wait(self, scope, wait_for: WaitFor) -> int | None:
        key = client_key(scope_client(scope))
        refused = (scope["method"], scope["path"], key)
        now = time.monotonic()
        until = self._refused.get(refused)
        if until is not None and until > now:
            return math.ceil(until - now)
        # In a thread of its own, not Django's (thread_sensitive=False, see above).
        wait = await sync_to_async(_asked_in_thread, thread_sensitive=False)(wait_for, key)
        if wait is not None:
            if len(self._refused) >= MAX_REMEMBERED:
                self._refused = {k: t for k, t in self._refused.items() if t > now}
                if len(self._refused) >= MAX_REMEMBERED:
                    self._refused.clear()
            self._refused[refused] = now + wait
        else:
            self._refused.pop(refused, None)
        return wait

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = body_cap(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            return await _answer(send, too_large(cap))
        wait_for = CLIENT_LIMITS.get((scope["method"], scope["path"]))
        if wait_for is not None:
            wait = await self._client_wait(scope, wait_for)
            if wait is not None:
                return await _answer(send, rate_limited(wait))

        # The whole body is received here, in the event loop, before a thread is taken:
        # a resident's photo arriving slowly over a crowded network holds none of the few
        # threads the views run on (disaster/asgi.py).
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending all of it
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > cap:
                return await _answer(send, too_large(cap))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks
        delivered = False

        async def received_body():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # only a disconnect can follow

        await self.app(scope, received_body, send)
