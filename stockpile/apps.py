from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StockpileConfig(AppConfig):
    name = "stockpile"
    verbose_name = _("備蓄")

    def ready(self) -> None:
        from stockpile import event_kinds  # noqa: F401 (registers the event schemas)
