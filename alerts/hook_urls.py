"""Provider webhooks, mounted at /hooks/ (signature-checked, CSRF-exempt); each provider's
views live in its own package under `alerts/providers/`."""

from django.urls import path

from alerts.providers.line import webhook as line
from alerts.providers.twilio import webhook as twilio

app_name = "hooks"

urlpatterns = [
    path("line/", line.line, name="line"),
    path("twilio/status", twilio.twilio_status, name="twilio-status"),
    path("twilio/sms", twilio.twilio_sms, name="twilio-sms"),
]
