"""Fake Twilio and LINE servers: real HTTP on 127.0.0.1 that the real SDKs talk to.

Each fake records what it accepted and injects faults on demand, either a planned list for
the next requests (`fake.faults.plan("429", "500")`) or a random fraction of requests
(`fake.faults.mix(0.3)`). Fault kinds:

- "429": Too Many Requests with Retry-After (`faults.retry_after` seconds)
- "500": server error
- "slow": answers normally after `faults.slow_s` seconds
- "drop": closes the connection without reading the request or answering
- "lost": accepts the request (it is delivered!) then closes without answering — the case
  where the sender cannot know it was accepted

LINE's fake honours X-Line-Retry-Key as LINE does: a key accepted once answers 409 with
`x-line-accepted-request-id` and is not delivered twice. Twilio's has no such key (nor
does Twilio); it lists sent messages (GET Messages.json?To=) like the real API.

The servers run aiohttp on their own event loop in a thread (tests), or in a process of
their own (`python -m tests.fakes.providers`, for benchmarks, so the fakes do not share
the sender's GIL).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
import sys
import threading
import uuid
from collections import Counter, deque
from datetime import UTC, datetime

from aiohttp import web

FAULT_KINDS = ("429", "500", "slow", "drop", "lost")


class Faults:
    """What goes wrong with the next requests."""

    def __init__(self, seed: int = 5) -> None:
        self.planned: deque[str] = deque()
        self.fraction = 0.0
        self.kinds: tuple[str, ...] = FAULT_KINDS
        self.retry_after = "1"
        self.slow_s = 0.3
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()

    def plan(self, *kinds: str) -> None:
        self.planned.extend(kinds)

    def mix(self, fraction: float, kinds: tuple[str, ...] = FAULT_KINDS) -> None:
        self.fraction, self.kinds = fraction, kinds

    def next(self) -> str | None:
        if self.planned:
            kind = self.planned.popleft()
        elif self.fraction and self.rng.random() < self.fraction:
            kind = self.rng.choice(self.kinds)
        else:
            return None
        self.injected[kind] += 1
        return kind


class _Dropped(Exception):
    pass


class FakeServer:
    """An aiohttp app on 127.0.0.1:<free port>, served from a background thread."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests = 0  # every request that arrived, faulted or not
        self.latency_s = 0.0  # added to every POST: keeps a fan-out in flight for a while
        self.answer_latency_s = 0.0  # after accepting, before answering: a slow answer
        self.app = web.Application(middlewares=[self._fault_middleware])
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        self.requests += 1
        fault = self.faults.next() if request.method == "POST" else None
        if self.latency_s and request.method == "POST":
            await asyncio.sleep(self.latency_s)
        if fault == "drop":
            self._drop(request)
        if fault == "429":
            return self.error(429, {"Retry-After": self.faults.retry_after})
        if fault == "500":
            return self.error(500, {})
        if fault == "slow":
            await asyncio.sleep(self.faults.slow_s)
        response = await handler(request)
        if self.answer_latency_s and request.method == "POST":
            await asyncio.sleep(self.answer_latency_s)
        if fault == "lost":
            self._drop(request)
        return response

    @staticmethod
    def _drop(request: web.Request) -> None:
        assert request.transport is not None
        request.transport.abort()
        raise _Dropped

    def error(self, status: int, headers: dict[str, str]) -> web.Response:
        return web.json_response(
            {"message": f"fake error {status}"}, status=status, headers=headers
        )

    async def _start(self, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self, port: int = 0) -> FakeServer:
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.set_exception_handler(lambda loop, context: None)
            self._loop.run_until_complete(self._start(port))
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=serve, daemon=True, name=type(self).__name__).start()
        if not ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)


class FakeTwilio(FakeServer):
    """Twilio's Messages API: create (form POST) and list, with Basic auth checked."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "token") -> None:  # noqa: S107 (a fake)
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict] = []
        self.invalid_numbers: set[str] = set()  # answer 400 code 21211
        path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.app.router.add_post(path, self.create)
        self.app.router.add_get(path, self.list)

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def error(self, status: int, headers: dict[str, str], code: int | None = None) -> web.Response:
        body = {"code": code or 20000 + status, "message": f"fake error {status}", "status": status}
        return web.json_response(body, status=status, headers=headers)

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self.error(401, {}, 20003)
        form = await request.post()
        to = str(form.get("To", ""))
        if to in self.invalid_numbers or not to.startswith("+"):
            return self.error(400, {}, 21211)
        now = email.utils.format_datetime(datetime.now(UTC))
        message = {
            "sid": "SM" + uuid.uuid4().hex,
            "account_sid": self.account_sid,
            "to": to,
            "from": str(form.get("From", "")),
            "body": str(form.get("Body", "")),
            "status": "queued",
            "status_callback": str(form.get("StatusCallback", "")),
            "validity_period": str(form.get("ValidityPeriod", "")),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "num_segments": "1",
            "price": None,
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/SM.json",
        }
        self.messages.append(message)
        return web.json_response(message, status=201)

    async def list(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self.error(401, {}, 20003)
        to = request.query.get("To")
        found = [m for m in reversed(self.messages) if to is None or m["to"] == to]
        return web.json_response(
            {"messages": found[:50], "next_page_uri": None, "page": 0, "page_size": 50}
        )

    def accepted(self) -> Counter[tuple[str, str]]:
        """How many times each (number, text) was accepted."""
        return Counter((m["to"], m["body"]) for m in self.messages)


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


def max_rate(twilio_url: str, seconds: float = 3.0, clients: int = 32) -> float:
    """The fake Twilio's own ceiling: requests/s a tight aiohttp client loop gets answered
    (message creates, as in a fan-out)."""
    import aiohttp

    fake = FakeTwilio()  # only for its default credentials and path
    auth = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
    url = f"{twilio_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    form = {"To": "+819000000000", "From": "+815000000000", "Body": "rate"}

    async def hammer() -> int:
        done = 0
        end = asyncio.get_running_loop().time() + seconds
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {auth}"}) as session:

            async def client() -> None:
                nonlocal done
                while asyncio.get_running_loop().time() < end:
                    async with session.post(url, data=form) as response:
                        await response.read()
                        done += 1

            await asyncio.gather(*(client() for _ in range(clients)))
        return done

    return asyncio.run(hammer()) / seconds


def main() -> None:
    """Serve both fakes from this process: `python -m tests.fakes.providers`. Prints one
    JSON line with their URLs, then serves until stdin closes; a line on stdin asks for the
    counts so far and starts counting afresh. `python -m tests.fakes.providers rate <url>`
    measures max_rate."""
    if sys.argv[1:2] == ["rate"]:
        print(json.dumps({"rps": max_rate(sys.argv[2])}), flush=True)
        return
    twilio, line = FakeTwilio().start(), FakeLine().start()
    print(json.dumps({"twilio": twilio.url, "line": line.url}), flush=True)
    for _ in sys.stdin:
        counts = {
            "twilio_accepted": len(twilio.messages),
            "twilio_distinct": len(twilio.accepted()),
            "line_accepted": len(line.deliveries),
            "line_distinct": len(line.accepted()),
            "requests": twilio.requests + line.requests,
        }
        twilio.messages.clear()  # the rate probe's messages are not the fan-out's
        line.deliveries.clear()
        twilio.requests = line.requests = 0
        print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
