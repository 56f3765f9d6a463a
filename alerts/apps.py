from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("避難情報の配信")

    def ready(self) -> None:
        from alerts import delivery_events, event_kinds  # noqa: F401 (registers event schemas)
