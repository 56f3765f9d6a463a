"""Provider webhooks, mounted at /hooks/ (signature-checked, CSRF-exempt)."""

from django.urls import path

from alerts import webhooks

app_name = "hooks"

urlpatterns = [
    path("line/", webhooks.line, name="line"),
    path("twilio/status", webhooks.twilio_status, name="twilio-status"),
    path("twilio/sms", webhooks.twilio_sms, name="twilio-sms"),
]
