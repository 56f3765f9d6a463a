"""Fan-out of one approved alert to its recipients, exactly once by us, resumable.

The steps (`send_alert` in alerts/jobs.py runs them):

1. One Delivery per (alert, subscriber, channel), created with INSERT … ON CONFLICT DO
   NOTHING: a rerun creates nothing twice.
2. Deliveries are *claimed* in chunks: queued → sending, with a fresh idempotency key per
   provider request, COMMITTED before the provider is called. Claims use FOR UPDATE SKIP
   LOCKED, so several threads (or worker processes) share the work without overlap.
3. A chunk's outcome is written in one UPDATE: sent + provider id, or failed (final 4xx:
   invalid number, blocked user), or — when retries ran out on a transient error — left
   "sending" with the error, for the job's next try.
4. A restarted job first finishes what an earlier run left "sending": those requests may
   or may not have reached the provider. LINE requests are resent with the *same*
   X-Line-Retry-Key (LINE answers 409 "already accepted" instead of delivering again);
   Twilio has no key, so its transport looks the message up before sending again (see
   alerts/transports/twilio_sms.py for the window that leaves).
5. LINE deliveries that failed for good fall back to SMS when the subscriber has a phone.
   Deliveries still queued once the alert's validity (valid_minutes from approval) has
   passed are not sent but recorded undeliverable: a retried job must not bring a level-4
   order hours late (Twilio's validity period only covers Twilio's own queue).
6. Progress counts (no personal data) are published at most every
   ALERTS_PROGRESS_INTERVAL_S and once at the end; then the alert is marked sent.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import DurationField, Min, Value
from django.db.models.functions import Now
from django.utils import timezone

from alerts import delivery_events  # noqa: F401 (registers the event schemas)
from alerts.models import Alert, Delivery, Subscriber
from alerts.transports import (
    OneTap,
    Transport,
    TransportError,
    send_with_retries,
    sending_processes,
    transport_for,
)
from disaster.events import publish

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, DELIVERED, FAILED, UNDELIVERABLE = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "undeliverable",
)
# Twilio's status callback vocabulary → ours. Order matters: a status never moves back.
TWILIO_STATUS = {
    "accepted": SENT,
    "queued": SENT,
    "sending": SENT,
    "sent": SENT,
    "delivered": DELIVERED,
    "undelivered": UNDELIVERABLE,
    "failed": FAILED,
}
RANK = {QUEUED: 0, SENDING: 1, SENT: 2, DELIVERED: 3, FAILED: 3, UNDELIVERABLE: 3}


PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Unfinished(Exception):
    """Some deliveries are still "sending" after their retries: the job must run again."""


def _t() -> str:
    return Delivery._meta.db_table


def _col(name: str) -> str:
    return Delivery._meta.get_field(name).column


@dataclass
class Claim:
    """Deliveries sent by one provider request: same channel, same text, one key."""

    ids: list[int]
    addresses: list[str]
    language: str
    key: str
    resumed: bool
    district: int | None = None  # whose nearest shelter the text names, when it names one


def create_deliveries(alert: Alert) -> int:
    """One Delivery per (alert, subscriber, channel) among the alert's recipients, in one
    INSERT … SELECT … ON CONFLICT DO NOTHING (100,000 rows never pass through Python)."""
    from alerts.targeting import recipients

    channels = [c for c in ("line", "sms") if c in set(alert.channels)]
    if not channels:
        return 0
    chosen, chosen_params = (
        recipients(alert)
        .values("id", "line_user_id", "phone", "phone_confirmed_at")
        .query.sql_with_params()
    )
    columns, values, params = [], [], []
    for field in Delivery._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.name == "alert":
            values.append("%s")
            params.append(alert.pk)
        elif field.name == "subscriber":
            values.append("r.id")
        elif field.name == "channel":
            values.append("c.channel")
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values.append("now()")
        else:  # every other column takes its model default (queued, 0 attempts, …)
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    # A phone number takes part only once confirmed by its one-time code.
    address = {"line": "r.line_user_id", "sms": "r.phone"}
    wanted = " OR ".join(
        f"(c.channel = '{c}' AND COALESCE({address[c]}, '') <> ''"
        + (" AND r.phone_confirmed_at IS NOT NULL)" if c == "sms" else ")")
        for c in channels
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_t()} ({", ".join(columns)})
            SELECT {", ".join(values)}
            FROM ({chosen}) AS r(id, line_user_id, phone, phone_confirmed_at)
            CROSS JOIN (VALUES {", ".join(f"('{c}')" for c in channels)}) AS c(channel)
            WHERE {wanted}
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 (names are ours; channel names from the fixed list above)
            [*params, *chosen_params],
        )
        return cursor.rowcount


def fallback_to_sms(alert: Alert) -> int:
    """An SMS Delivery for each subscriber whose LINE delivery failed for good and who has
    a phone number (created once: the unique key ignores a second)."""
    failed = Delivery.objects.filter(
        alert=alert, channel="line", status__in=[FAILED, UNDELIVERABLE]
    ).filter(subscriber__phone__isnull=False, subscriber__phone_confirmed_at__isnull=False)
    rows = [
        Delivery(alert=alert, subscriber_id=subscriber_id, channel="sms")
        for subscriber_id in failed.values_list("subscriber_id", flat=True)
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


EXPIRED = "expired before sending"


def expired(alert: Alert) -> bool:
    """The alert's validity (`valid_minutes` from its approval) has ended."""
    start = alert.approved_at or alert.created_at
    return timezone.now() >= start + timedelta(minutes=alert.valid_minutes)


