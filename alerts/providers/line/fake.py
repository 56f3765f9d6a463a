"""A fake LINE Messaging API on loopback for tests and benchmarks (see ../fake_server.py).

Push, multicast and reply, and message content (residents' photos). It honours
X-Line-Retry-Key as LINE does: a key accepted once answers 409 with
`x-line-accepted-request-id` and is not delivered twice.
"""

from __future__ import annotations

import uuid
from collections import Counter

from aiohttp import web

from alerts.providers.fake_server import FakeServer


class FakeLine(FakeServer):
    """LINE's push, multicast and reply endpoints, with retry keys and blocked users."""

    def __init__(self, access_token: str = "line-token") -> None:  # noqa: S107 (a fake)
        super().__init__()
        self.access_token = access_token
        self.deliveries: list[tuple[str, str]] = []  # (user id, text) actually delivered
        self.replies: list[dict] = []
        self.batches: list[int] = []  # recipients per accepted request
        self.bodies: list[dict] = []  # accepted push/multicast bodies: what LINE would show
        self.retry_keys: dict[str, str] = {}  # key → accepted request id
        self.replayed = 0  # requests answered 409: their key was accepted before
        self.refused: set[str] = set()  # user ids LINE rejects (400), e.g. invalid
        self.app.router.add_post("/v2/bot/message/push", self.accept)
        self.app.router.add_post("/v2/bot/message/multicast", self.accept)
        self.app.router.add_post("/v2/bot/message/reply", self.reply)
        # Message content (residents' photos): api-data.line.me in real life.
        self.contents: dict[str, tuple[bytes, str]] = {}  # message id → (body, content type)
        self.app.router.add_get("/v2/bot/message/{message_id}/content", self.content)

    async def accept(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self.error(401, {})
        body = await request.json()
        key = request.headers.get("X-Line-Retry-Key")
        if key and key in self.retry_keys:
            self.replayed += 1
            return web.json_response(
                {"message": "The retry key is already accepted"},
                status=409,
                headers={"x-line-accepted-request-id": self.retry_keys[key]},
            )
        recipients = body["to"] if isinstance(body["to"], list) else [body["to"]]
        if not 1 <= len(recipients) <= 500 or not 1 <= len(body["messages"]) <= 5:
            return web.json_response({"message": "The request body has 1 error(s)"}, status=400)
        if self.refused.intersection(recipients):
            return web.json_response({"message": "Failed to send messages"}, status=400)
        request_id = str(uuid.uuid4())
        if key:
            self.retry_keys[key] = request_id
        self.batches.append(len(recipients))
        self.bodies.append(body)
        for user_id in recipients:
            for message in body["messages"]:
                self.deliveries.append((user_id, message.get("text", "")))
        # Push answers with the sent messages; multicast with an empty object (as LINE does).
        answer = {} if request.path.endswith("multicast") else _sent(body["messages"])
        return web.json_response(answer, headers={"x-line-request-id": request_id})

    async def reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.replies.append(body)
        return web.json_response(_sent(body["messages"]))

    async def content(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self.error(401, {})
        found = self.contents.get(request.match_info["message_id"])
        if found is None:  # LINE keeps content for a while only
            return web.json_response({"message": "Not found"}, status=404)
        body, content_type = found
        return web.Response(body=body, content_type=content_type)

    def replied_texts(self) -> list[str]:
        return [m.get("text", "") for r in self.replies for m in r["messages"]]

    def accepted(self) -> Counter[tuple[str, str]]:
        """How many times each (user id, text) was delivered."""
        return Counter(self.deliveries)


def _sent(messages: list[dict]) -> dict:
    return {
        "sentMessages": [{"id": str(uuid.uuid4().int)[:18], "quoteToken": "q"} for _ in messages]
    }
