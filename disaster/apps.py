from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisasterConfig(AppConfig):
    name = "disaster"
    verbose_name = _("災害対応")

    def ready(self) -> None:
        from disaster import event_kinds  # noqa: F401 (registers the event schemas)