def expire_queued(alert: Alert) -> int:
    """Record the deliveries still queued after the alert's validity ended as undeliverable
    instead of sending them late. ("sending" ones may have gone out: see `settle_expired`.)"""
    if not expired(alert):
        return 0
    return Delivery.objects.filter(alert=alert, status=QUEUED).update(
        status=UNDELIVERABLE, last_error=EXPIRED, updated_at=timezone.now()
    )


# Stored in Alert.nearest_shelters when the first run found no suitable open shelter for
# any district: "none" is a choice too and is frozen like the others, or a shelter opening
# before a restart would change the words (and Twilio's look-up would miss a lost send).
CHOSE_NONE = "chosen"


def names_shelters(alert: Alert) -> bool:
    """Whether the alert's texts name a shelter for some district (they then differ by
    district)."""
    return any(key != CHOSE_NONE for key in alert.nearest_shelters)


def choose_shelters(alert: Alert) -> None:
    """Fix, once per alert, the nearest suitable open shelter of each recipient district
    (stored on the alert, so a resumed run writes the same words)."""
    from alerts.drafting import CARRY_SHELTER, nearest_by_district
    from alerts.targeting import district_of_subscribers

    if alert.nearest_shelters or alert.kind not in CARRY_SHELTER:
        return
    districts = sorted({d for d, _status, _n in district_of_subscribers(alert) if d is not None})
    chosen = nearest_by_district(alert, districts) or {CHOSE_NONE: "none"}
    # The first run to choose wins.
    Alert.objects.filter(pk=alert.pk, nearest_shelters={}).update(nearest_shelters=chosen)
    alert.refresh_from_db(fields=["nearest_shelters"])


def _district_column(by_district: bool) -> str:
    """SQL for the district of the subscriber row `s` (NULL when texts do not depend on it)."""
    from alerts.targeting import _district_sql

    return _district_sql("s") if by_district else "NULL::bigint"


