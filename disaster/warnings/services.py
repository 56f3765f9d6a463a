"""Taking in one telegram: keep it (raw and parsed), recompute what is in force for the city,
tell the operations room, and queue the city's suggested actions — in one transaction.

A telegram seen before (the same bytes, or the same event, serial and type) changes nothing.
One that is not XML or fails JMA's schema is kept aside as `refused` and logged in one line:
a broken telegram never stops the poller and never raises to its caller.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from procrastinate.contrib.django import app

from disaster.core.events import publish
from disaster.warnings import parsing, state
from disaster.warnings.models import CityWarning, Telegram
from disaster.warnings.schema import Refused, validated

log = logging.getLogger(__name__)

# The city's response to a telegram (alerts/authoring/suggestions.py) runs as this task of
# alerts/jobs.py, deferred by name: this package never imports the layers above it.
ACT_ON_TELEGRAM = "alerts.jobs.act_on_telegram"


@dataclass
class Ingested:
    telegram: Telegram
    created: bool  # False: seen before, nothing changed
    changed: bool = False  # the city's warnings in force changed


def _utc(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value else ""


def order_key(telegram: parsing.Telegram) -> str:
    """JMA's order within a stream as sortable text: report time, serial, sending time."""
    return f"{_utc(telegram.report_at)}|{telegram.serial or 0:08d}|{_utc(telegram.sent_at)}"


def warning_payload(warning: CityWarning) -> dict[str, Any]:
    """A warning in force as the panel, the public map and the `jma.warnings` event show it."""
    return {
        "id": warning.pk,
        "telegram_id": warning.telegram_id,
        "family": warning.family,
        "area_code": warning.area_code,
        "area_name": warning.area_name,
        "name": warning.name,
        "status": warning.status,
        "level": warning.level,
        "level_words": warning.level_words,
        "intensity": warning.intensity,
        "hazards": list(warning.hazards),
        "condition": warning.condition,
        "next_kinds": warning.next_kinds,
        "text": warning.text,
        "since": warning.since.isoformat(),
        "updated_at": warning.updated_at.isoformat(),
    }


# The highest 警戒レベル相当 first, then the newest (kinds without a level after those with).
SHOWN_ORDER = (F("level").desc(nulls_last=True), "-since", "-id")


def in_force() -> list[dict[str, Any]]:
    return [warning_payload(w) for w in CityWarning.objects.in_force().order_by(*SHOWN_ORDER)]


def _comparable(warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What people see of the warnings: a telegram that only confirms them (継続) is no change."""
    return [
        {k: v for k, v in w.items() if k not in {"updated_at", "telegram_id"}} for w in warnings
    ]


def telegram_payload(telegram: Telegram) -> dict[str, Any]:
    """A telegram on the timeline: what JMA titled it and said in its headline."""
    return {
        "id": telegram.pk,
        "outcome": telegram.outcome,
        "family": telegram.family,
        "info_kind": telegram.info_kind,
        "title": telegram.title or telegram.control_title,
        "info_type": telegram.info_type,
        "status": telegram.status,
        "report_at": telegram.report_at.isoformat() if telegram.report_at else None,
        "received_at": telegram.received_at.isoformat(),
        "publishing_office": telegram.publishing_office,
        "headline": telegram.headline[:500],
        "cancelled": telegram.cancelled_by_id is not None,
        "error": telegram.error[:200],
    }


def _refuse(raw: bytes, sha256: str, source: str, entry_id: str, reason: str) -> Ingested:
    log.warning("JMA telegram refused (%s, entry %s): %s", source or "-", entry_id or "-", reason)
    telegram, created = Telegram.objects.get_or_create(
        sha256=sha256,
        defaults={
            "raw": raw,
            "source": source[:500],
            "entry_id": entry_id[:200],
            "outcome": Telegram.Outcome.REFUSED,
            "error": reason[:2000],
        },
    )
    if created:
        publish("jma.telegram", telegram_payload(telegram))
    return Ingested(telegram, created)


def _read(raw: bytes) -> parsing.Telegram:
    """Validate and parse; `Refused` for a telegram JMA would not send, and for one our parser
    cannot read (logged with its traceback: that is ours to fix)."""
    root = validated(raw)
    try:
        return parsing.parse(root)
    except Exception as error:
        log.exception("JMA telegram valid but unreadable")
        raise Refused(f"unreadable: {type(error).__name__}: {error}") from None


class _StoredBefore(Exception):
    """The telegram's bytes, or its event and serial, are stored already: the unique
    constraints said so as it was inserted."""

    def __init__(self, same_event: dict[str, Any]) -> None:
        super().__init__()
        self.same_event = same_event


def ingest(raw: bytes, *, source: str = "", entry_id: str = "") -> Ingested:
    """Keep one telegram and apply it (see the module docstring)."""
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        read = _read(raw)
    except Refused as refused:
        with transaction.atomic():
            return _refuse(raw, sha256, source, entry_id, refused.reason)
    try:
        return _store(raw, sha256, source, entry_id, read)
    except _StoredBefore as stored:
        # Its transaction rolled back. Neither a look-up before the insert nor a savepoint
        # around it: statements every telegram would pay for a duplicate that the poller's
        # entry ids mostly keep away.
        existing = Telegram.objects.filter(sha256=sha256).first() or Telegram.objects.get(
            outcome=Telegram.Outcome.READ, **stored.same_event
        )
        return Ingested(existing, created=False)


@transaction.atomic
def _store(raw: bytes, sha256: str, source: str, entry_id: str, read: parsing.Telegram) -> Ingested:
    own = state.city()
    fields = {
        "family": read.family,
        "info_kind": read.info_kind[:60],
        "control_title": read.control_title[:100],
        "title": read.title[:200],
        "status": read.status[:10],
        "info_type": read.info_type[:10],
        "event_id": read.event_id[:100],
        "serial": read.serial,
        "report_at": read.report_at,
        "publishing_office": read.publishing_office[:200],
        "headline": read.headline,
        "stream": read.stream[:300],
        "order_key": order_key(read),
        "concerns_city": state.concerns(read, own),
    }
    try:
        telegram = Telegram.objects.create(
            sha256=sha256,
            raw=raw,
            source=source[:500],
            entry_id=entry_id[:200],
            outcome=Telegram.Outcome.READ,
            # The head and what concerns the city; the raw XML has the rest.
            parsed=parsing.plain(
                dataclasses.replace(
                    read, items=[i for i in read.items if own.has_area(i.area_code)]
                )
            ),
            **fields,
        )
    except IntegrityError:
        # Stored by an earlier call, or by another poller a moment ago: the same bytes,
        # or the same event and serial (telegram_once_per_event_serial).
        same = ("stream", "order_key", "info_type", "status")
        raise _StoredBefore({name: fields[name] for name in same}) from None
    return Ingested(telegram, created=True, changed=_apply(telegram, read))


def _apply(telegram: Telegram, read: parsing.Telegram) -> bool:
    """Recompute the stream, announce the telegram and any change, queue the city's response.
    Drills and tests (運用種別 訓練・試験) are kept and shown, never applied."""
    normal = telegram.status == "通常"
    existing = state.locked_rows(telegram.stream) if normal else []
    applies = normal and (telegram.concerns_city or bool(existing) or telegram.info_type == "取消")
    changed = False
    if applies:
        # Only this stream's rows can change: compare them, not the whole list.
        before = _shown(existing)
        recomputed = state.recompute(telegram.stream, (telegram, read), existing)
        changed = before != _shown(recomputed.warnings)
        telegram.cancelled_by_id = recomputed.cancelled_by.get(
            telegram.pk, telegram.cancelled_by_id
        )
        if changed:
            publish("jma.warnings", {"warnings": in_force()})
    if telegram.concerns_city or changed:
        publish("jma.telegram", telegram_payload(telegram))
    if applies:
        app.configure_task(ACT_ON_TELEGRAM, queue="alerts").defer(telegram_id=telegram.pk)
    return changed


def _shown(warnings: list[CityWarning]) -> list[dict[str, Any]]:
    """What people see of some warnings now (see `_comparable`), in a fixed order."""
    now = timezone.now()
    return _comparable(
        [warning_payload(w) for w in sorted(warnings, key=lambda w: w.pk) if w.in_force_at(now)]
    )
