"""The call-up pages: a staff member's answer page (reached by the personal link in their
message, no login: the link is the proof) and the operations staff's list of answers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from alerts.callup import services
from alerts.models import CallUpAnswer
from disaster.core.errors import DomainError
from disaster.core.roles import is_staff_role

CHOICES = [
    (CallUpAnswer.Answer.COMING, CallUpAnswer.Answer.COMING.label),
    (CallUpAnswer.Answer.CANNOT, CallUpAnswer.Answer.CANNOT.label),
    (CallUpAnswer.Answer.ARRIVED, CallUpAnswer.Answer.ARRIVED.label),
]


@require_http_methods(["GET", "POST"])
@ensure_csrf_cookie
def answer(request: HttpRequest, token: str) -> HttpResponse:
    row = CallUpAnswer.objects.select_related("call_up").filter(token=token).first()
    if row is None:
        raise Http404
    error = ""
    if request.method == "POST":
        try:
            row = services.answer(token, request.POST.get("answer", ""))
        except DomainError as refused:
            error = refused.message
    return render(
        request,
        "alerts/callup/answer.html",
        {"row": row, "choices": CHOICES, "error": error},
        status=422 if error else 200,
    )


@login_required
@ensure_csrf_cookie
def ops_call_ups(request: HttpRequest) -> HttpResponse:
    """Who was called, and who is coming, cannot come or has arrived."""
    if not is_staff_role(request.user):
        raise PermissionDenied
    return render(request, "alerts/callup/ops.html", {"call_ups": services.recent(10)})
