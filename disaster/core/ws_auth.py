"""WebSocket clients that are not browsers (integrations, the benchmark) authenticate with
the same bearer tokens as the API, in the `Authorization` header of the handshake."""

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from disaster.core.auth import user_for_token


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode()
        if header.lower().startswith("bearer "):
            user = await database_sync_to_async(user_for_token)(header[7:].strip())
            if user is not None:
                scope = {**scope, "user": user}
        return await super().__call__(scope, receive, send)
