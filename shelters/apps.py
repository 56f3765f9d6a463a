from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SheltersConfig(AppConfig):
    name = "shelters"
    verbose_name = _("避難所")

    def ready(self) -> None:
        from shelters import event_kinds  # noqa: F401 (registers the event schemas)
