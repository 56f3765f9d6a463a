"""Staff pages for residents who cannot register themselves (避難行動要支援者): find them by
name or number, register them with their consent, correct and remove them
(alerts/residents/registrations.py). Operations staff only; every write is audited."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from alerts.models import Language, Subscriber
from alerts.residents import registrations
from disaster.core.errors import DomainError
from disaster.core.geography import District
from disaster.core.pages import SignedInRequest, refusal_to_form, staff_page

PAGE_LIMIT = 500


class ResidentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("氏名"), max_length=100)
    phone = forms.CharField(
        label=gettext_lazy("電話番号"),
        max_length=30,
        help_text=gettext_lazy("例: 090-1234-5678（SMS を受け取れる番号）"),
    )
    language = forms.ChoiceField(label=gettext_lazy("言語"), choices=Language.choices)
    districts = forms.ModelMultipleChoiceField(
        label=gettext_lazy("地区"),
        queryset=District.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    latitude = forms.FloatField(
        label=gettext_lazy("自宅の緯度"), required=False, min_value=-90, max_value=90
    )
    longitude = forms.FloatField(
        label=gettext_lazy("自宅の経度"), required=False, min_value=-180, max_value=180
    )
    needs_support = forms.BooleanField(
        label=gettext_lazy("避難行動要支援者"), required=False, initial=True
    )
    note = forms.CharField(
        label=gettext_lazy("同意の記録・メモ"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "いつ、誰が、どう同意を確認したか（例: 12/1 民生委員の訪問時に本人の署名）"
        ),
    )
    consent = forms.BooleanField(
        label=gettext_lazy("本人（または代理人）の同意を得ています"),
        error_messages={"required": gettext_lazy("本人の同意がなければ登録できません。")},
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        lat, lon = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lon is None):
            self.add_error(
                "longitude" if lon is None else "latitude", _("緯度と経度は両方入力してください。")
            )
        return data

    def home(self) -> tuple[float, float] | None:
        lat, lon = self.cleaned_data.get("latitude"), self.cleaned_data.get("longitude")
        return (lat, lon) if lat is not None and lon is not None else None

    def details(self) -> dict:
        """What registering and correcting both take, as the services name it."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "phone": data["phone"],
            "language": data["language"],
            "home": self.home(),
            "district_ids": [d.pk for d in data["districts"]],
            "needs_support": data["needs_support"],
        }


# The service's field names where they differ from the form's.
SERVICE_FIELDS = {"district_ids": "districts", "consent_note": "note", "staff_note": "note"}


@staff_page
def residents(request: SignedInRequest) -> HttpResponse:
    """Residents staff registered, found by name or number."""
    text = request.GET.get("q", "")[:100]
    everyone = request.GET.get("all") == "1"
    found = registrations.find(text, needs_support=None if everyone else True)
    return render(
        request,
        "alerts/ops_residents.html",
        {
            "residents": found[:PAGE_LIMIT],
            "count": found.count(),
            "limit": PAGE_LIMIT,
            "q": text,
            "everyone": everyone,
        },
    )


@staff_page
def register(request: SignedInRequest) -> HttpResponse:
    form = ResidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscriber = registrations.register(
                request.user, **form.details(), consent_note=form.cleaned_data["note"]
            )
        except DomainError as error:
            refusal_to_form(form, error, SERVICE_FIELDS)
        else:
            messages.success(
                request, _("%(name)s さんを登録しました。") % {"name": subscriber.name}
            )
            return redirect("alerts-ops:residents")
    return render(
        request,
        "alerts/ops_resident_form.html",
        {"form": form, "editing": None},
        status=422 if form.errors else 200,
    )


@staff_page
def edit(request: SignedInRequest, subscriber_id: int) -> HttpResponse:
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    initial = {
        "name": subscriber.name,
        "phone": subscriber.phone or "",
        "language": subscriber.language,
        "districts": list(subscriber.districts.all()),
        "latitude": subscriber.home.y if subscriber.home else None,
        "longitude": subscriber.home.x if subscriber.home else None,
        "needs_support": subscriber.needs_support,
        "note": subscriber.staff_note,
        "consent": True,
    }
    form = ResidentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            registrations.update(
                request.user, subscriber.pk, **form.details(), staff_note=data["note"]
            )
        except DomainError as error:
            refusal_to_form(form, error, SERVICE_FIELDS)
        else:
            messages.success(
                request, _("%(name)s さんの登録を更新しました。") % {"name": data["name"]}
            )
            return redirect("alerts-ops:residents")
    return render(
        request,
        "alerts/ops_resident_form.html",
        {"form": form, "editing": subscriber},
        status=422 if form.errors else 200,
    )


@staff_page
@require_POST
def remove(request: SignedInRequest, subscriber_id: int) -> HttpResponse:
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("削除するには確認の欄にチェックを入れてください。"))
        return redirect("alerts-ops:resident", subscriber_id=subscriber.pk)
    name = subscriber.name or f"#{subscriber.pk}"
    registrations.remove(request.user, subscriber.pk)
    messages.success(request, _("%(name)s さんの登録と記録を削除しました。") % {"name": name})
    return redirect("alerts-ops:residents")