def _districts_of(delivery_ids: list[int]) -> dict[int, int | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT d.id, {_district_column(True)} FROM {_t()} d
            JOIN {Subscriber._meta.db_table} s ON s.id = d.{_col("subscriber")}
            WHERE d.id = ANY(%s)
            """,  # noqa: S608 (names are ours)
            [delivery_ids],
        )
        return dict(cursor.fetchall())


def _address_column(channel: str) -> str:
    return Subscriber._meta.get_field("line_user_id" if channel == "line" else "phone").column


def left_sending(alert: Alert, channel: str) -> list[Claim]:
    """What an earlier, interrupted run claimed but did not finish, grouped as it was sent
    (each with its district again when the texts name a shelter)."""
    rows = Delivery.objects.filter(alert=alert, channel=channel, status=SENDING).values_list(
        "id",
        "retry_key",
        "subscriber__line_user_id" if channel == "line" else "subscriber__phone",
        "subscriber__language",
    )
    claims: dict[str, Claim] = {}
    for delivery_id, key, address, language in rows:
        claim = claims.setdefault(str(key), Claim([], [], language, str(key), resumed=True))
        claim.ids.append(delivery_id)
        claim.addresses.append(address)
    if names_shelters(alert) and claims:
        districts = _districts_of([i for c in claims.values() for i in c.ids])
        for each in claims.values():
            each.district = districts.get(each.ids[0])
    return list(claims.values())


def claim(
    alert: Alert,
    channel: str,
    size: int,
    language: str | None = None,
    ids: list[int] | None = None,
) -> list[Claim]:
    """Move up to `size` queued deliveries (of `language`, among `ids`) to "sending" and
    commit, one key per request: for LINE one key for the whole multicast, for SMS one per
    message. When the texts name a shelter, each SMS claim comes with its district."""
    sub = Subscriber._meta
    lang = sub.get_field("language").column
    per_request = channel == "line"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH picked AS (
                SELECT d.id FROM {_t()} d
                JOIN {sub.db_table} s ON s.{sub.pk.column} = d.{_col("subscriber")}
                WHERE d.{_col("alert")} = %s AND d.{_col("channel")} = %s
                  AND d.{_col("status")} = %s AND (%s::text IS NULL OR s.{lang} = %s)
                  AND (%s::bigint[] IS NULL OR d.id = ANY(%s::bigint[]))
                ORDER BY d.id LIMIT %s FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE {_t()} d SET {_col("status")} = %s,
                {_col("retry_key")} = CASE WHEN %s THEN %s::uuid ELSE gen_random_uuid() END
            FROM picked, {sub.db_table} s
            WHERE d.id = picked.id AND s.{sub.pk.column} = d.{_col("subscriber")}
            RETURNING d.id, d.{_col("retry_key")}, s.{_address_column(channel)}, s.{lang},
                {_district_column(names_shelters(alert) and not per_request)}
            """,  # noqa: S608 (names are ours)
            [
                alert.pk,
                channel,
                QUEUED,
                language,
                language,
                ids,
                ids,
                size,
                SENDING,
                per_request,
                str(uuid.uuid4()),
            ],
        )
        rows = cursor.fetchall()
    if not rows:
        return []
    if per_request:
        return [
            Claim([r[0] for r in rows], [r[2] for r in rows], rows[0][3], str(rows[0][1]), False)
        ]
    return [Claim([r[0]], [r[2]], r[3], str(r[1]), False, r[4]) for r in rows]


