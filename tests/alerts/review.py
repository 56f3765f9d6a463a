"""Approving as a reviewer does: read the alert, then approve the version read (DESIGN
decision 11). Tests that are about something else approve through these, so the rule that
an approval names its version is never relaxed for them."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import Client

from alerts.authoring import services
from alerts.models import Alert
from disaster.core.models import User


def read_and_approve(client: Client, alert_id: int) -> HttpResponse:
    """GET the alert, then approve it with `If-Match` set to the ETag that GET answered."""
    etag = client.get(f"/api/v1/alerts/{alert_id}")["ETag"]
    return client.post(
        f"/api/v1/alerts/{alert_id}/approve",
        content_type="application/json",
        headers={"If-Match": etag},
    )


def approve(by: User, alert: Alert) -> Alert:
    """Approve through the service, at the version the alert is at now."""
    version = Alert.objects.values_list("version", flat=True).get(pk=alert.pk)
    return services.approve_alert(by, alert.pk, version)
