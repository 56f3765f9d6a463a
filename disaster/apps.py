from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisasterConfig(AppConfig):
    name = "disaster"
    verbose_name = _("災害対応")

    def ready(self) -> None:
        # Registers the event schemas of the core and the damage reports.
        from disaster.core import event_kinds  # noqa: F401
        from disaster.reports import event_kinds as report_events  # noqa: F401
        from disaster.warnings import event_kinds as warning_events  # noqa: F401
