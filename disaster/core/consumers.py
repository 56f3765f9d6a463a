"""The operations room's live channel: `/ws/ops/`.

Operations staff and administrators only. A client that reconnects may pass `?after=<id>`:
it is first sent every event after that id from the log, then live events, with none
twice and none out of order.

Order: an event is broadcast only once it is settled, with `prev`, the id of the event before
it in the log (`disaster.core.events`). Each process sends its own events in order, but
broadcasts from different processes may overtake each other. An event whose `prev` this
client has been sent goes out at once, with no database read; otherwise the events between
are read from the log (complete below a settled id) and sent first.

Staying live: the channel layer is channels_redis's pub/sub one (a process subscribes to
the group once and hands each event to its sockets in memory). A Redis
restart loses what was published while it was down; the subscription comes back with the
connection, and the next event's `prev` makes the consumer read what it missed from the
log. A layer that forgets members after `group_expiry` (the in-memory one of a laptop
without Redis: a day) would leave a socket kept open by pings hearing nothing while the
page still says it is live, so the consumer joins again every LIVE_GROUP_REFRESH_S (a
quarter of the expiry unless set). It also asks every LIVE_AUTH_RECHECK_S whether its
token or session still belongs to staff, and closes with 4401 (revoked, logged out) or
4403 (role lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from disaster.core.events import OPS_GROUP, events_after
from disaster.core.roles import is_staff_role
from disaster.core.ws_auth import FORBIDDEN, Credential, credential_of, still_allowed

log = logging.getLogger(__name__)

CATCH_UP_PAGE = 500


class OpsConsumer(AsyncJsonWebsocketConsumer):
    # The last event id this client was sent; None until the first one when it asked for
    # live events only.
    last_sent: int | None = None
    watcher: asyncio.Task | None = None

    async def connect(self):
        if not is_staff_role(self.scope.get("user")):
            # Before accept: the handshake is refused with 403.
            await self.close(code=FORBIDDEN)
            return
        # Join first, then read the log, so an event committed in between is not lost;
        # anything the log already delivered is dropped when it also arrives live.
        await self.channel_layer.group_add(OPS_GROUP, self.channel_name)
        await self.accept()
        self.watcher = asyncio.create_task(self.watch(credential_of(self.scope)))
        after = _int_param(self.scope, "after")
        if after is not None:
            self.last_sent = after
            await self.send_backlog(after)

    async def disconnect(self, code):
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
        await self.channel_layer.group_discard(OPS_GROUP, self.channel_name)

    async def watch(self, credential: Credential) -> None:
        """While the socket is open: join the group again before channels_redis forgets the
        membership, and close the socket once its credential no longer admits it."""
        recheck = settings.LIVE_AUTH_RECHECK_S
        refresh = settings.LIVE_GROUP_REFRESH_S or group_expiry(self.channel_layer) / 4
        next_refresh = time.monotonic() + refresh
        while True:
            await asyncio.sleep(max(0.0, min(recheck, next_refresh - time.monotonic())))
            try:
                if time.monotonic() >= next_refresh:
                    await self.channel_layer.group_add(OPS_GROUP, self.channel_name)
                    next_refresh = time.monotonic() + refresh
                refused = await database_sync_to_async(still_allowed)(credential)
            except Exception:
                # Redis or PostgreSQL away for a moment: try again at the next check
                # rather than drop a socket the operations room is watching.
                log.warning("live channel check failed; retrying", exc_info=True)
                next_refresh = max(next_refresh, time.monotonic() + recheck)
                continue
            if refused is not None:
                await self.close(code=refused)
                return

    async def send_backlog(self, after: int, before: int | None = None) -> None:
        """Every logged event after `after` (and before `before`), oldest first."""
        while True:
            events = await database_sync_to_async(events_after)(after, CATCH_UP_PAGE, before)
            for event in events:
                await self._send(event.as_message())
            if len(events) < CATCH_UP_PAGE:
                break
            after = events[-1].id

    async def dispatch(self, message):
        # channels closes stale database connections before every message, a hop to a
        # worker thread: half of a process's time when an event goes out to a hundred
        # sockets. A live event reads no database (the backlog goes through
        # database_sync_to_async, which closes them itself), so it is sent directly.
        if message["type"] == "event.message":
            await self.event_message(message)
        else:
            await super().dispatch(message)

    async def event_message(self, message):
        event = message["event"]
        if self.last_sent is not None:
            if event["id"] <= self.last_sent:
                return  # sent already, from the log or overtaken and read from it
            prev = message.get("prev")
            if prev is None or prev > self.last_sent:
                await self.send_backlog(self.last_sent, before=event["id"])
        await self._send(event)

    async def _send(self, event: dict) -> None:
        await self.send_json(event)
        self.last_sent = event["id"]

    async def receive_json(self, content, **kwargs):
        # The channel is one-way; a ping keeps proxies from closing an idle socket.
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})


def group_expiry(layer) -> float:
    """Seconds after joining that the channel layer drops a group member: the in-memory
    layer's `group_expiry`; channels_redis's pub/sub layer drops none (a day is assumed)."""
    return float(getattr(layer, "group_expiry", 86400))


def _int_param(scope, name: str) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode()).get(name)
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None
