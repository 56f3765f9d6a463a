"""The audit log: every write, through the API, a page or the admin site, is recorded here.

Services call `record(...)` in the same transaction as the change, so a rolled-back write
leaves no entry. How the write arrived (API, page, admin, system) is taken from the request
by `AuditViaMiddleware`, so services need not be told.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import uuid
from typing import Any

from django.contrib.gis.geos import GeometryCollection, LineString, Point, Polygon
from django.db import models

from disaster.core.models import AuditEntry

_via: contextvars.ContextVar[str] = contextvars.ContextVar(
    "audit_via", default=AuditEntry.Via.SYSTEM
)


def via_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return AuditEntry.Via.API
    if path.startswith("/admin/"):
        return AuditEntry.Via.ADMIN
    return AuditEntry.Via.PAGE


class AuditViaMiddleware:
    """Remembers, for the audit log, whether this request came through the API or a page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _via.set(via_for_path(request.path))
        try:
            return self.get_response(request)
        finally:
            _via.reset(token)


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a field value (dates as ISO text, geometry as GeoJSON)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    # Every geometry GEOS builds is one of these (multi-geometries are collections).
    if isinstance(value, Point | LineString | Polygon | GeometryCollection):
        return {"type": value.geom_type, "coordinates": value.coords}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of `instance`, ready for the `before`/`after` columns."""
    names = fields or [
        f.attname for f in instance._meta.concrete_fields if f.attname not in SECRET_FIELDS
    ]
    return {name: jsonable(getattr(instance, name)) for name in names}


# Never copied into the log, whatever the model.
SECRET_FIELDS = {"password", "key_hash"}


def record(
    actor: Any,
    action: str,
    target: models.Model | None = None,
    *,
    target_type: str = "",
    target_id: Any = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Write one audit entry for `actor` doing `action` to `target`."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        via=_via.get(),
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        before=before,
        after=after,
    )
