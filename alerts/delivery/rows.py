"""The Delivery rows of one alert's fan-out, in SQL: created once per (alert, subscriber,
channel), claimed in chunks (queued → sending, committed before the provider is called),
their outcomes written in one UPDATE, expired ones settled, LINE failures moved to SMS, and
the nearest shelter each district's text names chosen once. See `alerts.delivery.fanout`
for the whole run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, models, transaction
from django.utils import timezone

from alerts.areas import CARRY_SHELTER, nearest_by_district
from alerts.delivery.targeting import district_of_subscribers, district_sql, recipients
from alerts.models import Alert, Delivery, Subscriber

Status = Delivery.Status
# A delivery's status only moves forward (a late callback never takes it back).
RANK = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.FAILED: 3,
    Status.UNDELIVERABLE: 3,
}


def _t() -> str:
    return Delivery._meta.db_table


def _col(name: str, model: type[models.Model] = Delivery) -> str:
    """A field's column, for the SQL here (every name given is a column, not a relation)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column is not None, name
    return field.column


@dataclass
class Claim:
    """Deliveries sent by one provider request: same channel, same text, one key."""

    ids: list[int]
    addresses: list[str]
    language: str
    key: str
    resumed: bool
    district: int | None = None  # whose nearest shelter the text names, when it names one


# Deliveries created at once above which their table's statistics are refreshed.
ANALYZE_AFTER = 1000


def create_deliveries(alert: Alert) -> int:
    """One Delivery per (alert, subscriber, channel) among the alert's recipients, in one
    INSERT … SELECT … ON CONFLICT DO NOTHING (100,000 rows never pass through Python),
    each with the recipient's district as it is now."""
    channels = [c for c in ("line", "sms") if c in set(alert.channels)]
    if not channels:
        return 0
    chosen, chosen_params = (
        recipients(alert)
        .values("id", "line_user_id", "phone", "phone_confirmed_at", "home")
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
        elif field.name == "district":
            values.append(district_sql("r"))
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
            FROM ({chosen}) AS r(id, line_user_id, phone, phone_confirmed_at, home)
            CROSS JOIN (VALUES {", ".join(f"('{c}')" for c in channels)}) AS c(channel)
            WHERE {wanted}
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 (names are ours; channel names from the fixed list above)
            [*params, *chosen_params],
        )
        created = cursor.rowcount
    if created >= ANALYZE_AFTER:
        # The planner must know this alert's rows before the claims: with statistics from
        # before them it expected none and walked every delivery of the alert per claim
        # (~40 ms a claim instead of ~2.5 at 100,000); autovacuum would notice a minute late.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_t()}")
    return created


def fallback_to_sms(alert: Alert) -> int:
    """An SMS Delivery for each subscriber whose LINE delivery failed for good and who has
    a phone number (created once: the unique key ignores a second)."""
    failed = Delivery.objects.filter(
        alert=alert, channel="line", status__in=[Status.FAILED, Status.UNDELIVERABLE]
    ).filter(subscriber__phone__isnull=False, subscriber__phone_confirmed_at__isnull=False)
    rows = [
        Delivery(alert=alert, subscriber_id=subscriber_id, channel="sms", district_id=district)
        for subscriber_id, district in failed.values_list("subscriber_id", "district_id")
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
    return Delivery.objects.filter(alert=alert, status=Status.QUEUED).update(
        status=Status.UNDELIVERABLE, last_error=EXPIRED, updated_at=timezone.now()
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
    if alert.nearest_shelters or alert.kind not in CARRY_SHELTER:
        return
    districts = sorted({d for d, _status, _n in district_of_subscribers(alert) if d is not None})
    chosen = nearest_by_district(alert, districts)
    # The first run to choose wins.
    Alert.objects.filter(pk=alert.pk, nearest_shelters={}).update(
        nearest_shelters=chosen or {CHOSE_NONE: "none"}
    )
    alert.refresh_from_db(fields=["nearest_shelters"])


def _district_column(by_district: bool) -> str:
    """SQL for the district of the delivery row `d` (NULL when texts do not depend on it)."""
    return f"d.{_col('district')}" if by_district else "NULL::bigint"


def _address_column(channel: str) -> str:
    return _col("line_user_id" if channel == "line" else "phone", Subscriber)


def left_sending(alert: Alert, channel: str) -> list[Claim]:
    """What an earlier, interrupted run claimed but did not finish, grouped as it was sent
    (each with its district again when the texts name a shelter)."""
    rows = Delivery.objects.filter(alert=alert, channel=channel, status=Status.SENDING).values_list(
        "id",
        "retry_key",
        "subscriber__line_user_id" if channel == "line" else "subscriber__phone",
        "subscriber__language",
        "district_id",
    )
    by_district = names_shelters(alert)
    claims: dict[str, Claim] = {}
    for delivery_id, key, address, language, district in rows:
        named = district if by_district else None
        claim = claims.setdefault(
            str(key), Claim([], [], language, str(key), resumed=True, district=named)
        )
        claim.ids.append(delivery_id)
        claim.addresses.append(address)
    return list(claims.values())


def claim(
    alert: Alert,
    channel: str,
    size: int,
    language: str | None = None,
    ids: list[int] | None = None,
    after: int = 0,
) -> list[Claim]:
    """Move up to `size` queued deliveries (of `language`, among `ids`, with ids above
    `after`) to "sending" and commit, one key per request: for LINE one key for the whole
    multicast, for SMS one per message. When the texts name a shelter, each SMS claim comes
    with its district."""
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
                  AND (%s::bigint[] IS NULL OR d.id = ANY(%s::bigint[])) AND d.id > %s
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
                Status.QUEUED,
                language,
                language,
                ids,
                ids,
                after,
                size,
                Status.SENDING,
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
            [alert.pk, channel, Status.QUEUED],
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
            [Status.SENDING, ids, statuses, providers, attempts, errors],
        )
