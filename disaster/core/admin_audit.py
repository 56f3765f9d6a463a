"""The administrators' pages (Django admin) write the audit log like every other write."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from disaster.core import audit


def _many_to_many(obj: models.Model) -> dict[str, list]:
    if obj.pk is None:
        return {}
    return {
        f.name: sorted(getattr(obj, f.name).values_list("pk", flat=True))
        for f in obj._meta.many_to_many
    }


class AuditedAdmin(admin.ModelAdmin):
    def _action(self, obj: models.Model, verb: str) -> str:
        return f"{obj._meta.model_name}.{verb}"

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        request._audit_m2m_before = _many_to_many(obj) if change else {}
        audit.record(
            request.user,
            self._action(obj, "change" if change else "add"),
            obj,
            before=before,
            after=audit.snapshot(obj),
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        before, after = getattr(request, "_audit_m2m_before", {}), _many_to_many(obj)
        if after and before != after:
            audit.record(
                request.user, self._action(obj, "relations"), obj, before=before, after=after
            )

    def delete_model(self, request, obj):
        before = audit.snapshot(obj)
        target_id = obj.pk
        super().delete_model(request, obj)
        audit.record(
            request.user,
            self._action(obj, "delete"),
            target_type=obj._meta.label_lower,
            target_id=target_id,
            before=before,
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records only services may write (logs, the ledger)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