def queued_groups(
    alert: Alert, channel: str, by_district: bool
) -> list[tuple[str, int | None, list[int]]]:
    """The queued deliveries of a channel by (language, district), ids in order."""
    sub = Subscriber._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.{sub.get_field("language").column}, {_district_column(by_district)},
                   array_agg(d.id ORDER BY d.id)
            FROM {_t()} d JOIN {sub.db_table} s ON s.{sub.pk.column} = d.{_col("subscriber")}
            WHERE d.{_col("alert")} = %s AND d.{_col("channel")} = %s AND d.{_col("status")} = %s
            GROUP BY 1, 2 ORDER BY 1, 2 NULLS LAST
            """,  # noqa: S608 (names are ours)
            [alert.pk, channel, QUEUED],
        )
        return [(language, district, list(ids)) for language, district, ids in cursor]


@dataclass
class Outcome:
    ids: list[int]
    status: str
    provider_id: str
    attempts: int
    error: str


def record(outcomes: Iterable[Outcome]) -> None:
    """Write the outcome of each request in one UPDATE (attempts add up across runs)."""
    ids, statuses, providers, attempts, errors = [], [], [], [], []
    for outcome in outcomes:
        for delivery_id in outcome.ids:
            ids.append(delivery_id)
            statuses.append(outcome.status)
            providers.append(outcome.provider_id)
            attempts.append(outcome.attempts)
            errors.append(outcome.error)
    if not ids:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_t()} d SET {_col("status")} = CASE WHEN d.{_col("status")} = %s
                                                   THEN v.status ELSE d.{_col("status")} END,
                {_col("provider_id")} = CASE WHEN v.provider = '' THEN d.{_col("provider_id")}
                                             ELSE v.provider END,
                {_col("attempts")} = d.{_col("attempts")} + v.attempts,
                {_col("last_error")} = v.error,
                {_col("updated_at")} = now()
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::text[])
                 AS v(id, status, provider, attempts, error)
            WHERE d.id = v.id
            """,  # noqa: S608 (names are ours)
            [SENDING, ids, statuses, providers, attempts, errors],
        )


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

    def text(self, language: str, channel: str, district: int | None = None) -> str:
        from alerts.messages import message_text

        key = (language, channel, district)
        if key not in self.texts:
            shelter = self.alert.nearest_shelters.get(str(district))
            self.texts[key] = message_text(self.alert, language, channel, shelter=shelter)
        return self.texts[key]

    def one_taps(self, language: str) -> tuple[OneTap, ...]:
        """The safety check's one-tap answers (LINE shows them; SMS asks for a digit)."""
        from alerts.messages import safety_answers

        if language not in self.answers:
            self.answers[language] = safety_answers(self.alert, language)
        return self.answers[language]

    def deliver(self, transport: Transport, claim: Claim) -> Outcome:
        text = self.text(claim.language, transport.channel, claim.district)
        try:
            accepted = send_with_retries(
                transport,
                claim.addresses,
                text,
                idempotency_key=claim.key,
                since=self.since,
                resumed=claim.resumed,
                answers=self.one_taps(claim.language),
            )
        except TransportError as error:
            if error.permanent:
                return Outcome(claim.ids, FAILED, "", 1, error.message[:500])
            return Outcome(claim.ids, SENDING, "", 1, error.message[:500])
        return Outcome(claim.ids, SENT, accepted.provider_id, accepted.attempts, "")

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
                outcomes.append(Outcome(each.ids, SENDING, "", 0, error.message[:500]))
                continue
            if found:
                outcomes.append(Outcome(each.ids, SENT, found, 0, ""))
            else:
                outcomes.append(Outcome(each.ids, UNDELIVERABLE, "", 0, EXPIRED))
        record(outcomes)

    def run_channel(self, channel: str) -> None:
        """Send every delivery of one channel: first what an interrupted run left
        "sending", then claims of queued ones by ALERTS_SEND_THREADS threads in each of
        `sending_processes(channel)` processes."""
        resumed = left_sending(self.alert, channel)
        if resumed and channel == "sms" and expired(self.alert):
            self.settle_expired(transport_for(channel), resumed)
            resumed = []
        if resumed:
            transport = transport_for(channel)
            step = 1 if transport.max_recipients > 1 else 200
            with ThreadPoolExecutor(self.threads) as pool:
                batches = [resumed[i : i + step] for i in range(0, len(resumed), step)]
                list(pool.map(lambda batch: self._send(transport, batch), batches))
        processes = sending_processes(channel)
        helpers = _fork(processes - 1, lambda: self._claim_and_send(channel, helper=True))
        self._claim_and_send(channel)
        for pid in helpers:
            os.waitpid(pid, 0)

    @property
    def threads(self) -> int:
        return settings.ALERTS_SEND_THREADS

    def _claim_and_send(self, channel: str, helper: bool = False) -> None:
        # Progress is counted over all deliveries, so one process publishing it is enough.
        self.publishes_progress = not helper
        transport = transport_for(channel)
        if transport.max_recipients > 1:  # one request for many: as many as it takes
            size = min(transport.max_recipients, settings.ALERTS_SEND_LINE_BATCH)
        else:  # one request each: claim a handful per thread so claims stay cheap
            size = settings.ALERTS_SEND_CLAIM

        def worker() -> None:
            try:
                while batch := self._claim_next(channel, size):
                    self._send(transport, batch)
            finally:
                connections.close_all()

        with ThreadPoolExecutor(self.threads) as pool:
            for future in [pool.submit(worker) for _ in range(self.threads)]:
                future.result()

    def _send(self, transport: Transport, batch: list[Claim]) -> None:
        outcomes: list[Outcome] = []
        for each in batch:
            outcome = self.deliver(transport, each)
            if outcome.status == FAILED and len(each.ids) > 1:
                outcomes.extend(self.split(transport, each))
            else:
                outcomes.append(outcome)
        record(outcomes)
        self.progress()

    def _claim_next(self, channel: str, size: int) -> list[Claim]:
        # Claims are cheap; taking them one thread at a time keeps each one full (threads
        # racing on SKIP LOCKED get part-filled batches). Other processes still use SKIP LOCKED.
        with self._claim_lock:
            return self._claim(channel, size)

    def _claim(self, channel: str, size: int) -> list[Claim]:
        if channel != "line":
            return claim(self.alert, channel, size)
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
        from alerts.services import mark_sending, mark_sent

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
        left = Delivery.objects.filter(alert=self.alert, status__in=[QUEUED, SENDING]).count()
        if left:
            self.progress(finished=False, force=True)
            raise Unfinished(f"{left} deliveries of alert {self.alert.pk} unfinished")
        with transaction.atomic():
            mark_sent(self.alert)
            publish_progress(self.alert, finished=True)


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
                work()
                code = 0
            except BaseException:
                log.exception("fan-out helper process failed")
            finally:
                os._exit(code)
        pids.append(pid)
    return pids


