"""Who a WebSocket belongs to, at the handshake and for as long as it stays open.

Browsers come with their session cookie (channels' AuthMiddlewareStack); clients that are
not browsers (integrations, the benchmark) with the same bearer tokens as the API, in the
`Authorization` header of the handshake. A socket outlives the check made when it opened,
so the live channel asks `still_allowed` again while connected: a revoked token, a logout
(the session is gone) or a lost role must end a stream of the operations room's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host

from disaster.core.auth import user_for_token
from disaster.core.models import ApiToken
from disaster.core.roles import is_staff_role, role_of

# WebSocket close codes (the 4000s are the application's): as HTTP's 401 and 403.
NOT_AUTHENTICATED = 4401
FORBIDDEN = 4403


Origin = tuple[str, str, int]  # scheme, host, port


def _origin(url: str) -> Origin | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def _served_as(scope: dict[str, Any], headers: dict[bytes, bytes]) -> Origin | None:
    """The origin a page of ours that opens this socket has: the handshake's own scheme
    (https behind a TLS proxy that says so, SECURE_PROXY_SSL_HEADER), host and port,
    and only for a host in ALLOWED_HOSTS."""
    host = headers.get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        name, port = scope["server"][0], scope["server"][1]
        host = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name = proxy_header[0].removeprefix("HTTP_").lower().replace("_", "-").encode()
        secure = secure or headers.get(name, b"").decode("latin-1") == proxy_header[1]
    return _origin(f"{'https' if secure else 'http'}://{host}")


def same_origin(scope: dict[str, Any], origin: str) -> bool:
    """A browser's Origin is ours: scheme, host and port all equal to the socket's own
    (an origin listed in CSRF_TRUSTED_ORIGINS also counts)."""
    seen = _origin(origin)
    if seen is None:
        return False
    if any(seen == _origin(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS):
        return True
    return seen == _served_as(scope, dict(scope.get("headers", [])))


class SameOriginMiddleware(BaseMiddleware):
    """Cross-site WebSocket hijacking: a page elsewhere could open our socket with the
    staff member's cookie, so a browser's handshake (browsers always send Origin) must come
    from our own origin, port and scheme included. A handshake without Origin is not a
    browser's: it is admitted, but cookies are not taken from it, only a bearer token."""

    async def __call__(self, scope, receive, send):
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is None:
            headers = [(k, v) for k, v in scope.get("headers", []) if k != b"cookie"]
            return await super().__call__({**scope, "headers": headers}, receive, send)
        if not same_origin(scope, origin.decode("latin-1")):
            return await WebsocketDenier()(scope, receive, send)
        return await super().__call__(scope, receive, send)


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode()
        if header.lower().startswith("bearer "):
            user = await database_sync_to_async(user_for_token)(header[7:].strip())
            if user is not None:
                scope = {**scope, "user": user}
        return await super().__call__(scope, receive, send)


@dataclass(frozen=True)
class Credential:
    """What the socket was opened with: a bearer token (its id) or a session (its key)."""

    token_id: int | None = None
    session_key: str | None = None


def credential_of(scope: dict[str, Any]) -> Credential:
    token = getattr(scope.get("user"), "api_token", None)
    if token is not None:
        return Credential(token_id=token.pk)
    session = scope.get("session")
    return Credential(session_key=getattr(session, "session_key", None))


def _user_now(credential: Credential) -> Any:
    """The user the credential stands for now, read afresh (None when it stands for nobody)."""
    if credential.token_id is not None:
        token = (
            ApiToken.objects.active()
            .select_related("user")
            .filter(pk=credential.token_id, user__is_active=True)
            .first()
        )
        return token.user if token is not None else None
    if not credential.session_key:
        return None
    # A fresh store: the scope's session object caches what it read at the handshake.
    store = import_module(settings.SESSION_ENGINE).SessionStore(credential.session_key)
    # Django's own check: the session must still exist and match the user's password hash.
    request = HttpRequest()
    request.session = store
    user = auth.get_user(request)
    return user if user.is_authenticated else None


def still_allowed(credential: Credential) -> int | None:
    """None while the credential still belongs to staff; else the close code to use."""
    user = _user_now(credential)
    if role_of(user) is None:
        return NOT_AUTHENTICATED
    if not is_staff_role(user):
        return FORBIDDEN
    return None
