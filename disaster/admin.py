from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from disaster.core import services
from disaster.core.admin_audit import AuditedAdmin, ReadOnlyAdmin
from disaster.core.models import ApiToken, AuditEntry, Event, Incident, User

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
