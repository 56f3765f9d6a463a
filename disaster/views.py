from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found

from alerts.delivery.progress import without_progress
from disaster.api import api_not_found
from disaster.core import workers
from disaster.core.roles import role_of
from shelters.models import Shelter


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "disaster/home.html",
        {
            "role": role_of(request.user),
            "open_shelters": Shelter.objects.filter(status=Shelter.Status.OPEN).count(),
            "shelters": Shelter.objects.count(),
        },
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """The database, Redis, workers and jobs (disaster/core/workers.py) and the alerts whose
    sending made no progress for a minute; 503 when something is down. Counts only."""
    facts = workers.health()
    if facts["database"]["ok"]:
        facts["alerts"] = {"without_progress": len(without_progress())}
    return JsonResponse(facts, status=200 if facts["ok"] else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)
