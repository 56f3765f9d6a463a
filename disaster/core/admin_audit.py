"""The administrators' pages (Django admin) write the audit log like every other write."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

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


class PlaceNamesAdmin(AuditedAdmin):
    """Shelters and districts: their reading (kana) and romanised name, made by the
    machine where the open data had none (disaster/core/readings.py), are listed until an
    administrator checks them. Saving a changed reading or name marks it checked; emptying
    one has it made again from the name."""

    readings_fields = ("kana", "name_en", "readings_generated_from")

    @admin.action(description=_("カナ・英字を確認済みにする"))
    def mark_readings_checked(self, request, queryset):
        for place in queryset.exclude(readings_generated_from=""):
            before = audit.snapshot(place)
            place.readings_generated_from = ""
            place.save(update_fields=["readings_generated_from"])
            audit.record(
                request.user,
                self._action(place, "change"),
                place,
                before=before,
                after=audit.snapshot(place),
            )

    actions = ["mark_readings_checked"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "readings_generated_from"]

    def save_model(self, request, obj, form, change):
        edited = {"kana", "name_en"} & set(form.changed_data)
        if edited and all(getattr(obj, name) for name in ("kana", "name_en")):
            obj.readings_generated_from = ""
        super().save_model(request, obj, form, change)


class ReadingsChecked(admin.SimpleListFilter):
    """The places whose reading and romanised name a person has yet to check."""

    title = _("カナ・英字")
    parameter_name = "readings"

    def lookups(self, request, model_admin):
        return [("generated", _("自動生成（未確認）")), ("checked", _("出典・確認済み"))]

    def queryset(self, request, queryset):
        if self.value() == "generated":
            return queryset.exclude(readings_generated_from="")
        if self.value() == "checked":
            return queryset.filter(readings_generated_from="")
        return queryset
