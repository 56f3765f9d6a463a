from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db import models
from django.utils import timezone
from ninja import Field, FilterLookup, FilterSchema, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, WithJsonSchema

from disaster.core.models import Incident
from disaster.core.roles import Role

# A database id: anything outside PostgreSQL's bigint is a 422, not a database error.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Cursor = Annotated[int, Field(ge=0, le=2**63 - 1)]


def _to_utc(value: dt.datetime) -> dt.datetime:
    # Naive times are Tokyo times; any offset is normalised (PostgreSQL refuses > ±15:59).
    try:
        if value.tzinfo is None:
            value = timezone.make_aware(value)
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as error:  # 0001-01-01T00:00+00:01 is before year 1
        raise ValueError("date out of range") from error


Moment = Annotated[dt.datetime, AfterValidator(_to_utc)]


def enum_named(choices: type[models.Choices], name: str) -> WithJsonSchema:
    """The JSON schema of `choices`, inline under its own `name`: use it as
    `Annotated[Shelter.Status, enum_named(Shelter.Status, "ShelterStatus")]`.

    Choices nested in models share short names (Shelter.Status, DamageReport.Status,
    Transfer.Status…), and the OpenAPI document keeps one component per name: without
    this, a shelter's status would be documented as a damage report's."""
    labels = "、".join(f"{value}: {label}" for value, label in choices.choices)
    return WithJsonSchema(
        {"title": name, "type": "string", "enum": list(choices.values), "description": labels}
    )


IncidentKind = Annotated[Incident.Kind, enum_named(Incident.Kind, "IncidentKind")]


class EventOut(Schema):
    id: int
    kind: str
    at: dt.datetime = Field(alias="created_at")
    payload: dict[str, Any]


class EventPage(Schema):
    events: list[EventOut]
    last_id: int = Field(description="次の問い合わせで after に渡す値")
    more: bool = Field(description="まだ続きがある")


class MeOut(Schema):
    id: int
    username: str
    role: Role
    shelter_ids: list[int]


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    expires_at: Moment | None = Field(
        None,
        description="この日時を過ぎると使えなくなります（タイムゾーンなしは日本時間。"
        "省略: 失効させるまで有効）",
    )


class TokenOut(Schema):
    id: int
    name: str
    hint: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str | None = Field(
        description="この応答でのみ表示されます。安全に保管してください。"
        "同じ Idempotency-Key の再送への応答では null です（秘密は保存されません）。"
    )


class AuditOut(Schema):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    via: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditFilter(FilterSchema):
    actor: Annotated[Id | None, FilterLookup("actor_id")] = None
    action: Annotated[str | None, FilterLookup("action")] = None
    target_type: Annotated[str | None, FilterLookup("target_type")] = None
    target_id: Annotated[str | None, FilterLookup("target_id")] = None
    via: Annotated[str | None, FilterLookup("via")] = None
    since: Annotated[Moment | None, FilterLookup("at__gte")] = None
    until: Annotated[Moment | None, FilterLookup("at__lt")] = None


class IncidentIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    kind: IncidentKind
    is_drill: bool = False


class IncidentPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    phase: Incident.Phase | None = None


class IncidentOut(Schema):
    id: int
    name: str
    kind: IncidentKind
    phase: Incident.Phase
    is_drill: bool
    started_at: dt.datetime
    ended_at: dt.datetime | None


class Paginated(LimitOffsetPagination):
    """limit/offset pagination with bounds, so a huge offset is a 422, not a database error."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=1000)
        offset: int = Field(0, ge=0, le=2**31 - 1)
