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

import asyncio
import atexit
import concurrent.futures
import json
import logging
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.db import connection, transaction
from pydantic import BaseModel

from disaster.core.models import Event

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


class _Broadcaster:
    """Sends committed events to the channel layer from one event loop per process.

    Creating a loop (and a Redis connection) for every event cost ~6 ms each; one loop on a
    daemon thread keeps the layer's connection pool warm, and the request that published
    does not wait for Redis. Pending sends are flushed when the process exits.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future] = set()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="event-broadcast", daemon=True
                ).start()
                atexit.register(self.flush)
                self._loop = loop
            return self._loop

    def send(self, event: Event) -> concurrent.futures.Future:
        future = asyncio.run_coroutine_threadsafe(self._send(event), self._running_loop())
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._pending.discard(future)

    @staticmethod
    async def _send(event: Event) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            await layer.group_send(
                OPS_GROUP, {"type": "event.message", "event": event.as_message()}
            )
        except Exception:
            log.exception(
                "could not broadcast event %s (%s); clients will catch up", event.id, event.kind
            )

    def flush(self, timeout: float = 5.0) -> None:
        """Wait for every pending send (at exit, and in tests that need it)."""
        with self._lock:
            pending = list(self._pending)
        concurrent.futures.wait(pending, timeout=timeout)


_broadcaster = _Broadcaster()


def broadcast(event: Event) -> concurrent.futures.Future:
    """Send a committed event to every connected operations client.

    A failure here loses nothing: the event is already in the log, and clients catch up.
    """
    return _broadcaster.send(event)


flush_broadcasts = _broadcaster.flush


def events_after(after: int, limit: int = 500, before: int | None = None) -> list[Event]:
    events = Event.objects.filter(id__gt=after)
    if before is not None:
        events = events.filter(id__lt=before)
    return list(events.order_by("id")[:limit])
