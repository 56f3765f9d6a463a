"""The event log and the live channel (DESIGN decision 3).

`publish(kind, payload)` stores an Event row in the current transaction and, only once that
transaction commits, sends it to the operations room's channel group. A client that lost its
connection asks for `GET /api/v1/events?after=<last id seen>` and misses nothing.

Why ids come out in commit order: event ids are taken under a transaction-level advisory
lock, held until commit, so a transaction cannot take a smaller id and commit after a
larger one has been seen (which would let a catching-up client skip it). Services publish
last, just before commit, so the lock is held only for the commit itself.

Each kind of event declares a payload schema with `@event_kind(...)`; `publish` validates
against it, so an event the clients could not read fails at the line that made it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from pydantic import BaseModel

from disaster.models import Event

log = logging.getLogger(__name__)

OPS_GROUP = "ops"
_EVENT_ORDER_LOCK = 0x50_4E_41_45  # "SONAE": any constant shared by all publishers

EVENT_KINDS: dict[str, type[BaseModel]] = {}


def event_kind(kind: str):
    """Register the payload schema of one kind of event."""

    def register(schema: type[BaseModel]) -> type[BaseModel]:
        if kind in EVENT_KINDS:
            raise ValueError(f"event kind {kind!r} is registered twice")
        EVENT_KINDS[kind] = schema
        return schema

    return register


class UnknownEventKind(ValueError):
    pass


def publish(kind: str, payload: dict[str, Any] | BaseModel) -> Event:
    """Store an event in this transaction; broadcast it to the operations room on commit."""
    schema = EVENT_KINDS.get(kind)
    if schema is None:
        raise UnknownEventKind(f"no schema registered for event kind {kind!r}")
    data = (payload if isinstance(payload, schema) else schema.model_validate(payload)).model_dump(
        mode="json"
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Event._meta.db_table} (kind, payload, created_at)
            SELECT %s, %s, now() FROM (SELECT pg_advisory_xact_lock(%s)) AS ordered
            RETURNING id, created_at
            """,  # noqa: S608 (table name is ours)
            [kind, json.dumps(data, ensure_ascii=False), _EVENT_ORDER_LOCK],
        )
        event_id, created_at = cursor.fetchone()
    event = Event(id=event_id, kind=kind, payload=data, created_at=created_at)
    transaction.on_commit(lambda: broadcast(event))
    return event


def broadcast(event: Event) -> None:
    """Send a committed event to every connected operations client.

    A failure here loses nothing: the event is already in the log, and clients catch up.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            OPS_GROUP, {"type": "event.message", "event": event.as_message()}
        )
    except Exception:
        log.exception("could not broadcast event %s (%s); clients will catch up", event.id, event.kind)


def events_after(after: int, limit: int = 500) -> list[Event]:
    return list(Event.objects.filter(id__gt=after).order_by("id")[:limit])
