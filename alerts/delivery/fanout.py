"""Fan-out of one approved alert to its recipients, exactly once by us, resumable.

The steps (`send_alert` in alerts/jobs.py runs them):

1. One Delivery per (alert, subscriber, channel), created with INSERT … ON CONFLICT DO
   NOTHING: a rerun creates nothing twice.
2. Deliveries are *claimed* in chunks: queued → sending, with a fresh idempotency key per
   provider request, COMMITTED before the provider is called. Claims use FOR UPDATE SKIP
   LOCKED, so several threads (or worker processes) share the work without overlap. SMS,
   one request per message, go out from an event loop per process with many requests in
   flight (ALERTS_SMS_CONCURRENCY); LINE multicasts from threads.
3. A chunk's outcome is written in one UPDATE: sent + provider id, or failed (final 4xx:
   invalid number, blocked user), or — when retries ran out on a transient error — left
   "sending" with the error, for the job's next try.
4. A restarted job first finishes what an earlier run left "sending": those requests may
   or may not have reached the provider. LINE requests are resent with the *same*
   X-Line-Retry-Key (LINE answers 409 "already accepted" instead of delivering again);
   Twilio has no key, so its transport looks the message up before sending again (see
   alerts/providers/twilio/transport.py for the window that leaves).
5. LINE deliveries that failed for good fall back to SMS when the subscriber has a phone.
   Deliveries still queued once the alert's validity (valid_minutes from approval) has
   passed are not sent but recorded undeliverable: a retried job must not bring a level-4
   order hours late (Twilio's validity period only covers Twilio's own queue).
6. Progress counts (no personal data) are published at most every
   ALERTS_PROGRESS_INTERVAL_S and once at the end; then the alert is marked sent.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.models import Min
from django.utils import timezone

from alerts.delivery import event_kinds as delivery_events  # noqa: F401 (registers the event schemas)
from alerts.delivery.progress import publish_progress
from alerts.delivery.rows import (
    EXPIRED,
    Claim,
    Outcome,
    Status,
    choose_shelters,
    claim,
    create_deliveries,
    expire_queued,
    expired,
    fallback_to_sms,
    left_sending,
    names_shelters,
    queued_groups,
    record,
)
from alerts.delivery.transports import (
    Accepted,
    OneTap,
    Transport,
    TransportError,
    send_with_retries,
    send_with_retries_async,
    sending_processes,
    transport_for,
)
from alerts.lifecycle import mark_sending, mark_sent
from alerts.models import Alert, Delivery

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Unfinished(Exception):
    """Some deliveries are still "sending" after their retries: the job must run again."""


class Fanout:
    """One run of the fan-out of one alert."""

    def __init__(self, alert: Alert) -> None:
        self.alert = alert
        self.since: datetime = timezone.now()
        self.texts: dict[tuple[str, str, int | None], str] = {}
        self.answers: dict[str, tuple[OneTap, ...]] = {}
        self._lock = threading.Lock()
        self._claim_lock = threading.Lock()
        self._last_progress = 0.0
        self.publishes_progress = True
        self.timings: dict[str, float] = {}  # seconds per step, for the benchmark
        # LINE deliveries still queued, by the text they get: (language, district, ids).
        self._groups: list[tuple[str, int | None, list[int]]] | None = None
        self._after = 0  # the last delivery id this process claimed one at a time (SMS)

    def text(self, language: str, channel: str, district: int | None = None) -> str:
        from alerts.delivery.messages import message_text

        key = (language, channel, district)
        if key not in self.texts:
            shelter = self.alert.nearest_shelters.get(str(district))
            self.texts[key] = message_text(self.alert, language, channel, shelter=shelter)
        return self.texts[key]

    def one_taps(self, language: str) -> tuple[OneTap, ...]:
        """The safety check's one-tap answers (LINE shows them; SMS asks for a digit)."""
        from alerts.delivery.messages import safety_answers

        if language not in self.answers:
            self.answers[language] = safety_answers(self.alert, language)
        return self.answers[language]

    def deliver(self, transport: Transport, claim: Claim) -> Outcome:
        text = self.text(claim.language, transport.channel, claim.district)
        answers = self.one_taps(claim.language)
        try:
            accepted = send_with_retries(
                transport, claim.addresses, text, answers=answers, **self._request(claim)
            )
        except TransportError as error:
            return _failed(claim, error)
        return _sent(claim, accepted)

    async def deliver_async(self, transport: Transport, claim: Claim, text: str) -> Outcome:
        """`deliver` through a transport that sends `concurrently` (no one-tap answers:
        such a channel, SMS, asks for a digit in its text). The text comes from the
        database thread, since composing it may read the database."""
        try:
            accepted = await send_with_retries_async(
                transport, claim.addresses, text, **self._request(claim)
            )
        except TransportError as error:
            return _failed(claim, error)
        return _sent(claim, accepted)

    def _request(self, claim: Claim) -> dict:
        return {"idempotency_key": claim.key, "since": self.since, "resumed": claim.resumed}

    def split(self, transport: Transport, claim: Claim) -> list[Outcome]:
        """A multicast refused for good (one bad id fails the whole request): send each
        recipient alone under a key of their own, so only the bad ones fail."""
        outcomes = []
        for delivery_id, address in zip(claim.ids, claim.addresses, strict=True):
            key = str(uuid.uuid5(uuid.UUID(claim.key), str(delivery_id)))
            single = Claim(
                [delivery_id], [address], claim.language, key, claim.resumed, claim.district
            )
            outcomes.append(self.deliver(transport, single))
        return outcomes

    def settle_expired(self, transport: Transport, claims: list[Claim]) -> None:
        """SMS an interrupted run left "sending" once the alert expired: looked up (Twilio
        lists what it accepted), never sent again, since a resend would reach people hours
        late. Found: sent; not found: undeliverable. (LINE resends under the same retry
        key, which LINE answers 409 if it had accepted it.)"""
        outcomes = []
        for each in claims:
            text = self.text(each.language, transport.channel, each.district)
            try:
                found = transport.find_accepted(each.addresses, text, self.since)
            except TransportError as error:
                outcomes.append(Outcome(each.ids, Status.SENDING, "", 0, error.message[:500]))
                continue
            if found:
                outcomes.append(Outcome(each.ids, Status.SENT, found, 0, ""))
            else:
                outcomes.append(Outcome(each.ids, Status.UNDELIVERABLE, "", 0, EXPIRED))
        record(outcomes)

    def run_channel(self, channel: str) -> None:
        """Send every delivery of one channel: first what an interrupted run left
        "sending", then claims of queued ones in each of `sending_processes(channel)`
        processes: by ALERTS_SEND_THREADS threads, or by one event loop when the transport
        sends `concurrently` (SMS)."""
        resumed = left_sending(self.alert, channel)
        if resumed and channel == "sms" and expired(self.alert):
            self.settle_expired(transport_for(channel), resumed)
            resumed = []
        if resumed:
            transport = transport_for(channel)
            step = 1 if transport.max_recipients > 1 else 200
            _release_pooled_connection()
            with ThreadPoolExecutor(self.threads) as pool:
                batches = [resumed[i : i + step] for i in range(0, len(resumed), step)]
                list(pool.map(lambda batch: self._send(transport, batch), batches))
        processes = sending_processes(channel)
        helpers = _fork(processes - 1, lambda: self._claim_and_send(channel, helper=True))
        try:
            self._claim_and_send(channel)
        finally:
            # Even when this process failed: the job must not end (and be retried) while
            # its helpers still send what they claimed.
            for pid in helpers:
                os.waitpid(pid, 0)

    @property
    def threads(self) -> int:
        return settings.ALERTS_SEND_THREADS

    def _claim_and_send(self, channel: str, helper: bool = False) -> None:
        # Progress is counted over all deliveries, so one process publishing it is enough.
        self.publishes_progress = not helper
        transport = transport_for(channel)
        if transport.concurrent:
            self._send_concurrently(channel, transport)
            return
        if transport.max_recipients > 1:  # one request for many: as many as it takes
            size = min(transport.max_recipients, settings.ALERTS_SEND_LINE_BATCH)
        else:  # one request each: claim a handful per thread so claims stay cheap
            size = settings.ALERTS_SEND_CLAIM

        def worker() -> None:
            try:
                while batch := self._claim_next(channel, size):
                    _release_pooled_connection()  # not held while the provider answers
                    self._send(transport, batch)
            finally:
                connections.close_all()

        _release_pooled_connection()
        with ThreadPoolExecutor(self.threads) as pool:
            for future in [pool.submit(worker) for _ in range(self.threads)]:
                future.result()

    def _send_concurrently(self, channel: str, transport: Transport) -> None:
        """Send a channel's claims from one event loop, with this process's share of
        ALERTS_SMS_CONCURRENCY requests in flight. The database work (claims, outcomes,
        progress) runs in one thread of its own: Django's ORM may not run on the loop."""
        _release_pooled_connection()
        share = max(1, settings.ALERTS_SMS_CONCURRENCY // sending_processes(channel))
        # The loop gets a thread of its own: the caller's may already run one (a worker
        # that runs jobs from an event loop, a test driving a browser). Progress is counted
        # in another (it reads every delivery of the alert) so claims never wait for it.
        with (
            ThreadPoolExecutor(1, thread_name_prefix="fanout-db") as database,
            ThreadPoolExecutor(1, thread_name_prefix="fanout-progress") as counting,
            ThreadPoolExecutor(1, thread_name_prefix="fanout-loop") as sender,
        ):
            try:
                sending = self._send_all(channel, transport, share, database, counting)
                sender.submit(asyncio.run, sending).result()
            finally:
                for each in (database, counting):
                    each.submit(connections.close_all).result()

    async def _send_all(
        self,
        channel: str,
        transport: Transport,
        share: int,
        database: Executor,
        counting: Executor,
    ) -> None:
        loop = asyncio.get_running_loop()
        size = settings.ALERTS_SEND_CLAIM
        in_flight = asyncio.Semaphore(share)

        async def send(each: Claim, text: str) -> Outcome:
            async with in_flight:
                return await self.deliver_async(transport, each, text)

        async def worker() -> None:
            # A claim waits for its slowest message: twice the batches it takes to fill
            # the share keep requests in flight while others are claimed and recorded.
            while batch := await loop.run_in_executor(database, self._claim_texts, channel, size):
                outcomes = await asyncio.gather(*(send(each, text) for each, text in batch))
                await loop.run_in_executor(database, record, outcomes)
                counting.submit(self.progress)  # at most every ALERTS_PROGRESS_INTERVAL_S

        async with transport.opened(share):
            await asyncio.gather(*(worker() for _ in range(2 * -(-share // size))))

    def _claim_texts(self, channel: str, size: int) -> list[tuple[Claim, str]]:
        return [
            (each, self.text(each.language, channel, each.district))
            for each in self._claim_next(channel, size)
        ]

    def _record(self, outcomes: list[Outcome]) -> None:
        record(outcomes)
        self.progress()
        _release_pooled_connection()

    def _send(self, transport: Transport, batch: list[Claim]) -> None:
        outcomes: list[Outcome] = []
        for each in batch:
            outcome = self.deliver(transport, each)
            if outcome.status == Status.FAILED and len(each.ids) > 1:
                outcomes.extend(self.split(transport, each))
            else:
                outcomes.append(outcome)
        self._record(outcomes)

    def _claim_next(self, channel: str, size: int) -> list[Claim]:
        # Claims are cheap; taking them one thread at a time keeps each one full (threads
        # racing on SKIP LOCKED get part-filled batches). Other processes still use SKIP LOCKED.
        with self._claim_lock:
            return self._claim(channel, size)

    def _claim(self, channel: str, size: int) -> list[Claim]:
        if channel != "line":
            # From where this process's last claim ended: the queue's index still lists
            # every delivery already claimed under "queued" (until a vacuum), and a scan
            # from the start walked past all of them, costing more with each claim. Rows
            # below the cursor were claimed (by us, or by whoever held them when we
            # skipped them); one claim from the start makes sure before the end.
            claims = claim(self.alert, channel, size, after=self._after)
            if not claims and self._after:
                self._after = 0
                claims = claim(self.alert, channel, size)
            if claims:
                self._after = max(each.ids[-1] for each in claims)
            return claims
        # One multicast carries one text, so a LINE claim takes one language (and, when
        # the texts name a shelter, one district) at a time. The groups still queued are
        # read once (they only shrink) and claimed a batch of ids at a time.
        if self._groups is None:
            self._groups = queued_groups(self.alert, channel, names_shelters(self.alert))
        while self._groups:
            language, district, ids = self._groups[0]
            chunk = ids[:size]
            del ids[:size]
            if not ids:
                self._groups.pop(0)
            claims = claim(self.alert, channel, size, language, chunk)
            if claims:
                for each in claims:
                    each.district = district
                return claims
        return []

    def progress(self, finished: bool = False, force: bool = False) -> None:
        if not self.publishes_progress:
            return
        # Counting by district reads every delivery of the alert (~0.25 s for 100,000):
        # every 2 s is live enough for a progress bar and costs the sending little.
        interval = settings.ALERTS_PROGRESS_INTERVAL_S
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_progress < interval:
                return
            self._last_progress = now
        publish_progress(self.alert, finished)

    def run(self) -> None:
        with transaction.atomic():
            mark_sending(self.alert)
        started = time.perf_counter()
        create_deliveries(self.alert)
        choose_shelters(self.alert)
        self.timings["create_s"] = time.perf_counter() - started
        # Nothing of this alert can have reached a provider before its first Delivery
        # existed: the bound for looking up what an interrupted run may have sent.
        first = Delivery.objects.filter(alert=self.alert).aggregate(first=Min("created_at"))
        self.since = first["first"] or self.since
        for channel in ("line", "sms"):
            if channel == "sms":
                fallback_to_sms(self.alert)
            expire_queued(self.alert)
            started = time.perf_counter()
            self.run_channel(channel)
            self.timings[f"{channel}_s"] = time.perf_counter() - started
        left = Delivery.objects.filter(
            alert=self.alert, status__in=[Status.QUEUED, Status.SENDING]
        ).count()
        if left:
            self.progress(finished=False, force=True)
            raise Unfinished(f"{left} deliveries of alert {self.alert.pk} unfinished")
        with transaction.atomic():
            mark_sent(self.alert)
            publish_progress(self.alert, finished=True)


def _sent(claim: Claim, accepted: Accepted) -> Outcome:
    return Outcome(claim.ids, Status.SENT, accepted.provider_id, accepted.attempts, "")


def _failed(claim: Claim, error: TransportError) -> Outcome:
    """A claim's outcome when its provider refused it for good (failed) or its retries
    ran out (left "sending" for the job's next run)."""
    status = Status.FAILED if error.permanent else Status.SENDING
    return Outcome(claim.ids, status, "", 1, error.message[:500])


def _release_pooled_connection() -> None:
    """Give this thread's pooled connection back (DB_POOL_SIZE): the sending threads
    outnumber a small pool, and one that kept its connection while a provider answers
    would leave the others waiting for the pool until they time out. Without a pool the
    connection is kept: a new one per batch would cost more than the batch's queries."""
    # django-stubs 5.2 has no `pool` (Django 5.1's connection pools) on any wrapper.
    if connection.pool is not None:  # type: ignore[attr-defined]
        connection.close()


# Pools a forked helper inherited from its parent: kept referenced and never used nor
# closed, since their connections are the parent's sessions (see _own_pools).
_inherited_pools: list[dict] = []


def _own_pools() -> None:
    """In a forked helper, set the parent's psycopg pools (Django's DB_POOL_SIZE) aside so
    the first query opens a pool of this process's own. An inherited pool is unusable: its
    worker threads were not copied, so it never hands out a new connection (its clients
    wait until they time out), and its idle connections are the parent's sockets, so two
    processes would talk over one PostgreSQL session. Closing it would end the parent's
    sessions, so it is only forgotten; the helper leaves by os._exit, which runs no
    finalizer on it."""
    pools = DatabaseWrapper._connection_pools  # type: ignore[attr-defined]  # as `pool` above
    _inherited_pools.append(dict(pools))
    pools.clear()


def _fork(count: int, work: Callable[[], None]) -> list[int]:
    """Run `work` in `count` child processes that die with us (a SIGKILLed worker must not
    leave children sending while its restarted job resends what they hold)."""
    if count <= 0:
        return []
    connections.close_all()  # each child opens its own connections
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                if os.getppid() == 1:  # the parent died before prctl
                    os._exit(1)
                _own_pools()
                work()
                code = 0
            except BaseException:
                log.exception("fan-out helper process failed")
            finally:
                os._exit(code)
        pids.append(pid)
    return pids


def send(alert_id: int) -> None:
    """Fan one alert out (the body of the `send_alert` job); safe to run again, and never
    run twice at once (`only_run`)."""
    alert = Alert.objects.get(pk=alert_id)
    if alert.status in (Alert.Status.SENT, Alert.Status.CANCELLED):
        return
    with only_run(alert_id):
        Fanout(alert).run()


class AlreadyRunning(Unfinished):
    """Another run of this alert's fan-out holds its lock: this run leaves the work to it
    and its job tries again later."""


RUN_LOCK_SPACE = 0x534F4E  # the advisory-lock key space of fan-out runs ("SON")


@contextmanager
def only_run(alert_id: int) -> Iterator[None]:
    """Hold the alert's fan-out lock for the whole run. Two runs at once (a job retried as
    stalled while its first worker still sends, after a long database outage) would each
    take the other's "sending" claims for interrupted ones and send them again.

    The lock is a PostgreSQL advisory lock on a connection of its own: Django's pooled
    connections go back to the pool between batches and must not carry it, and a worker
    that dies drops the connection, and with it the lock."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    ) as holder:
        row = holder.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCK_SPACE, alert_id]
        ).fetchone()
        if not (row and row[0]):
            raise AlreadyRunning(f"alert {alert_id} is being sent by another run")
        yield
