"""Damage reports under concurrent requests, on the real database: a burst from one sender
cannot slip past the rate limit, two staff merging two reports into each other at once
neither deadlock nor lose a reporter, and a retried staff report is stored once."""

from __future__ import annotations

import threading

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import Client

from disaster.core.errors import Conflict
from disaster.core.geography import CityBoundary
from disaster.core.models import Event
from disaster.reports import services as reports
from disaster.reports.models import DamageReport
from tests.stockpile.test_concurrency import run_together

INSIDE = {"latitude": 35.49, "longitude": 139.41}


@pytest.fixture
def city(settings) -> None:
    CityBoundary.objects.create(
        code=settings.CITY_CODE,
        name="座間市",
        area=MultiPolygon(Polygon.from_bbox((139.36, 35.45, 139.44, 35.51)), srid=4326),
    )


@pytest.mark.django_db(transaction=True)
def test_a_burst_from_one_sender_gets_exactly_the_allowed_number_through(city, settings):
    settings.REPORT_PUBLIC_PER_HOUR = 3
    answers: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        response = Client(REMOTE_ADDR="198.51.100.7").post(
            "/api/v1/public/reports", {"category": "fire", "severity": "3", **INSIDE}
        )
        with lock:
            answers.append(response.status_code)

    errors = run_together([post] * 8)

    assert not errors
    assert sorted(answers) == [201] * 3 + [429] * 5
    assert DamageReport.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_merging_two_reports_into_each_other_at_once_keeps_one_with_both_reporters(city, ops_user):
    fields = {"category": "fire", "severity": 3, "source": "staff"}
    a = DamageReport.objects.create(point=Point(139.41, 35.49, srid=4326), **fields)
    b = DamageReport.objects.create(point=Point(139.41, 35.4901, srid=4326), **fields)
    refused: list[Conflict] = []

    def merging(one: DamageReport, other: DamageReport):
        def job() -> None:
            try:
                reports.merge(ops_user, one.pk, other.pk)
            except Conflict as refusal:
                refused.append(refusal)

        return job

    errors = run_together([merging(a, b), merging(b, a)])

    assert not errors and len(refused) == 1
    kept = DamageReport.objects.get(status="new")
    assert kept.reporters == 2
    assert DamageReport.objects.get(status="duplicate").merged_into == kept


@pytest.mark.django_db
def test_a_staff_report_retried_with_its_idempotency_key_is_stored_once(city, api_as, ops_user):
    client = api_as(ops_user)
    body = {"category": "fire", "severity": 3, **INSIDE}

    first, retry = (
        client.post(
            "/api/v1/reports", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r-1"
        )
        for _ in range(2)
    )

    assert first.status_code == retry.status_code == 201
    assert first.json()["id"] == retry.json()["id"]
    assert DamageReport.objects.count() == 1
    assert Event.objects.filter(kind="report.created").count() == 1
