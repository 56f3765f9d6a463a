"""What the operations map shows when it opens: one consistent snapshot for `/ops/`.

The page then applies every event after `last_event_id` (the WebSocket's `?after=`), so the
id is read *before* anything else: an event committed while the snapshot is being read is
replayed, never missed, and replaying it is harmless because every event sets a value
(a status, a head-count, the shortage list) rather than adding to one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import get_language

from alerts.authoring import suggestions
from alerts.callup import services as callup
from alerts.delivery import safety
from alerts.delivery.health import health
from alerts.delivery.progress import progress_counts
from alerts.models import Alert, Suggestion
from disaster.core.geography import CityBoundary, District
from disaster.core.models import Event
from disaster.reports.models import DamageReport
from disaster.warnings import services as warnings
from disaster.warnings.models import Telegram
from shelters.models import CURRENT_FIRST, HeadCount, Shelter
from stockpile import coverage
from stockpile.event_kinds import Shortage
from stockpile.models import Depot, Item

FEED_LENGTH = 30
SERIES_HOURS = 48


def _shortage(level: coverage.Level) -> dict[str, Any]:
    """A shortage as the `stock.shortages` event carries it, so the page reads both alike."""
    ids: dict[str, Any] = {"depot_id": level.depot.pk, "shelter_id": level.depot.shelter_id}
    ids["item_id"] = level.item.pk
    figures = {name: getattr(level, name) for name in Shortage.model_fields if name not in ids}
    return Shortage(**ids, **figures).model_dump()


def _shelters() -> list[dict[str, Any]]:
    latest = {
        count.shelter_id: count
        for count in HeadCount.objects.order_by("shelter_id", *CURRENT_FIRST).distinct("shelter_id")
    }
    rows = []
    for shelter in Shelter.objects.filter(is_shelter=True).order_by("name", "pk"):
        count = latest.get(shelter.pk)
        rows.append(
            {
                "id": shelter.pk,
                "name": shelter.name,
                "lat": shelter.point.y,
                "lon": shelter.point.x,
                "status": shelter.status,
                "capacity": shelter.capacity,
                "occupancy": count.total if count else 0,
                "care_needs": count.care_needs if count else 0,
                # 在宅避難者・車中泊: fed by the shelter, not staying in it (not in occupancy).
                "supported_elsewhere": count.supported_elsewhere if count else 0,
            }
        )
    return rows


def evacuee_series(hours: int = SERIES_HOURS) -> list[list[Any]]:
    """[time, evacuees in all shelters] after each head-count observed in the last `hours`
    hours, in the order they were observed (a count sent late lands at its own time)."""
    since = timezone.now() - dt.timedelta(hours=hours)
    current = {
        count.shelter_id: count.total
        for count in HeadCount.objects.filter(observed_at__lt=since)
        .order_by("shelter_id", *CURRENT_FIRST)
        .distinct("shelter_id")
    }
    series = [[since.isoformat(), sum(current.values())]]
    for shelter_id, at, total in (
        HeadCount.objects.filter(observed_at__gte=since)
        .order_by("observed_at", "id")
        .values_list("shelter_id", "observed_at", "total")
    ):
        current[shelter_id] = total
        series.append([at.isoformat(), sum(current.values())])
    return series


def report_figures(hours: int = SERIES_HOURS) -> dict[str, Any]:
    """The side panel's report figures, counted by PostgreSQL over every report (the page
    holds only the newest thousand): unresolved reports by severity ("1"…"5"), and how
    many reports arrived in each hour of the last `hours`, [hour, count] oldest first."""
    by_severity = dict(
        DamageReport.objects.unresolved().values_list("severity").annotate(n=Count("id")).order_by()
    )
    # Hours counted in UTC: every hour starts at the same instant in Japan's time zone.
    now = timezone.now().astimezone(dt.UTC)
    first = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=hours)
    per_hour = dict(
        DamageReport.objects.filter(created_at__gte=first)
        .annotate(hour=TruncHour("created_at", tzinfo=dt.UTC))
        .values_list("hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    hour_starts = [first + dt.timedelta(hours=i) for i in range(hours + 1)]
    return {
        "open_by_severity": {str(n): by_severity.get(n, 0) for n in range(1, 6)},
        "per_hour": [[at.isoformat(), per_hour.get(at, 0)] for at in hour_starts],
    }


def _districts() -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": d.pk,
                "name": d.name,
                "derived": d.is_derived,
                "population": d.population,
                "households": d.households,
            },
            "geometry": json.loads(d.area.json),
        }
        for d in District.objects.all()
    ]
    return {"type": "FeatureCollection", "features": features}


def _geojson(geometry) -> dict[str, Any] | None:
    return json.loads(geometry.json) if geometry else None


ALERT_SHOWN = (Alert.Status.APPROVED, Alert.Status.SENDING, Alert.Status.SENT)


def _alert(alert: Alert, district_ids: list[int]) -> dict[str, Any]:
    """An alert as its `alert.*` events carry it, plus its own polygon when it has one."""
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "status": alert.status,
        "drill": alert.is_drill,
        "title": alert.title(get_language()),
        "whole_city": alert.whole_city,
        "district_ids": district_ids,
        "area": _geojson(alert.area),
    }


def alert_areas(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Alerts in force: approved or sent, not cancelled, not past their validity."""
    now = now or timezone.now()
    shown = []
    for alert in Alert.objects.filter(status__in=ALERT_SHOWN).prefetch_related("districts"):
        since = alert.sent_at or alert.approved_at or alert.created_at
        if since + dt.timedelta(minutes=alert.valid_minutes) < now:
            continue
        shown.append(_alert(alert, sorted(d.pk for d in alert.districts.all())))
    return shown


