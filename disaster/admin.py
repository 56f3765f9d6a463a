from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from disaster.city_setup import CityFiles, setup_city
from disaster.core import services
from disaster.core.admin_audit import AuditedAdmin, ReadOnlyAdmin
from disaster.core.errors import DomainError
from disaster.core.models import ApiToken, AuditEntry, Event, Incident, StaffContact, Team, User
from disaster.warnings.models import Telegram

admin.site.site_header = _("備え 管理")
admin.site.site_title = _("備え")


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    list_display = ["username", "role", "first_name", "last_name", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = [
        (None, {"fields": ["username", "password", "role", "is_active"]}),
        (_("個人情報"), {"fields": ["first_name", "last_name", "email"]}),
        (_("日時"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["username", "role", "password1", "password2"]})]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "hint", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username"]
    actions = ["revoke"]

    @admin.action(description=_("選択したトークンを失効させる"))
    def revoke(self, request, queryset):
        for token in queryset:
            services.revoke_token(request.user, token.pk)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or request.user.role == "administrator"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_name", "via", "action", "target_type", "target_id"]
    list_filter = ["via", "action", "target_type", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_name", "action", "target_type", "target_id"]
    date_hierarchy = "at"


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "created_at"]
    list_filter = ["kind"]


@admin.register(Incident)
class IncidentAdmin(AuditedAdmin):
    list_display = ["name", "kind", "phase", "is_drill", "started_at", "ended_at"]
    list_filter = ["kind", "phase", "is_drill"]


# Setting the city up from national open data (`manage.py setup_city` as a page) ----------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's FileField takes one)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class SetupCityForm(forms.Form):
    boundary = forms.FileField(
        label=_("市区町村境界（国土数値情報 N03、GeoJSON）"),
        help_text=_("政令市は区ごとの地物のままで構いません（結合します）。"),
    )
    shelters = MultipleFileField(
        label=_("指定避難所・指定緊急避難場所（国土地理院 GeoJSON / CSV、推奨データセット CSV）"),
        required=False,
    )
    small_areas = forms.FileField(
        label=_("小地域（e-Stat 境界データ: GeoJSON か Shapefile の ZIP）"),
        help_text=_("形が公開されていなければ、代表点（X_CODE, Y_CODE）の CSV から推定します。"),
        required=False,
    )
    admin_username = forms.CharField(label=_("管理者のユーザー名"), initial="admin", max_length=150)
    dry_run = forms.BooleanField(
        label=_("試行（書き込まずに、何が変わるかだけを表示する）"), required=False, initial=True
    )


def setup_city_view(request: HttpRequest) -> HttpResponse:
    """The city set up from uploaded files: a trial run first (the default), then for real.
    Administrators only (the admin site admits only them)."""
    context: dict = {**admin.site.each_context(request), "title": _("市の初期設定")}
    form = SetupCityForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        files = CityFiles(
            boundary=data["boundary"].read(),
            shelters=[(f.name, f.read()) for f in data["shelters"]],
            small_areas=data["small_areas"].read() if data["small_areas"] else None,
        )
        try:
            context["result"] = setup_city(
                files,
                admin_username=data["admin_username"],
                admin_password=None,
                dry_run=data["dry_run"],
                by=request.user if isinstance(request.user, User) else None,
            )
        except DomainError as e:
            context["error"] = e
            context["error_rows"] = (e.extra.get("rows") or [])[:100]
    context["form"] = form
    return TemplateResponse(request, "admin/setup_city.html", context)


admin.site.index_template = "admin/sonae_index.html"


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    """Teams (班) and the staffing level from which each is called up (職員参集)."""

    list_display = ["name", "called_from"]
    list_filter = ["called_from"]


@admin.register(StaffContact)
class StaffContactAdmin(AuditedAdmin):
    """How each staff member is reached when called up: personal data, administrators only."""

    list_display = ["user", "team"]
    list_filter = ["team"]
    search_fields = ["user__username", "user__last_name", "user__first_name"]
    autocomplete_fields = ["user"]


@admin.register(Telegram)
class TelegramAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "info_type", "report_at", "outcome", "concerns_city"]
    list_filter = ["outcome", "family", "concerns_city", "status"]
    search_fields = ["title", "event_id", "headline"]
    exclude = ["raw"]
