"""The disaster app's models, for Django: the core's (`disaster.core.models`) and the
damage reports' (`disaster.reports.models`) and JMA warnings'
(`disaster.warnings.models`). Code imports them from where they live."""

from disaster.core.models import (
    ApiToken,
    ApiTokenQuerySet,
    AuditEntry,
    Event,
    IdempotentRequest,
    Incident,
    RateWindow,
    StaffContact,
    Staffing,
    Team,
    User,
)
from disaster.reports.models import (
    DamageReport,
    DamageReportQuerySet,
    ReportChange,
    ReportPhoto,
    WithinMetres,
    as_geography,
    original_photo_path,
    public_photo_path,
)
from disaster.warnings.models import CityWarning, Feed, Telegram

__all__ = [
    "ApiToken",
    "ApiTokenQuerySet",
    "AuditEntry",
    "CityWarning",
    "DamageReport",
    "DamageReportQuerySet",
    "Event",
    "Feed",
    "IdempotentRequest",
    "Incident",
    "RateWindow",
    "ReportChange",
    "ReportPhoto",
    "StaffContact",
    "Staffing",
    "Team",
    "Telegram",
    "User",
    "WithinMetres",
    "as_geography",
    "original_photo_path",
    "public_photo_path",
]