def alert_deliveries(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Alerts being sent or sent within the safety-check window, newest first: each with
    its delivery figures and safety answers as the `alert.delivery_progress` and
    `alert.safety_answers` events carry them (counts only, no personal data)."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=settings.SAFETY_ANSWER_HOURS)
    rows = []
    for alert in Alert.objects.filter(
        status__in=(Alert.Status.SENDING, Alert.Status.SENT)
    ).order_by("-pk"):
        if (alert.sent_at or alert.approved_at or alert.created_at) < since:
            continue
        ids = {"alert_id": alert.pk, "drill": alert.is_drill}
        progress = {**ids, "finished": alert.status == Alert.Status.SENT}
        rows.append(
            {
                "id": alert.pk,
                "kind": alert.kind,
                "status": alert.status,
                "drill": alert.is_drill,
                "title": alert.title(get_language()),
                "asks_safety": alert.asks_safety,
                "progress": {**progress, **progress_counts(alert)},
                "safety": {**ids, "by_district": safety.counts(alert)}
                if alert.asks_safety
                else None,
            }
        )
    return rows


def snapshot() -> dict[str, Any]:
    """The operations map's opening state; see the module docstring for why the event id
    comes first."""
    last_event_id = Event.objects.aggregate(last=Max("id"))["last"] or 0
    feed = list(Event.objects.order_by("-id")[:FEED_LENGTH])
    return {
        "last_event_id": last_event_id,
        "shelters": _shelters(),
        "statuses": dict(Shelter.Status.choices),
        "report_categories": dict(DamageReport.Category.choices),
        "report_statuses": dict(DamageReport.Status.choices),
        "depots": {d.pk: {"name": d.name, "shelter_id": d.shelter_id} for d in Depot.objects.all()},
        "items": {item.pk: item.name for item in Item.objects.all()},
        "shortages": [_shortage(level) for level in coverage.shortages()],
        "districts": _districts(),
        "city": _geojson(CityBoundary.objects.values_list("area", flat=True).first()),
        "alerts": alert_areas(),
        "deliveries": alert_deliveries(),
        # Workers, jobs and stuck alerts: the page warns in red, then polls /healthz.
        "health": health(),
        "evacuees": evacuee_series(),
        "report_figures": report_figures(),
        # JMA: what is in force for the city, and the telegrams behind it (JMA's words).
        "warnings": warnings.in_force(),
        "warning_timeline": [
            warnings.telegram_payload(t)
            for t in Telegram.objects.filter(concerns_city=True).order_by("-id")[:20]
        ],
        # What the rules suggest for them (acted on from the panel), and the call-ups.
        "suggestions": suggestions.open_suggestions(),
        "suggestion_statuses": dict(Suggestion.Status.choices),
        "call_ups": callup.recent(3),
        "events": [event.as_message() for event in reversed(feed)],
    }
