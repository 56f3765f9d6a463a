"""The map pages: the operations map (`/ops/`, staff only) and the public shelter map and
damage-report form (`/map/`, anyone, phone-first).

Pages are rendered here with what they need to start; their small scripts read the JSON API
and, on `/ops/`, the live channel `/ws/ops/`.
"""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.csrf import ensure_csrf_cookie

from alerts.delivery.messages import city_name
from alerts.delivery.transports import console_banner
from disaster.core.roles import is_staff_role
from disaster.reports.models import DamageReport
from disaster.reports.photos import photo_limit_mb
from maps import ops as ops_state
from shelters.models import Hazard

# The operations map's modules, fetched together (modulepreload) rather than each only
# once the module importing it has arrived.
OPS_MODULES = [
    f"maps/{name}.js"
    for name in (
        "dom",
        "i18n",
        "ops/state",
        "ops/reports",
        "ops/shelters",
        "ops/panel",
        "ops/delivery",
        "ops/alert_areas",
        "ops/events",
        "ops/feed",
        "ops/live",
        "ops/legend",
        "ops/population",
        "ops/warnings",
    )
]
# Leaflet, its set-up by django-leaflet and the plugins the operations map uses, in order.
OPS_SCRIPTS = [
    "leaflet/leaflet.js",
    "leaflet/leaflet.extras.js",
    "maps/vendor/markercluster/leaflet.markercluster.js",
    "maps/vendor/vectorgrid/Leaflet.VectorGrid.bundled.min.js",
]
# The newest reports the operations map loads as markers (the tiles draw every one).
OPS_MARKERS = 1000
# The operations map's zoom range (ops/early.js and ops/main.js read it from the page). A
# city's operations room never needs less than 10 (a prefecture and its neighbours on one
# screen), and each level below would be one more level of clusters computed for the
# markers; it opens on every shelter at 15 at most.
OPS_MIN_ZOOM, OPS_OPENING_MAX_ZOOM = 10, 15


def _city_view(shelters: list[dict]) -> str:
    """[[south, west], [north, east]] around every shelter, which the operations map opens
    on (ops/early.js); "null" without a shelter (the map's default view then)."""
    if not shelters:
        return "null"
    lats, lons = [s["lat"] for s in shelters], [s["lon"] for s in shelters]
    return json.dumps([[min(lats), min(lons)], [max(lats), max(lons)]])


@login_required
@ensure_csrf_cookie
def ops(request: HttpRequest) -> HttpResponse:
    if not is_staff_role(request.user):
        raise PermissionDenied
    state = ops_state.snapshot()
    geojson_url = reverse("api:reports_geojson")
    # The markers' first request with the filters' defaults (the open reports), exactly as
    # ops/reports.js asks for it: preloaded from the page's head, so it is answered while
    # the page's scripts are still arriving.
    open_statuses = [("status", status) for status in DamageReport.OPEN_STATUSES]
    markers_query = urlencode([*open_statuses, ("limit", OPS_MARKERS)])
    return render(
        request,
        "maps/ops.html",
        {
            "state": state,
            "city_view": _city_view(state["shelters"]),
            "min_zoom": OPS_MIN_ZOOM,
            "opening_max_zoom": OPS_OPENING_MAX_ZOOM,
            "reports_url": reverse("api:list_reports"),
            "tiles_url": reverse("api:api-root") + "v1/map/tiles/reports/{z}/{x}/{y}.pbf",
            "geojson_url": geojson_url,
            "markers_limit": OPS_MARKERS,
            "first_markers_url": f"{geojson_url}?{markers_query}",
            "figures_url": reverse("api:report_figures"),
            "city_name": city_name(get_language() or settings.LANGUAGE_CODE),
            "scripts": OPS_SCRIPTS,
            "modules": OPS_MODULES,
            "report_categories": DamageReport.Category.choices,
            "report_statuses": DamageReport.Status.choices,
            **console_banner(),
        },
    )


@ensure_csrf_cookie
def public_map(request: HttpRequest) -> HttpResponse:
    # `?alert=<id>`: where an SMS short link lands; the page then shows that alert's area.
    alert_id = request.GET.get("alert", "")
    alert_url = (
        reverse("api:public_alert_area", kwargs={"alert_id": int(alert_id)})
        if alert_id.isascii() and alert_id.isdigit() and len(alert_id) < 10
        else ""
    )
    return render(
        request,
        "maps/public_map.html",
        {
            "hazards": Hazard.choices,
            "hazard_labels": dict(Hazard.choices),
            "crowded_percent": settings.MAP_CROWDED_PERCENT,
            "shelters_url": reverse("api:public_shelters_geojson"),
            "nearest_url": reverse("api:nearest_shelters"),
            "alert_url": alert_url,
            "warnings_url": reverse("api:warnings_in_force"),
            "city_name": city_name(get_language() or settings.LANGUAGE_CODE),
        },
    )


@ensure_csrf_cookie
def report_form(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "maps/report.html",
        {
            "submit_url": reverse("api:submit_report"),
            "categories": DamageReport.Category.choices,
            # The form promises what the server takes: one setting for both.
            "photo_max_bytes": settings.REPORT_PHOTO_MAX_BYTES,
            "photo_max_mb": photo_limit_mb(),
        },
    )
