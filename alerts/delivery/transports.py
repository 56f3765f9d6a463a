"""The transport contract, the one retry policy every provider shares, and which provider
serves a channel (DESIGN decision 5: one contract, one package per provider).

Like healthchecks' `hc/api/transports.py`: a provider raises `TransportError(message,
permanent=..., retry_after=...)` and knows nothing about retrying; `send_with_retries`
decides, in one place, whether and when to try again:

- a permanent error (invalid number, blocked user, any final 4xx) is never retried;
- 429 waits at least the provider's Retry-After;
- a provider with a documented rate limit paces its own requests (`Pace`, LINE);
- 5xx, timeouts and dropped connections back off exponentially with jitter;
- attempts are bounded (ALERTS_SEND_ATTEMPTS), so a dead provider cannot hold a worker.

An error is *ambiguous* when the request may have reached the provider (the answer was
lost: read timeout, connection dropped after sending). Before sending again after such an
error we ask the transport whether the provider already accepted it (`find_accepted`):
LINE needs no look-up (the same X-Line-Retry-Key makes LINE answer 409 "already
accepted"), Twilio has no idempotency key, so its transport searches its message list.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from alerts.models import Channel


class TransportError(Exception):
    """A send failed. `permanent`: retrying cannot help. `retry_after`: seconds the provider
    asked us to wait. `ambiguous`: the provider may have accepted the request anyway."""

    def __init__(
        self,
        message: str,
        permanent: bool = False,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class OneTap:
    """An answer the recipient can give with one tap: a channel with buttons (LINE quick
    replies) shows `label` and sends `data` back; channels without (SMS, console) ignore
    it, their text asks for a reply keyword instead."""

    label: str
    data: str


@dataclass(frozen=True)
class Accepted:
    """The provider accepted the message: its id (Twilio SID, LINE request id)."""

    provider_id: str
    attempts: int


class Transport:
    """One provider. `send` delivers one text (and, where the channel can show them, its
    one-tap `answers`) to up to `max_recipients` addresses in one request and returns the
    provider's id for it, or raises TransportError."""

    channel: str = ""
    max_recipients: int = 1

    def send(
        self,
        to: Sequence[str],
        text: str,
        *,
        idempotency_key: str,
        answers: Sequence[OneTap] = (),
    ) -> str:
        raise NotImplementedError

    def find_accepted(self, to: Sequence[str], text: str, since: datetime) -> str | None:
        """The provider id of a message with this text to these addresses accepted since
        `since`, if the provider can tell us; None when it was not (or cannot say)."""
        return None

    # A provider of one recipient per request (Twilio) sends `concurrently`: many requests
    # in flight from one event loop, through the `_async` twins below, within `opened()`.
    concurrent: bool = False

    @asynccontextmanager
    async def opened(self, concurrency: int) -> AsyncIterator[None]:
        """Keep-alive connections for up to `concurrency` requests at once, for the
        asynchronous sends made inside this block (on the running event loop)."""
        yield

    async def send_async(self, to: Sequence[str], text: str, *, idempotency_key: str) -> str:
        raise NotImplementedError

    async def find_accepted_async(
        self, to: Sequence[str], text: str, since: datetime
    ) -> str | None:
        return None


def sending_processes(channel: str) -> int:
    """How many processes send one channel of a fan-out at once: SMS from
    ALERTS_SEND_PROCESSES (Twilio has no bulk API, and one process's GIL caps its single
    sends), LINE from one (a few hundred multicasts carry 100,000 recipients)."""
    return settings.ALERTS_SEND_PROCESSES if channel == "sms" else 1


class Pace:
    """At most `per_second` requests from all the threads of this process that share it:
    each request takes the next free slot of one schedule and waits for it (no bursts). A
    provider's 429 pushes the schedule back by its Retry-After, pausing every thread, not
    only the one that was refused."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._next = 0.0
        self._clock = clock

    def wait(self, per_second: float, sleep: Callable[[float], None] = time.sleep) -> None:
        if per_second <= 0:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + 1.0 / per_second
        if slot > now:
            sleep(slot - now)

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (both providers use seconds)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: attempt 1 waits up to base, then 2×, 4×…"""
    base = settings.ALERTS_RETRY_BASE_S
    cap = settings.ALERTS_RETRY_MAX_S
    return random.uniform(base / 2, min(cap, base * 2 ** (attempt - 1)))


