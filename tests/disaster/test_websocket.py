"""The operations room's live channel, `/ws/ops/`, through the real ASGI application:
origin check, session and bearer-token authentication, the consumer, and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import urlsplit

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.test import Client

from disaster.asgi import application
from disaster.core.events import OPS_GROUP, flush_broadcasts, store
from disaster.core.models import ApiToken, Event, Incident, User
from disaster.core.roles import Role
from disaster.core.services import declare_incident, revoke_token
from disaster.core.ws_auth import FORBIDDEN, NOT_AUTHENTICATED
from tests.alerts.test_chaos import Redis

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10  # seconds; generous, only reached when something is broken
ORIGIN = (b"origin", b"http://127.0.0.1")
REFUSED = 4403
# Longer than redis-py's default 5 s read timeout, which would end an idle subscription.
QUIET_S = 6


class WebsocketCommunicator(ApplicationCommunicator):
    """A WebSocket client talking ASGI to the application, as `channels.testing`'s does.

    (Importing `channels.testing` needs daphne, which Sonae does not use.)
    """

    def __init__(self, application, path: str, headers: list[tuple[bytes, bytes]]):
        url = urlsplit(path)
        scope = {
            "type": "websocket",
            "path": url.path,
            "query_string": url.query.encode(),
            "headers": headers,
            "subprotocols": [],
            "scheme": "ws",
            "server": ("127.0.0.1", 80),  # as a server says where it listens
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float) -> tuple[bool, int | None]:
        """(True, None) when accepted; (False, close code) when refused."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, None

    async def send_json_to(self, data: dict) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json_from(self, timeout: float) -> dict:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, timeout: float = TIMEOUT) -> None:
        """Close the socket, or tell the application a refused handshake is over, as a
        server does, and wait for the application to finish."""
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(timeout)


async def open_socket(
    user: User | None, query: str = ""
) -> tuple[WebsocketCommunicator, bool, int | None]:
    """Open `/ws/ops/` as `user` (by bearer token, as integrations do), or anonymously."""
    headers = [ORIGIN]
    if user is not None:
        _, secret = await database_sync_to_async(ApiToken.issue)(user, "ws")
        headers.append((b"authorization", f"Bearer {secret}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/ops/{query}", headers=headers)
    connected, code = await communicator.connect(timeout=TIMEOUT)
    return communicator, connected, code


@database_sync_to_async
def declare(by: User, name: str) -> tuple[Incident, Event]:
    """Declare an incident through the service, and wait until its broadcast has gone out."""
    incident = declare_incident(by, name=name, kind=Incident.Kind.FLOOD, is_drill=True)
    flush_broadcasts()
    event = Event.objects.get(kind="incident.declared", payload__id=incident.pk)
    return incident, event


@pytest.mark.parametrize("role", [None, Role.SHELTER_MANAGER], ids=["anonymous", "manager"])
async def test_only_staff_may_open_the_operations_channel(users, role):
    communicator, connected, code = await open_socket(users.get(role))

    assert connected is False
    assert code == REFUSED  # refused by the consumer, not by the origin check
    await communicator.disconnect()


async def test_a_revoked_token_does_not_open_the_operations_channel(ops_user):
    token, secret = await database_sync_to_async(ApiToken.issue)(ops_user, "ws")
    await database_sync_to_async(revoke_token)(ops_user, token.pk)
    communicator = WebsocketCommunicator(
        application,
        "/ws/ops/",
        headers=[ORIGIN, (b"authorization", f"Bearer {secret}".encode())],
    )

    connected, code = await communicator.connect(timeout=TIMEOUT)

    assert (connected, code) == (False, REFUSED)
    await communicator.disconnect()


async def open_browser_socket(user: User) -> tuple[Client, WebsocketCommunicator]:
    """A signed-in browser (its session cookie) and `/ws/ops/` as it would open it."""
    browser = Client()
    await database_sync_to_async(browser.force_login)(user)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}".encode()
    return browser, WebsocketCommunicator(
        application, "/ws/ops/", headers=[ORIGIN, (b"cookie", cookie)]
    )


async def test_a_signed_in_browser_opens_the_channel_with_its_session_cookie(ops_user):
    _, communicator = await open_browser_socket(ops_user)

    connected, _ = await communicator.connect(timeout=TIMEOUT)

    assert connected
    await communicator.disconnect()


async def test_a_page_on_another_site_cannot_open_the_channel_even_for_staff(ops_user, settings):
    # The origin check does not depend on the channel layer. channels' own denier closes
    # at once, and with channels_redis on Python 3.11 a consumer that stops while its
    # first Redis command is being sent never finishes (asyncio.wait_for in redis-py can
    # swallow the cancellation), so this test keeps Redis out of it.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    _, secret = await database_sync_to_async(ApiToken.issue)(ops_user, "ws")
    communicator = WebsocketCommunicator(
        application,
        "/ws/ops/",
        headers=[
            (b"origin", b"https://evil.example"),
            (b"authorization", f"Bearer {secret}".encode()),
        ],
    )

    connected, _ = await communicator.connect(timeout=TIMEOUT)

    assert connected is False
    await communicator.disconnect()


