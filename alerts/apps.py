from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("避難情報の配信")

    def ready(self) -> None:
        # Registers the event schemas of authoring and delivery.
        from alerts.authoring import event_kinds  # noqa: F401
        from alerts.callup import event_kinds as callup_events  # noqa: F401
        from alerts.delivery import event_kinds as delivery_events  # noqa: F401
