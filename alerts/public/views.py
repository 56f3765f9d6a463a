"""Public alert documents: CAP 1.2 per alert, the Atom feed of current alerts, and the
short link an SMS carries. An alert is public from its approval on (Alert.PUBLIC_STATUSES);
nothing personal is here.

Also the operations staff's page to draft, review and approve alerts (`/ops/alerts/`); its
script does everything through the alerts API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from alerts.authoring import versions
from alerts.delivery.transports import console_banner
from alerts.models import Alert, Channel, Language, text_field_suffix
from alerts.public import cap
from disaster.core.roles import is_staff_role
from shelters.models import Hazard


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


@require_GET
@login_required
@ensure_csrf_cookie
def ops_alerts(request: HttpRequest) -> HttpResponse:
    """Draft, review and approve alerts (operations staff and administrators)."""
    if not is_staff_role(request.user):
        raise PermissionDenied
    labels = {
        "kinds": dict(Alert.Kind.choices),
        "statuses": dict(Alert.Status.choices),
        "hazards": dict(Hazard.choices),
        "languages": dict(Language.choices),
        "channels": dict(Channel.choices),
        "fields": {name: versions.label(name) for name in versions.REVIEWED},
        "msg_types": dict(Alert.MessageType.choices),
    }
    other_languages = [
        (text_field_suffix(code), name) for code, name in Language.choices if code != "ja"
    ]
    return render(
        request,
        "alerts/ops_alerts.html",
        {
            "kinds": Alert.Kind.choices,
            "hazards": Hazard.choices,
            "channels": Channel.choices,
            "other_languages": other_languages,
            "labels": labels,
            "api_url": reverse("api:api-root") + "v1/",
            **console_banner(),
        },
    )
