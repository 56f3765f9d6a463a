"""The base of the fake provider servers (`twilio/fake.py`, `line/fake.py`): real HTTP on
127.0.0.1 that the real SDKs talk to, for tests and benchmarks only — no production code
path imports a fake (an import-linter contract in pyproject.toml says so).

Each fake records what it accepted and injects faults on demand, either a planned list for
the next requests (`fake.faults.plan("429", "500")`) or a random fraction of requests
(`fake.faults.mix(0.3)`). Fault kinds:

- "429": Too Many Requests with Retry-After (`faults.retry_after` seconds)
- "500": server error
- "slow": answers normally after `faults.slow_s` seconds
- "drop": closes the connection without reading the request or answering
- "lost": accepts the request (it is delivered!) then closes without answering — the case
  where the sender cannot know it was accepted

The servers run aiohttp on their own event loop in a thread (tests), or in a process of
their own (`python -m alerts.providers.fakes`, for benchmarks, so the fakes do not share
the sender's GIL).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter, deque
from typing import Self

from aiohttp import web
from aiohttp.typedefs import Handler

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
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
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

    def start(self, port: int = 0) -> Self:
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