def progress_counts(alert: Alert) -> dict:
    """Queued / sent / delivered / failed, in total and by district (counts only)."""
    from alerts.targeting import district_of_subscribers

    by_district: dict[int | None, dict[str, int]] = {}
    totals = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0}
    bucket = {
        QUEUED: "queued",
        SENDING: "queued",
        SENT: "sent",
        DELIVERED: "delivered",
        FAILED: "failed",
        UNDELIVERABLE: "failed",
    }
    for district_id, status, count in district_of_subscribers(alert):
        name = bucket[status]
        totals[name] += count
        counts = by_district.setdefault(district_id, {"district_id": district_id})
        counts[name] = counts.get(name, 0) + count
    return {**totals, "by_district": list(by_district.values())}


def publish_progress(alert: Alert, finished: bool) -> None:
    with transaction.atomic():
        publish(
            "alert.delivery_progress",
            {
                "alert_id": alert.pk,
                "drill": alert.is_drill,
                "finished": finished,
                **progress_counts(alert),
            },
        )


def send(alert_id: int) -> None:
    """Fan one alert out (the body of the `send_alert` job); safe to run again."""
    alert = Alert.objects.get(pk=alert_id)
    if alert.status in (Alert.Status.SENT, Alert.Status.CANCELLED):
        return
    Fanout(alert).run()


def record_sms_status(sid: str, status: str, error_code: str = "", key: str = "") -> bool:
    """A Twilio status callback: move the Delivery with this SID forward, never back; a
    replay or a late "sent" after "delivered" changes nothing. True when it changed.

    Twilio may call back before we have written the SID down (the answer to our request
    and the callback race); the callback URL carries the delivery's key for that case."""
    ours = TWILIO_STATUS.get(status)
    if ours is None:
        return False
    lower = [s for s, rank in RANK.items() if rank < RANK[ours]]
    change = {
        "status": ours,
        "last_error": f"Twilio {error_code}" if error_code else "",
        "updated_at": timezone.now(),
    }
    by_sid = Delivery.objects.filter(channel="sms", provider_id=sid)
    changed = by_sid.filter(status__in=lower).update(**change)
    if not changed and not by_sid.exists() and _is_uuid(key):
        early = Delivery.objects.filter(channel="sms", retry_key=key, provider_id="")
        changed = early.filter(status__in=lower).update(provider_id=sid, **change)
    if changed:
        alert_id = by_sid.values_list("alert_id", flat=True).first()
        if alert_id:
            progress_after_callback(alert_id)
    return bool(changed)


def progress_after_callback(alert_id: int) -> None:
    """Delivered / failed counts move with the callbacks after the fan-out ended too;
    published at most every ALERTS_PROGRESS_INTERVAL_S per alert (thousands of callbacks
    a minute must not become thousands of events)."""
    from disaster.models import Event

    interval = timedelta(seconds=settings.ALERTS_PROGRESS_INTERVAL_S)
    recent = Event.objects.filter(
        kind="alert.delivery_progress",
        payload__alert_id=alert_id,
        # Compared in the database's clock: event times are the database's now().
        created_at__gte=Now() - Value(interval, output_field=DurationField()),
    )
    if not recent.exists():
        alert = Alert.objects.get(pk=alert_id)
        publish_progress(alert, finished=alert.status == Alert.Status.SENT)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
