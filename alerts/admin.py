"""Read-only admin views of alerts and subscribers.

Alerts go through the approval workflow in `alerts.authoring.services` and subscribers consent
through SMS, LINE or staff registration, so the admin only shows them: an edit here would
skip the second-person approval, the audit trail and the events.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from alerts.models import Alert, CallUpAnswer, Delivery, Subscriber, Suggestion, SuggestionRule
from disaster.core.admin_audit import AuditedAdmin, ReadOnlyAdmin


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "is_drill", "msg_type", "status", "title_ja", "created_at"]
    list_filter = ["status", "kind", "is_drill", "msg_type"]
    search_fields = ["title_ja", "body_ja"]


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    list_display = ["id", "language", "consent_method", "needs_support", "created_at"]
    list_filter = ["language", "consent_method", "needs_support"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["alert", "channel", "status", "attempts", "updated_at"]
    list_filter = ["channel", "status"]


@admin.register(SuggestionRule)
class SuggestionRuleAdmin(AuditedAdmin):
    """The city's table of what to suggest for JMA's telegrams: editable, every change in
    the audit log. It only ever suggests; nothing is sent without two people."""

    list_display = [
        "name",
        "active",
        "family",
        "kind_contains",
        "min_level",
        "max_level",
        "min_intensity",
        "hazard",
        "staffing",
        "call_up",
        "shelters_for",
        "alert_kind",
        "incident_kind",
    ]
    list_editable = ["active"]
    list_filter = ["active", "family", "staffing"]
    filter_horizontal = ["alert_districts"]
    fieldsets = [
        (None, {"fields": ["name", "active"]}),
        (
            _("条件（気象庁の発表）"),
            {
                "fields": [
                    "family",
                    "kind_contains",
                    ("min_level", "max_level"),
                    ("min_intensity", "max_intensity"),
                    "hazard",
                ]
            },
        ),
        (
            _("提案"),
            {
                "fields": [
                    ("staffing", "call_up"),
                    "shelters_for",
                    ("alert_kind", "alert_whole_city"),
                    "alert_districts",
                    "incident_kind",
                ]
            },
        ),
    ]


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdmin):
    list_display = ["id", "summary", "status", "staffing", "alert", "telegram", "created_at"]
    list_filter = ["status", "staffing"]


@admin.register(CallUpAnswer)
class CallUpAnswerAdmin(ReadOnlyAdmin):
    list_display = ["call_up", "staff", "team_name", "channel", "answer", "answered_at"]
    list_filter = ["answer", "team_name"]