async def test_a_consumer_stops_when_its_socket_closes_at_once():
    # channels' origin denier closes during the consumer's first Redis command, which is
    # where a lost cancellation shows every time.
    communicator = WebsocketCommunicator(
        application, "/ws/ops/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected is False

    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})

    # A consumer that heard the close is done well before this.
    stopped, _ = await asyncio.wait({communicator.future}, timeout=QUIET_S)
    communicator.stop(exceptions=False)
    assert stopped, "the consumer is still running after its socket closed"


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.OPERATIONS])
async def test_staff_receive_an_incident_declared_after_they_connect(users, role):
    communicator, connected, _ = await open_socket(users[role])
    assert connected

    incident, event = await declare(users[Role.OPERATIONS], "相模川 氾濫警戒（訓練）")

    message = await communicator.receive_json_from(timeout=TIMEOUT)
    assert message == {
        "id": event.id,
        "kind": "incident.declared",
        "at": event.created_at.isoformat(),
        "payload": {
            "id": incident.pk,
            "name": "相模川 氾濫警戒（訓練）",
            "kind": "flood",
            "phase": "watch",
            "is_drill": True,
        },
    }
    await communicator.disconnect()


async def test_reconnecting_after_an_id_replays_the_missed_events_in_order_then_goes_live(
    ops_user,
):
    _, seen = await declare(ops_user, "seen before the connection dropped")
    missed = [(await declare(ops_user, f"missed {n}"))[1] for n in range(3)]

    communicator, connected, _ = await open_socket(ops_user, f"?after={seen.id}")
    assert connected

    backlog = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in missed]
    assert [m["id"] for m in backlog] == [e.id for e in missed]
    assert [m["payload"]["name"] for m in backlog] == ["missed 0", "missed 1", "missed 2"]

    # The race the consumer guards against: an event committed after the socket joined the
    # group but before the log was read arrives twice, from the log and live. Here its live
    # copy reaches the group after the backlog.
    await get_channel_layer().group_send(OPS_GROUP, {"type": "event.message", "event": backlog[-1]})
    _, live = await declare(ops_user, "declared while connected")

    # The group delivers in order, so a repeat would have come first.
    message = await communicator.receive_json_from(timeout=TIMEOUT)
    assert (message["id"], message["payload"]["name"]) == (live.id, "declared while connected")
    await communicator.disconnect()


@database_sync_to_async
def logged(name: str) -> Event:
    """An event committed to the log whose broadcast has not gone out (a slow sender)."""
    with transaction.atomic():
        return store(
            "incident.declared",
            {"id": 1, "name": name, "kind": "flood", "phase": "watch", "is_drill": True},
        )


async def test_an_event_overtaken_by_a_later_one_is_still_sent_first_and_once(ops_user):
    _, seen = await declare(ops_user, "seen")
    communicator, connected, _ = await open_socket(ops_user, f"?after={seen.id}")
    assert connected
    first, second = await logged("committed first"), await logged("committed second")
    layer = get_channel_layer()

    # Two processes broadcast after their commits; the second one's message wins the race.
    await layer.group_send(OPS_GROUP, {"type": "event.message", "event": second.as_message()})
    await layer.group_send(OPS_GROUP, {"type": "event.message", "event": first.as_message()})
    _, later = await declare(ops_user, "later")

    # The group delivers in order, so a repeat of the first would come before "later".
    received = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
    assert [m["id"] for m in received] == [first.id, second.id, later.id]
    await communicator.disconnect()


async def test_a_ping_is_answered_with_a_pong(ops_user):
    communicator, connected, _ = await open_socket(ops_user)
    assert connected

    await communicator.send_json_to({"type": "ping"})

    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
    await communicator.disconnect()


async def test_an_idle_operations_channel_stays_open_and_live(ops_user):
    communicator, connected, _ = await open_socket(ops_user)
    assert connected
    # Nothing happens for longer than a read timeout on Redis; the consumer must not stop.
    stopped, _ = await asyncio.wait({communicator.future}, timeout=QUIET_S)
    for consumer in stopped:
        consumer.result()  # raises whatever stopped it
    assert not stopped

    _, event = await declare(ops_user, "declared after a quiet spell")
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["id"] == event.id
    await communicator.disconnect()


def layer_at(url: str) -> dict:
    """The production channel layer (settings.CHANNEL_LAYERS) on another Redis."""
    default = settings.CHANNEL_LAYERS["default"]
    hosts = [{**default["CONFIG"]["hosts"][0], "address": url}]
    return {"default": {**default, "CONFIG": {**default["CONFIG"], "hosts": hosts}}}


