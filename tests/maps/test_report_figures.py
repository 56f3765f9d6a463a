"""The operations map's report figures (unresolved reports by severity, reports per hour)
are counted by the database over every report, not over the thousand the page loads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone

from disaster.reports.models import DamageReport
from maps.ops import SERIES_HOURS
from tests.maps.test_views import ops_state

pytestmark = pytest.mark.django_db

FIGURES = "/api/v1/map/ops/report-figures"
Status = DamageReport.Status


def many_reports(count: int, *, severity: int, status: str = Status.NEW) -> None:
    DamageReport.objects.bulk_create(
        DamageReport(
            point=Point(139.41, 35.49, srid=4326),
            category="flooding",
            severity=severity,
            status=status,
            source="web",
        )
        for _ in range(count)
    )


@pytest.fixture
def twelve_hundred_reports() -> None:
    many_reports(700, severity=4)
    many_reports(300, severity=2, status=Status.VERIFIED)
    many_reports(150, severity=5, status=Status.ASSIGNED)
    many_reports(40, severity=4, status=Status.RESOLVED)
    many_reports(10, severity=1, status=Status.DUPLICATE)


def test_unresolved_reports_are_counted_by_severity_over_every_report(
    api_as, ops_user, twelve_hundred_reports
):
    response = api_as(ops_user).get(FIGURES)

    assert response.status_code == 200, response.content
    assert response.json()["open_by_severity"] == {"1": 0, "2": 300, "3": 0, "4": 700, "5": 150}


def test_the_operations_map_starts_with_the_same_figures(
    session_as, ops_user, twelve_hundred_reports
):
    state = ops_state(session_as(ops_user).get("/ops/"))

    figures = state["report_figures"]
    assert figures["open_by_severity"] == {"1": 0, "2": 300, "3": 0, "4": 700, "5": 150}
    assert sum(n for _, n in figures["per_hour"]) == 1200


def test_reports_are_counted_per_hour_over_the_charts_window(api_as, ops_user):
    many_reports(1100, severity=3)
    now = timezone.now()
    this_hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    ids = list(DamageReport.objects.order_by("pk").values_list("pk", flat=True))
    moved = {
        this_hour - dt.timedelta(hours=5, minutes=-10): ids[:200],
        this_hour - dt.timedelta(hours=SERIES_HOURS + 3): ids[200:250],  # before the window
    }
    for at, chosen in moved.items():
        DamageReport.objects.filter(pk__in=chosen).update(created_at=at)

    series = api_as(ops_user).get(FIGURES).json()["per_hour"]

    hours = [dt.datetime.fromisoformat(at) for at, _ in series]
    assert len(series) == SERIES_HOURS + 1
    assert hours[0] == this_hour - dt.timedelta(hours=SERIES_HOURS)
    assert hours[-1] == this_hour
    counts = dict(zip(hours, (n for _, n in series), strict=True))
    assert counts[this_hour - dt.timedelta(hours=5)] == 200
    assert counts[this_hour] + counts[this_hour - dt.timedelta(hours=1)] == 850
    assert sum(counts.values()) == 1050


def test_the_report_figures_are_for_operations_staff_only(session_as, manager_user):
    assert Client().get(FIGURES).status_code == 401
    assert session_as(manager_user).get(FIGURES).status_code == 403


def test_the_report_figures_refuse_filters_they_do_not_take(api_as, ops_user):
    assert api_as(ops_user).get(FIGURES + "?severity=4").status_code == 422
