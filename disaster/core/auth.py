"""How API callers prove who they are, and which roles each endpoint admits.

Two ways in: the browser's session (pages calling the API; CSRF-checked on writes) and a
per-user bearer token (tablets, integrations). `access(*roles)` gives the auth list for an
endpoint; `ninja` answers 401 when neither way identifies anyone, and the role check answers
403. The permission matrix test reads `roles` off these objects for every endpoint.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connection
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from disaster.core.errors import Forbidden
from disaster.core.models import ApiToken, User
from disaster.core.roles import ALL_ROLES, STAFF_ROLES, Role, check_role


class AuthedRequest(HttpRequest):
    """The request an endpoint behind `access(...)` receives: ninja has set `auth` to the
    user the auth admitted. Annotate such views' `request` with it."""

    auth: User


# Bearer lookups already made, per request (see `user_for_request_token`).
_bearer_users: WeakKeyDictionary[HttpRequest, tuple[str, User | None]] = WeakKeyDictionary()


@cache
def _token_lookup() -> tuple[str, list[str], list[str]]:
    """The look-up of a token with its user, in one plain statement (the ORM's compiling
    cost more than the query on every bearer request), and the fields it selects."""
    users, tokens = User._meta.concrete_fields, ApiToken._meta.concrete_fields
    columns = [f'u."{f.column}"' for f in users] + [f't."{f.column}"' for f in tokens]
    sql = (
        f"SELECT {', '.join(columns)} FROM {ApiToken._meta.db_table} AS t "  # noqa: S608 (ours)
        f"JOIN {User._meta.db_table} AS u ON u.id = t.user_id WHERE t.key_hash = %s"
    )
    return sql, [f.attname for f in users], [f.attname for f in tokens]


def user_for_token(secret: str) -> User | None:
    """The active user a bearer token belongs to, noting when it was last used (at most
    once per ApiToken.LAST_USED_RESOLUTION, so most requests write nothing)."""
    if not secret.startswith(ApiToken.PREFIX):
        return None
    sql, users, tokens = _token_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [ApiToken.hash(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    user = User.from_db(connection.alias, users, row[: len(users)])
    token = ApiToken.from_db(connection.alias, tokens, row[len(users) :])
    if not (token.is_active and user.is_active):  # revoked or expired, or a deactivated user
        return None
    now = timezone.now()
    stale = now - dt.timedelta(seconds=ApiToken.LAST_USED_RESOLUTION)
    if token.last_used_at is None or token.last_used_at < stale:
        # Requests racing past the same stale stamp write it once between them.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
        ).update(last_used_at=now)
    token.user = user
    # Not a field: the token this user signed in with (the WebSocket's auth reads it).
    setattr(user, "api_token", token)  # noqa: B010
    return user


def user_for_request_token(request: HttpRequest, secret: str) -> User | None:
    """`user_for_token`, looked up once per request: a keyed write needs the bearer's user
    twice (the idempotency middleware, then the endpoint's auth), one query is enough."""
    known = _bearer_users.get(request)
    if known is not None and known[0] == secret:
        return known[1]
    user = user_for_token(secret)
    _bearer_users[request] = (secret, user)
    return user


class _RoleCheck:
    roles: frozenset[Role]

    def admit(self, user: Any) -> Any:
        if user is None:
            return None
        check_role(user, self.roles)
        return user


class TokenAccess(_RoleCheck, HttpBearer):
    def __init__(self, roles: frozenset[Role]):
        self.roles = roles
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return self.admit(user_for_request_token(request, token))


class SessionAccess(_RoleCheck, SessionAuth):
    def __init__(self, roles: frozenset[Role]):
        self.roles = roles
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None  # 401, not a CSRF complaint, for someone not logged in
        if check_csrf(request):
            raise Forbidden("CSRF token missing or incorrect.", reason="csrf")
        return self.admit(request.user)


def access(*roles: Role) -> list:
    """The auth for an endpoint open to `roles` (by token or by session)."""
    allowed = frozenset(roles)
    return [TokenAccess(allowed), SessionAccess(allowed)]


STAFF = access(*STAFF_ROLES)
ADMINISTRATORS = access(Role.ADMINISTRATOR)
SIGNED_IN = access(*ALL_ROLES)
