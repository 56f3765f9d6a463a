from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from disaster.city_setup import CityFiles, setup_city
from disaster.core import audit, audit_display, services
from disaster.core.admin_audit import AuditedAdmin, ReadOnlyAdmin
from disaster.core.errors import DomainError
from disaster.core.models import ApiToken, AuditEntry, Event, Incident, StaffContact, Team, User
from disaster.warnings.models import Telegram
from shelters.models import Shelter

admin.site.site_header = _("備え 管理")
admin.site.site_title = _("備え")


def _shelters_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        label=_("担当する避難所"),
        queryset=Shelter.objects.filter(is_shelter=True).order_by("name"),
        required=False,
        widget=FilteredSelectMultiple(_("避難所"), is_stacked=False),
        help_text=_("避難所運営の人がタブレットで扱える避難所（避難所の画面からも設定できます）"),
    )


class UserChangeWithShelters(UserChangeForm):
    """The shelters a user runs, set from the user's page as well as the shelter's."""

    shelters = _shelters_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["shelters"] = list(self.instance.managed_shelters.all())


class UserCreationWithShelters(UserCreationForm):
    """A new user with a role, and for a shelter manager the shelters they run."""

    shelters = _shelters_field()

    class Meta:
        model = User
        fields = ("username", "role")


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    form = UserChangeWithShelters
    add_form = UserCreationWithShelters
    list_display = [
        "username",
        "role",
        "first_name",
        "last_name",
        "shelters",
        "is_active",
        "last_login",
    ]
    list_filter = ["role", "is_active"]
    fieldsets = [
        (None, {"fields": ["username", "password", "role", "is_active"]}),
        (_("担当する避難所"), {"fields": ["shelters"]}),
        (_("個人情報"), {"fields": ["first_name", "last_name", "email"]}),
        (_("日時"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "role", "password1", "password2"]}),
        (_("担当する避難所"), {"fields": ["shelters"]}),
    ]

    @admin.display(description=_("担当する避難所"))
    def shelters(self, user: User) -> str:
        return "、".join(s.name for s in user.managed_shelters.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("managed_shelters")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        before = sorted(user.managed_shelters.values_list("pk", flat=True))
        after = sorted(s.pk for s in form.cleaned_data.get("shelters", []))
        if before != after:
            user.managed_shelters.set(after)
            audit.record(
                request.user,
                "user.shelters",
                user,
                before={"managed_shelters": before},
                after={"managed_shelters": after},
            )


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


class AuditActionFilter(admin.SimpleListFilter):
    """The actions logged so far, by their names in words."""

    title = _("操作")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = AuditEntry.objects.order_by("action").values_list("action", flat=True)
        return [(a, audit_display.action_label(a)) for a in actions.distinct()]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log in words (disaster/core/audit_display.py): who by name, the action,
    the object by its name, and each field before and after as people read it."""

    list_display = ["at", "who", "via", "what", "target", "changed"]
    list_filter = ["via", AuditActionFilter, "target_type", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_name", "actor__first_name", "actor__last_name", "action", "target_id"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    fields = ("at", "who", "via", "what", "target", "changes_table", "ledger")
    readonly_fields = fields

    @admin.display(description=_("実行者"), ordering="actor_name")
    def who(self, entry: AuditEntry) -> str:
        if entry.actor is None:
            return entry.actor_name or str(_("システム"))
        full = entry.actor.get_full_name()
        return f"{full}（{entry.actor_name}）" if full else entry.actor_name

    @admin.display(description=_("操作"), ordering="action")
    def what(self, entry: AuditEntry) -> str:
        return audit_display.action_label(entry.action)

    @admin.display(description=_("対象"))
    def target(self, entry: AuditEntry) -> str:
        return audit_display.target_label(entry)

    @admin.display(description=_("変更"))
    def changed(self, entry: AuditEntry) -> str:
        return audit_display.summary(entry)

    @admin.display(description=_("変更の内容"))
    def changes_table(self, entry: AuditEntry) -> str:
        rows = audit_display.changes(entry)
        if not rows:
            return "—"
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th></tr>", _("項目"), _("変更前"), _("変更後")
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c.label, c.before, c.after) for c in rows),
        )
        return format_html('<table class="audit-changes">{}{}</table>', head, body)

    @admin.display(description=_("在庫の台帳"))
    def ledger(self, entry: AuditEntry) -> str:
        """Stock writes are in the ledger itself (who, when, why, each lot): linked here."""
        depot = audit_display.depot_of(entry)
        if depot is None:
            return "—"
        url = reverse("admin:stockpile_movement_changelist") + f"?depot__id__exact={depot}"
        return format_html('<a href="{}">{}</a>', url, _("この倉庫の入出庫記録（台帳）"))


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
