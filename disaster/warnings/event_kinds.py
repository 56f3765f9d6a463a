"""Payload schemas of the warnings' events (see `disaster.core.events.event_kind`)."""

from __future__ import annotations

from pydantic import BaseModel

from disaster.core.events import event_kind


class NextKind(BaseModel):
    name: str
    at: str | None
    sentence: str


class WarningInForce(BaseModel):
    """A warning in force for the city, in JMA's words (気象業務法: relayed, never reworded)."""

    id: int
    telegram_id: int
    family: str
    area_code: str
    area_name: str
    name: str
    status: str
    level: int | None
    level_words: str
    intensity: str
    hazards: list[str]
    condition: str
    next_kinds: list[NextKind]
    text: str
    since: str
    updated_at: str


@event_kind("jma.warnings")
class WarningsInForce(BaseModel):
    """Everything in force for the city after a telegram changed it (it replaces the list)."""

    warnings: list[WarningInForce]


@event_kind("jma.telegram")
class TelegramReceived(BaseModel):
    """A telegram that concerns the city (or was refused), for the timeline."""

    id: int
    outcome: str
    family: str
    info_kind: str
    title: str
    info_type: str
    status: str
    report_at: str | None
    received_at: str
    publishing_office: str
    headline: str
    cancelled: bool
    error: str
