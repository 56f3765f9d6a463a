import hashlib

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdminMixin

from disaster.core.admin_audit import PlaceNamesAdmin, ReadingsChecked, ReadOnlyAdmin
from shelters import opendata
from shelters.models import Hazard, HeadCount, Shelter


class ShelterForm(forms.ModelForm):
    """Hazards as boxes to tick with their Japanese names (the stored codes, flood,
    landslide…, are for machines)."""

    hazards = forms.MultipleChoiceField(
        label=_("対象とする災害"),
        choices=Hazard.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Shelter
        fields = "__all__"  # noqa: DJ007 (the admin lists its own fieldsets)


@admin.register(Shelter)
class ShelterAdmin(LeafletGeoAdminMixin, PlaceNamesAdmin):
    form = ShelterForm
    list_display = ["name", "name_en", "status", "capacity", "is_shelter", "is_evacuation_site"]
    list_filter = ["status", "is_shelter", "is_evacuation_site", ReadingsChecked]
    search_fields = ["name", "kana", "name_en", "address"]
    filter_horizontal = ["managers"]
    readonly_fields = ["status", "status_changed_at", "status_changed_by"]
    change_list_template = "admin/shelters/shelter/change_list.html"

    def get_urls(self):
        own = [
            path(
                "opendata/",
                self.admin_site.admin_view(self.opendata_view),
                name="shelters_shelter_opendata",
            )
        ]
        return own + super().get_urls()

    def opendata_view(self, request: HttpRequest) -> HttpResponse:
        """Shelter open data in and out: an upload is tried first and shows what it would
        change; the same file sent again with "apply" writes it (all rows or none)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("オープンデータの取込・書き出し"),
            "opts": self.model._meta,
            "export_csv": reverse("api:export_shelters_csv"),
            "export_geojson": reverse("api:export_shelters_geojson"),
        }
        form = OpenDataForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            content = form.cleaned_data["file"].read()
            digest = hashlib.sha256(content).hexdigest()
            # Written only when the very file previewed is sent again with "apply".
            apply = request.POST.get("apply") == "1" and form.cleaned_data["previewed"] == digest
            try:
                context["result"] = opendata.import_file(
                    content, by=request.user, dry_run=not apply
                )
            except opendata.ImportRejected as error:
                context["error"] = error
            else:
                context["digest"] = digest
                context["filename"] = form.cleaned_data["file"].name
        context["form"] = form
        return TemplateResponse(request, "admin/shelters/opendata.html", context)


class OpenDataForm(forms.Form):
    file = forms.FileField(
        label=_(
            "ファイル（国土地理院 GeoJSON / CSV、推奨データセット CSV、この画面で書き出した CSV）"
        )
    )
    previewed = forms.CharField(required=False, widget=forms.HiddenInput)


# Head-counts are history: a correction is a new count, never an edit.
@admin.register(HeadCount)
class HeadCountAdmin(ReadOnlyAdmin):
    list_display = ["at", "shelter", "total", "elderly", "infants", "disabled", "pets", "by"]
    list_filter = ["shelter"]