async def test_a_redis_restart_loses_no_event_for_an_open_socket(ops_user, settings):
    """Redis restarts under an open socket: what was published while it was down is lost
    by pub/sub, and the socket still gets every event, in order, once (the next event's
    `prev` makes the consumer read the missed ones from the log)."""
    redis = Redis()
    try:
        settings.CHANNEL_LAYERS = layer_at(redis.url)
        communicator, connected, _ = await open_socket(ops_user)
        assert connected
        _, before = await declare(ops_user, "before the restart")
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["id"] == before.id

        redis.stop()
        declared = [(await declare(ops_user, "while Redis was down"))[1].id]
        redis.start()
        # Until the subscription is back, broadcasts are lost too: declare until one is heard.
        received: list[int] = []
        deadline = time.monotonic() + TIMEOUT
        while not received:
            assert time.monotonic() < deadline, "nothing heard after Redis came back"
            declared.append((await declare(ops_user, "after the restart"))[1].id)
            # (Not receive_output: its timeout ends the application.)
            with contextlib.suppress(asyncio.TimeoutError):
                sent = await asyncio.wait_for(communicator.output_queue.get(), timeout=0.5)
                received.append(json.loads(sent["text"])["id"])
        while len(received) < len(declared):
            received.append((await communicator.receive_json_from(timeout=TIMEOUT))["id"])

        assert received == declared
        await communicator.disconnect()
    finally:
        redis.stop()


async def test_a_socket_open_longer_than_the_group_expiry_keeps_receiving(ops_user, settings):
    """The in-memory layer (no Redis) forgets a member `group_expiry` (a day) after it
    joined: the consumer joins again, so a socket open for days still hears events."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.LIVE_GROUP_REFRESH_S = 0.3
    settings.LIVE_AUTH_RECHECK_S = 0.05  # checked many times over, and still allowed
    layer = get_channel_layer()
    communicator, connected, _ = await open_socket(ops_user)
    assert connected
    (consumer,) = layer.groups[OPS_GROUP]
    # A member that joins once and never again, as the consumer used to.
    bystander = await layer.new_channel()
    await layer.group_add(OPS_GROUP, bystander)

    a_day_ago = time.time() - layer.group_expiry - 60
    layer.groups[OPS_GROUP].update(dict.fromkeys([consumer, bystander], a_day_ago))
    deadline = time.monotonic() + TIMEOUT
    while layer.groups[OPS_GROUP][consumer] <= a_day_ago:
        assert time.monotonic() < deadline, "the consumer never joined its group again"
        await asyncio.sleep(0.05)

    _, event = await declare(ops_user, "declared a day after connecting")

    assert (await communicator.receive_json_from(timeout=TIMEOUT))["id"] == event.id
    assert bystander not in layer.groups[OPS_GROUP]  # the day-old member was dropped
    await communicator.disconnect()


async def closed_with(communicator: WebsocketCommunicator) -> int | None:
    """The close code the server sends next (failing on anything else it sends first)."""
    response = await communicator.receive_output(TIMEOUT)
    assert response["type"] == "websocket.close", response
    return response.get("code")


async def test_a_socket_whose_token_is_revoked_is_closed_as_not_authenticated(ops_user, settings):
    settings.LIVE_AUTH_RECHECK_S = 0.05
    token, secret = await database_sync_to_async(ApiToken.issue)(ops_user, "ws")
    communicator = WebsocketCommunicator(
        application, "/ws/ops/", headers=[ORIGIN, (b"authorization", f"Bearer {secret}".encode())]
    )
    assert (await communicator.connect(timeout=TIMEOUT))[0]
    _, event = await declare(ops_user, "before the revocation")
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["id"] == event.id

    await database_sync_to_async(revoke_token)(ops_user, token.pk)

    assert await closed_with(communicator) == NOT_AUTHENTICATED
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("role", Role.SHELTER_MANAGER, FORBIDDEN), ("is_active", False, NOT_AUTHENTICATED)],
    ids=["demoted", "deactivated"],
)
async def test_a_socket_whose_user_is_no_longer_staff_is_closed(
    ops_user, settings, field, value, code
):
    settings.LIVE_AUTH_RECHECK_S = 0.05
    communicator, connected, _ = await open_socket(ops_user)
    assert connected

    setattr(ops_user, field, value)
    await database_sync_to_async(ops_user.save)(update_fields=[field])

    assert await closed_with(communicator) == code
    await communicator.disconnect()


async def test_a_browser_socket_is_closed_when_its_session_logs_out(ops_user, settings):
    settings.LIVE_AUTH_RECHECK_S = 0.05
    browser, communicator = await open_browser_socket(ops_user)
    assert (await communicator.connect(timeout=TIMEOUT))[0]

    await database_sync_to_async(browser.logout)()

    assert await closed_with(communicator) == NOT_AUTHENTICATED
    await communicator.disconnect()