class Retries:
    """The retry policy's state for one request. `send_with_retries` and its asynchronous
    twin step it, so both decide alike."""

    def __init__(self, attempts: int | None, resumed: bool) -> None:
        self.tries_left = attempts or settings.ALERTS_SEND_ATTEMPTS
        self.attempt = 0
        # An earlier run may have sent it, or the last answer was lost: look it up first.
        self.check_first = resumed

    def wait_after(self, error: TransportError) -> float:
        """Seconds to wait before trying again after `error`; raises it when out of tries."""
        self.tries_left = 0 if error.permanent else self.tries_left - 1
        if self.tries_left <= 0:
            raise error
        self.check_first = error.ambiguous
        wait = error.retry_after if error.retry_after is not None else backoff(self.attempt)
        return min(wait, settings.ALERTS_RETRY_AFTER_MAX_S)


def send_with_retries(
    transport: Transport,
    to: Sequence[str],
    text: str,
    *,
    idempotency_key: str,
    since: datetime,
    resumed: bool = False,
    answers: Sequence[OneTap] = (),
    attempts: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Accepted:
    """Send with the shared retry policy; raise the last TransportError when out of tries.

    `resumed`: an earlier run may already have sent this (it was marked "sending" when the
    worker died), so look it up before sending, exactly as after an ambiguous error."""
    retries = Retries(attempts, resumed)
    while True:
        retries.attempt += 1
        try:
            if retries.check_first and (found := transport.find_accepted(to, text, since)):
                return Accepted(found, retries.attempt - 1)
            sent = transport.send(to, text, idempotency_key=idempotency_key, answers=answers)
            return Accepted(sent, retries.attempt)
        except TransportError as error:
            sleep(retries.wait_after(error))


async def send_with_retries_async(
    transport: Transport,
    to: Sequence[str],
    text: str,
    *,
    idempotency_key: str,
    since: datetime,
    resumed: bool = False,
    attempts: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Accepted:
    """`send_with_retries` for a transport that sends `concurrently`: the same policy, with
    the waits and requests awaited, so one event loop keeps many requests in flight."""
    retries = Retries(attempts, resumed)
    while True:
        retries.attempt += 1
        try:
            if retries.check_first and (
                found := await transport.find_accepted_async(to, text, since)
            ):
                return Accepted(found, retries.attempt - 1)
            sent = await transport.send_async(to, text, idempotency_key=idempotency_key)
            return Accepted(sent, retries.attempt)
        except TransportError as error:
            await sleep(retries.wait_after(error))


# Providers are named by dotted path, as Django names its e-mail backends: delivery never
# imports a provider, so each provider's package (transport, webhook, status words) may
# import delivery without a cycle.
PROVIDERS = {
    "sms": "alerts.providers.twilio.transport.TwilioSms",
    "line": "alerts.providers.line.transport.Line",
}
CONSOLE = "alerts.providers.console.ConsoleTransport"
# The console's message ids start with this: a delivery with such a provider id was never
# sent to anyone, and the delivery figures count it apart (`alerts.delivery.progress`).
CONSOLE_ID_PREFIX = "console-"


def configured(channel: str) -> bool:
    """Whether the real provider of a channel has its credentials."""
    if channel == "sms":
        return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)
    if channel == "line":
        return bool(settings.LINE_CHANNEL_ACCESS_TOKEN)
    return False


def console_channels() -> list[str]:
    """The channels that go to the console now: nothing sent, and the pages say so."""
    return [channel for channel in PROVIDERS if not configured(channel)]


def console_banner() -> dict[str, list[str]]:
    """What a staff page needs for its console-delivery banner (alerts/console_banner.html)."""
    channels = console_channels()
    return {"console_channels": channels, "console_labels": [Channel(c).label for c in channels]}


def transport_for(channel: str) -> Transport:
    """The transport for a channel ("sms" or "line"): the provider when configured, else the
    console (ALERTS_CONSOLE_DELIVERY, the default when debugging), so a development machine
    never needs Twilio or LINE; never silently in production."""
    if configured(channel):
        return import_string(PROVIDERS[channel])()
    if not settings.ALERTS_CONSOLE_DELIVERY:
        raise ImproperlyConfigured(
            f"No credentials for {channel} and ALERTS_CONSOLE_DELIVERY is off: "
            "nothing to send with."
        )
    return import_string(CONSOLE)(channel)
