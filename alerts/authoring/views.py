"""The alerts page for operations staff (`/ops/alerts/`): draft, review and approve; its
script does everything through the alerts API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from alerts.authoring import versions
from alerts.delivery.transports import console_banner
from alerts.models import Alert, Channel, Language, text_field_suffix
from disaster.core.roles import is_staff_role
from shelters.models import Hazard


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
