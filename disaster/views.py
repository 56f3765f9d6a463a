from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found

from alerts.delivery.health import health
from disaster.api import api_not_found
from disaster.core.errors import error_response
from disaster.core.limits import too_large
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
    """The database, Redis, workers and jobs and the alerts whose sending made no progress
    for a minute (alerts/delivery/health.py); 503 when something is down. Counts only."""
    facts = health()
    return JsonResponse(facts, status=200 if facts["ok"] else 503)


def login_locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """What django-axes answers a login locked out (too many failures for this user from
    this address): the login page again, saying so in the reader's language, with 429."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    context = {"locked_out": True, "minutes": minutes, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields, a
    bad host) answer the API's clients in its error format; a too-large body is a 413."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return error_response(400, "bad_request", _("リクエストが正しくありません。"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)
