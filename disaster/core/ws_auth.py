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

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest

from disaster.core.auth import user_for_token
from disaster.core.models import ApiToken
from disaster.core.roles import is_staff_role, role_of

# WebSocket close codes (the 4000s are the application's): as HTTP's 401 and 403.
NOT_AUTHENTICATED = 4401
FORBIDDEN = 4403


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
