"""Public alert documents: CAP 1.2 per alert, the Atom feed of current alerts, and the
short link an SMS carries. An alert is public from its approval on (Alert.PUBLIC_STATUSES);
nothing personal is here."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from alerts.models import Alert
from alerts.public import cap


@require_GET
def cap_document(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = (
        Alert.objects.filter(pk=alert_id, status__in=Alert.PUBLIC_STATUSES)
        .select_related("references")
        .prefetch_related("districts")
        .first()
    )
    if alert is None:
        raise Http404
    return HttpResponse(cap.to_cap(alert), content_type="application/cap+xml; charset=utf-8")


@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    body = cap.atom_feed(cap.current_alerts(), request.build_absolute_uri())
    return HttpResponse(body, content_type="application/atom+xml; charset=utf-8")


@require_GET
def short_link(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The link in an SMS: the public map of open shelters."""
    if not Alert.objects.filter(pk=alert_id, status__in=Alert.PUBLIC_STATUSES).exists():
        raise Http404
    return redirect(f"{reverse('maps:public')}?alert={alert_id}")
