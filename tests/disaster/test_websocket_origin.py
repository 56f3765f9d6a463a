"""The live channel's origin check: a browser's handshake must come from our own origin,
scheme, host and port alike; a client that is not a browser (no Origin) may open it with a
bearer token, never with a cookie."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from disaster.asgi import application
from disaster.core.models import ApiToken
from tests.disaster.test_websocket import (
    REFUSED,
    TIMEOUT,
    WebsocketCommunicator,
    open_browser_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

HOST = (b"host", b"127.0.0.1:8000")


async def connect(headers: list[tuple[bytes, bytes]]) -> tuple[bool, int | None]:
    communicator = WebsocketCommunicator(application, "/ws/ops/", headers=headers)
    result = await communicator.connect(timeout=TIMEOUT)
    await communicator.disconnect()
    return result


async def cookie_of(user) -> tuple[bytes, bytes]:
    _, communicator = await open_browser_socket(user)
    return next(h for h in communicator.scope["headers"] if h[0] == b"cookie")


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:8001",  # another port of the same host: another origin
        b"https://127.0.0.1:8000",  # another scheme
        b"http://127.0.0.1",  # port 80, not 8000
        b"null",  # a sandboxed frame or a file
    ],
)
async def test_a_page_of_another_origin_on_our_host_cannot_use_the_staff_cookie(ops_user, origin):
    cookie = await cookie_of(ops_user)

    connected, _ = await connect([HOST, (b"origin", origin), cookie])

    assert not connected


async def test_our_own_origin_with_its_port_opens_the_channel(ops_user):
    cookie = await cookie_of(ops_user)

    assert await connect([HOST, (b"origin", b"http://127.0.0.1:8000"), cookie]) == (True, None)


async def test_behind_a_tls_proxy_our_https_origin_is_ours(ops_user, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    cookie = await cookie_of(ops_user)
    proxied = [(b"host", b"127.0.0.1"), (b"x-forwarded-proto", b"https"), cookie]

    assert await connect([*proxied, (b"origin", b"https://127.0.0.1")]) == (True, None)
    assert (await connect([*proxied, (b"origin", b"http://127.0.0.1")]))[0] is False


async def test_a_client_without_origin_is_admitted_with_a_bearer_token(ops_user):
    _, secret = await database_sync_to_async(ApiToken.issue)(ops_user, "integration")

    assert await connect([HOST, (b"authorization", f"Bearer {secret}".encode())]) == (True, None)


async def test_a_client_without_origin_cannot_use_a_cookie(ops_user):
    cookie = await cookie_of(ops_user)

    assert await connect([HOST, cookie]) == (False, REFUSED)
