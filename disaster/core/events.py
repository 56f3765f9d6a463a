"""The event log and the live channel (DESIGN decision 3).

`publish(kind, payload)` stores an Event row in the current transaction and, only once that
transaction commits, sends it to the operations room's channel group. A client that lost its
connection asks for `GET /api/v1/events?after=<last id seen>` and misses nothing.

Why a catching-up client never skips an event, without serialising publishers: an event's
id is its transaction's id (`pg_current_xact_id()`, 64-bit, never reused) times
EVENTS_PER_TRANSACTION plus its place in that transaction. So ids follow transaction-id
order, not commit order, and a reader only reads events *settled* for good: those whose
transaction id is below every transaction still in progress (`settled_below()`, from the
reader's own snapshot). Every transaction below that bound has committed (and is visible
to the reader) or rolled back; every later transaction gets a larger id. So nothing can
appear later below a cursor. The price: a long writing transaction in this database holds
back catch-up and live pushes until it ends; it delays events, it never loses one.

The broadcast waits the same way: committed events go out from one thread per process, in
id order, once settled, each with `prev`, the id of the event before it in the log. A
consumer that last sent `prev` sends the event at once; otherwise it reads the gap from
the log (which is complete below a settled id).

Each kind of event declares a payload schema with `@event_kind(...)`; `publish` validates
against it, so an event the clients could not read fails at the line that made it.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import queue
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from pydantic import BaseModel

from disaster.core.models import Event

log = logging.getLogger(__name__)

OPS_GROUP = "ops"
# Event ids are transaction id × this + place in the transaction (see above): 2**16 leaves
# ids below 2**53, exact in JavaScript, for the first 2**37 transactions of the cluster.
EVENTS_PER_TRANSACTION = 1 << 16

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
    event = store(kind, payload)
    transaction.on_commit(lambda: broadcast(event))
    return event


def store(kind: str, payload: dict[str, Any] | BaseModel) -> Event:
    """Validate and log an event in the current transaction without announcing it."""
    schema = EVENT_KINDS.get(kind)
    if schema is None:
        raise UnknownEventKind(f"no schema registered for event kind {kind!r}")
    data = (payload if isinstance(payload, schema) else schema.model_validate(payload)).model_dump(
        mode="json"
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # The place in the transaction counts in a transaction-local setting, so the id
        # needs no lock and no second round trip; a rolled-back savepoint rolls it back too.
        cursor.execute(
            f"""
            INSERT INTO {Event._meta.db_table} (id, kind, payload, created_at)
            SELECT xact * {EVENTS_PER_TRANSACTION} + place, %s, %s, now()
            FROM (
                SELECT pg_current_xact_id()::text::bigint AS xact,
                       set_config(
                           'sonae.events_in_xact',
                           (coalesce(
                               nullif(current_setting('sonae.events_in_xact', true), ''), '0'
                           )::int + 1)::text,
                           true
                       )::int - 1 AS place
            ) AS this_transaction
            WHERE place < {EVENTS_PER_TRANSACTION}
            RETURNING id, created_at
            """,  # noqa: S608 (table name is ours)
            [kind, json.dumps(data, ensure_ascii=False)],
        )
        row = cursor.fetchone()
    if row is None:
        raise TooManyEvents(f"one transaction may publish {EVENTS_PER_TRANSACTION} events")
    event_id, created_at = row
    return Event(id=event_id, kind=kind, payload=data, created_at=created_at)


class TooManyEvents(RuntimeError):
    pass


# SQL: the smallest event id a transaction still in progress could give (other than the
# reader's own); every event below it is settled. It is evaluated in the reader's statement,
# so it describes the very snapshot the rows are read with. Snapshots list the running
# transactions of the whole server; one that a backend of another database holds cannot
# write our events and is left out (a transaction id belongs to one database for good, so
# the activity view being a moment later than the snapshot does no harm: one that ended in
# between is no longer listed there and is conservatively counted).
SETTLED_BELOW_SQL = f"""(
    SELECT least(
        pg_snapshot_xmax(snapshot)::text::bigint,
        (
            SELECT min(running::text::bigint) FROM pg_snapshot_xip(snapshot) AS running
            WHERE NOT EXISTS (
                SELECT FROM pg_stat_get_activity(NULL) AS backend
                WHERE backend.backend_xid::text::bigint = mod(running::text::bigint, 4294967296)
                  AND backend.datid <> (
                      SELECT oid FROM pg_database WHERE datname = current_database()
                  )
            )
        )
    ) * {EVENTS_PER_TRANSACTION}
    FROM pg_current_snapshot() AS snapshot
)"""  # noqa: S608 (no input in it)


class _Broadcaster:
    """Sends committed events to the channel layer, in id order, once they are settled.

    One daemon thread per process with its own event loop (keeping the layer's connection
    pool warm) and its own database connection: the request that published waits for
    neither Redis nor the settling. Sends are one after another, so this process never
    overtakes its own events. Pending sends are flushed when the process exits.
    """

    POLL_S = (0.002, 0.05)  # first and longest wait for an older transaction to end
    IDLE_S = 1.0  # the connection is closed after this long without an event

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unsent = 0
        self._thread: threading.Thread | None = None

    def send(self, event: Event) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="event-broadcast", daemon=True
                )
                self._thread.start()
                atexit.register(self.flush)
            self._unsent += 1
        self._queue.put(event)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        pending: dict[int, Event] = {}
        wait = self.POLL_S[0]
        while True:
            try:
                event = self._queue.get(timeout=wait if pending else self.IDLE_S)
                pending[event.id] = event
                while True:
                    event = self._queue.get_nowait()
                    pending[event.id] = event
            except queue.Empty:
                if not pending:
                    connection.close()  # idle: do not hold a connection (nor a test database)
                    continue
            try:
                ready = _settled_with_prev(sorted(pending))
            except Exception:
                log.warning("could not check which events are settled; retrying", exc_info=True)
                connection.close()
                wait = self.POLL_S[1]
                continue
            for event_id, prev in ready:
                loop.run_until_complete(self._send(pending.pop(event_id), prev))
            with self._lock:
                self._unsent -= len(ready)
                if not self._unsent:
                    self._idle.notify_all()
            wait = self.POLL_S[0] if ready else min(wait * 2, self.POLL_S[1])

    @staticmethod
    async def _send(event: Event, prev: int | None) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            await layer.group_send(
                OPS_GROUP, {"type": "event.message", "event": event.as_message(), "prev": prev}
            )
        except Exception:
            log.exception(
                "could not broadcast event %s (%s); clients will catch up", event.id, event.kind
            )

    def flush(self, timeout: float = 5.0) -> None:
        """Wait for every pending send (at exit, and in tests that need it)."""
        with self._idle:
            self._idle.wait_for(lambda: not self._unsent, timeout=timeout)


def _settled_with_prev(ids: list[int]) -> list[tuple[int, int | None]]:
    """Of these committed event ids, the settled ones, oldest first, each with the id of the
    event before it in the log (None when it is the first)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.id, (SELECT max(p.id) FROM {Event._meta.db_table} AS p WHERE p.id < e.id)
            FROM unnest(%s::bigint[]) AS e(id)
            WHERE e.id < {SETTLED_BELOW_SQL}
            ORDER BY e.id
            """,  # noqa: S608 (table name and bound are ours)
            [ids],
        )
        return cursor.fetchall()


_broadcaster = _Broadcaster()


def broadcast(event: Event) -> None:
    """Send a committed event to every connected operations client once it is settled.

    A failure here loses nothing: the event is already in the log, and clients catch up.
    """
    _broadcaster.send(event)


flush_broadcasts = _broadcaster.flush


def events_after(after: int, limit: int = 500, before: int | None = None) -> list[Event]:
    """Settled events after `after`, oldest first: a cursor moved past them never has to
    come back (see the module's docstring)."""
    own = "pg_current_xact_id_if_assigned()::text::bigint"
    events = Event.objects.filter(id__gt=after).filter(
        # The reader's own events are visible to it and as final as they get (tests read
        # what they just published in the same transaction).
        Q(id__lt=RawSQL(SETTLED_BELOW_SQL, []))  # noqa: S611 (no input in it)
        | Q(
            id__gte=RawSQL(f"{own} * {EVENTS_PER_TRANSACTION}", []),  # noqa: S611
            id__lt=RawSQL(f"({own} + 1) * {EVENTS_PER_TRANSACTION}", []),  # noqa: S611
        )
    )
    if before is not None:
        events = events.filter(id__lt=before)
    return list(events.order_by("id")[:limit])
