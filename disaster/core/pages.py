"""What the staff pages share: who may open them, and how a service's refusal reaches the
form field it is about (the API's field errors, shown at the field on a page)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from disaster.core.errors import DomainError
from disaster.core.models import User
from disaster.core.roles import is_staff_role


class SignedInRequest(HttpRequest):
    """A page's request behind `staff_page` or `login_required`: someone is signed in."""

    user: User


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Operations staff and administrators only: anyone else signed in gets the friendly
    403 page (disaster/templates/403.html), a visitor the login page."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_staff_role(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def refusal_to_form(form: forms.Form, error: DomainError, fields: dict[str, str] | None = None):
    """Put a service's refusal on the form: each field error at its field (`fields` maps the
    service's field names to the form's), the message itself above the form otherwise."""
    fields = fields or {}
    placed = False
    for name, message in error.fields.items():
        field = fields.get(name, name)
        if field in form.fields:
            form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, error.message)
