"""Warnings API: what JMA says is in force for the city (public, with its source, as JMA
words it), and the telegrams behind it (staff: the timeline, each telegram raw)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.pagination import paginate

from disaster.core.auth import STAFF
from disaster.core.errors import NotFound
from disaster.core.schemas import Id, Paginated
from disaster.warnings import services
from disaster.warnings.event_kinds import TelegramReceived, WarningInForce
from disaster.warnings.models import Telegram

router = Router(tags=["warnings"])

SOURCE = "出典：気象庁"  # JMA's terms: reuse with this attribution, words unchanged


class WarningsOut(Schema):
    city: str
    source: str
    warnings: list[WarningInForce]


class TelegramDetail(TelegramReceived):
    event_id: str
    serial: int | None
    source_url: str
    concerns_city: bool
    parsed: dict[str, Any] | None


@router.get("/warnings", response=WarningsOut, auth=None)
def warnings_in_force(request: HttpRequest):
    """The city's warnings, 注意報 and JMA reports in force now, in JMA's words (出典：気象庁)."""
    return {"city": settings.CITY_NAME, "source": SOURCE, "warnings": services.in_force()}


@router.get("/warnings/telegrams", response=list[TelegramReceived], auth=STAFF)
@paginate(Paginated)
def telegrams(request: HttpRequest, concerns_city: bool | None = True):
    """Telegrams received, newest first: by default those concerning the city (and refused
    ones, which may have)."""
    found = Telegram.objects.order_by("-received_at", "-id")
    if concerns_city is not None:
        refused = Telegram.Outcome.REFUSED
        found = found.filter(concerns_city=concerns_city) | found.filter(outcome=refused)
    return [services.telegram_payload(t) for t in found]


def _telegram(telegram_id: int) -> Telegram:
    telegram = Telegram.objects.filter(pk=telegram_id).first()
    if telegram is None:
        raise NotFound()
    return telegram


@router.get("/warnings/telegrams/{telegram_id}", response=TelegramDetail, auth=STAFF)
def telegram(request: HttpRequest, telegram_id: Id):
    found = _telegram(telegram_id)
    return {
        **services.telegram_payload(found),
        "event_id": found.event_id,
        "serial": found.serial,
        "source_url": found.source,
        "concerns_city": found.concerns_city,
        "parsed": found.parsed,
    }


@router.get("/warnings/telegrams/{telegram_id}/xml", auth=STAFF, response={200: None})
def telegram_xml(request: HttpRequest, telegram_id: Id):
    """The telegram exactly as received."""
    return HttpResponse(bytes(_telegram(telegram_id).raw), content_type="application/xml")
