from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found

from disaster.api import api_not_found
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
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)
