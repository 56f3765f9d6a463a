"""Read-only admin views of alerts and subscribers.

Alerts go through the approval workflow in `alerts.authoring.services` and subscribers consent
through SMS, LINE or staff registration, so the admin only shows them: an edit here would
skip the second-person approval, the audit trail and the events.
"""

from django.contrib import admin

from alerts.models import Alert, Delivery, Subscriber
from disaster.core.admin_audit import ReadOnlyAdmin


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
