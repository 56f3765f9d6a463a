"""The tablet app for shelter managers (`/shelter/`): status and head-count.

Pages are rendered here; their forms write through the JSON API from the page's small
script, which queues writes while offline and replays them with their idempotency keys.
"""

import hashlib
import json

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.db.models import Field
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from disaster.core.roles import is_staff_role
from shelters.access import can_write_shelter
from shelters.models import HeadCount, Shelter
from shelters.services import percent_of_capacity


def shelters_of(user):
    """The shelters a user runs from the tablet: their own, or every shelter for staff."""
    shelters = Shelter.objects.visible_to(user)
    return shelters.filter(is_shelter=True) if is_staff_role(user) else shelters


def tablet_shelter(request: HttpRequest, shelter_id: int) -> Shelter:
    """The shelter of a tablet page, if the signed-in user may run it."""
    shelter = get_object_or_404(Shelter.objects.select_related("depot"), pk=shelter_id)
    if not can_write_shelter(request.user, shelter.pk):
        raise PermissionDenied
    return shelter


@login_required
def choose(request: HttpRequest) -> HttpResponse:
    shelters = list(shelters_of(request.user).order_by("name"))
    if len(shelters) == 1:
        return redirect("tablet:shelter", shelter_id=shelters[0].pk)
    return render(request, "tablet/choose.html", {"shelters": shelters})


def _figures(names: tuple[str, ...], latest: HeadCount | None) -> list[tuple[str, str, int]]:
    """(name, label, last value) of head-count figures: the form starts from the last count,
    so that sending it unchanged but for the total keeps everything else as it was."""
    return [
        (field.name, str(field.verbose_name), getattr(latest, field.name) if latest else 0)
        for field in map(HeadCount._meta.get_field, names)
        if isinstance(field, Field)  # all of them: columns, not relations
    ]


@login_required
def shelter(request: HttpRequest, shelter_id: int) -> HttpResponse:
    shelter = tablet_shelter(request, shelter_id)
    latest = HeadCount.objects.filter(shelter=shelter).first()
    history = HeadCount.objects.filter(shelter=shelter).select_related("by")[:10]
    return render(
        request,
        "tablet/shelter.html",
        {
            "shelter": shelter,
            "tab": "shelter",
            "latest": latest,
            "history": history,
            "percent": percent_of_capacity(latest.total, shelter.capacity) if latest else None,
            "statuses": Shelter.Status.choices,
            "needs": _figures((*HeadCount.NEEDS, "women", "pets"), latest),
            "elsewhere": _figures(("supported_at_home", "supported_in_cars"), latest),
        },
    )


# The app shell the service worker keeps: everything a tablet page needs but its own HTML.
SHELL = [
    "disaster/base.css",
    "tablet/tablet.css",
    "tablet/tablet.js",
    "tablet/queue.js",
    "tablet/store.js",
    "tablet/figures.js",
    "tablet/offline.js",
    "tablet/sheets.js",
    "maps/i18n.js",
    "tablet/icons/icon-192.png",
    "tablet/icons/icon-512.png",
]
ICONS = [
    ("tablet/icons/icon-192.png", "192x192", "any"),
    ("tablet/icons/icon-512.png", "512x512", "any"),
    ("tablet/icons/maskable-512.png", "512x512", "maskable"),
]


def _shell_version() -> str:
    """A digest of the shell's files and the worker's own template: a deploy that changes
    any of them installs a new worker, which fetches the new shell."""
    digest = hashlib.sha256(render_to_string("tablet/sw.js", {"config": ""}).encode())
    for name in SHELL:
        path = finders.find(name)
        if isinstance(path, str):
            with open(path, "rb") as source:
                digest.update(source.read())
    return digest.hexdigest()[:16]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The tablet app's service worker (template `tablet/sw.js`), at the top of the app so
    its scope covers every tablet page. Anyone may fetch it: it holds no data."""
    scope = reverse("tablet:choose")
    config = {
        "version": _shell_version(),
        "scope": scope,
        "shell": [static(name) for name in SHELL]
        + [reverse("javascript-catalog"), reverse("tablet:manifest")],
        "catalogue": reverse("javascript-catalog"),
        "never": [reverse("tablet:service-worker"), reverse("tablet:manifest")],
        # For a page never opened here, with no network: both languages, since the worker
        # is one script whatever the language of the page.
        "text": {
            "title": "オフライン / Offline",
            "body": "このページはまだこの端末に保存されていません。通信が戻ってから開いてください。"
            "<br>This page has not been kept on this tablet yet: open it once online.",
            "back": "避難所タブレットへ / Back to the shelter app",
        },
    }
    body = render_to_string("tablet/sw.js", {"config": json.dumps(config, ensure_ascii=False)})
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = scope
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: the tablet app installs to the home screen in Japanese."""
    scope = reverse("tablet:choose")
    return JsonResponse(
        {
            "name": _("備え 避難所タブレット"),
            "short_name": _("備え 避難所"),
            "description": _("避難所の人数・在庫・物資要請を記録します。通信がなくても使えます。"),
            "lang": get_language() or "ja",
            "start_url": scope,
            "scope": scope,
            "display": "standalone",
            "orientation": "any",
            "background_color": "#ffffff",
            "theme_color": "#0b3d6e",
            "icons": [
                {"src": static(src), "sizes": sizes, "type": "image/png", "purpose": purpose}
                for src, sizes, purpose in ICONS
            ],
        },
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )
