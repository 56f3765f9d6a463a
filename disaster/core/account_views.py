"""The signed-in person's own API tokens (`/account/tokens/`): create one with a name and an
expiry (its secret shown once), see when each was last used, revoke it. For tablets and
integrations; every role may hold tokens of its own (disaster/core/services.py)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from disaster.core import services
from disaster.core.errors import DomainError, NotFound
from disaster.core.pages import SignedInRequest, refusal_to_form

EXPIRY_CHOICES = [
    ("7", _("7 日")),
    ("30", _("30 日")),
    ("90", _("90 日")),
    ("365", _("1 年")),
    ("", _("期限なし（失効させるまで）")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("名前"),
        max_length=100,
        help_text=_("どの端末・システム用か（例: 相模が丘小のタブレット）"),
    )
    expires_in = forms.ChoiceField(
        label=_("有効期限"), choices=EXPIRY_CHOICES, initial="90", required=False
    )

    def expires_at(self) -> dt.datetime | None:
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + dt.timedelta(days=int(days)) if days else None


@login_required
@never_cache
def tokens(request: SignedInRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.create_token(
                request.user, form.cleaned_data["name"], form.expires_at()
            )
        except DomainError as error:
            refusal_to_form(form, error, {"expires_at": "expires_in"})
        else:
            # Shown in this answer only: the secret is never stored (only its hash).
            form = TokenForm()
            messages.success(
                request, _("トークン「%(name)s」を作成しました。") % {"name": token.name}
            )
    return render(
        request,
        "account/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": request.user.api_tokens.order_by("-created_at"),
            "now": timezone.now(),
            "api_root": "/api/v1/",
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def revoke(request: SignedInRequest, token_id: int) -> HttpResponse:
    try:
        token = services.revoke_token(request.user, token_id)
    except NotFound:
        messages.error(request, _("そのトークンはありません。"))
    else:
        messages.success(
            request, _("トークン「%(name)s」を失効させました。") % {"name": token.name}
        )
    return redirect("account:tokens")
