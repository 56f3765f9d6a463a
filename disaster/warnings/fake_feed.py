"""A fake JMA feed on loopback, for tests and benchmarks only (no production code imports
it: an import-linter contract says so): an Atom feed whose entries link to telegrams it
serves, honouring If-Modified-Since as JMA does (304 when nothing was added since).

    feed = FakeJmaFeed().start()
    feed.publish(raw_xml, title="震源・震度に関する情報")   # a new entry, newest first
    settings.JMA_FEED_URLS = [feed.feed_url]
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from email.utils import format_datetime, parsedate_to_datetime
from typing import Self
from xml.sax.saxutils import escape

from aiohttp import web
from django.utils import timezone


class FakeJmaFeed:
    def __init__(self, author: str = "横浜地方気象台") -> None:
        self.author = author
        self.telegrams: dict[str, bytes] = {}
        self.entries: list[tuple[str, str, str, str]] = []  # (id, title, name, updated)
        self.last_modified = timezone.now().replace(microsecond=0)
        self.requests: list[tuple[str, str]] = []  # (path, If-Modified-Since)
        self.answered_304 = 0
        self.app = web.Application()
        self.app.router.add_get("/feed.xml", self.feed)
        self.app.router.add_get("/data/{name}", self.telegram)
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def feed_url(self) -> str:
        return f"{self.url}/feed.xml"

    def publish(self, raw: bytes, *, title: str, entry_id: str | None = None) -> str:
        """Add a telegram as the feed's newest entry; its entry id."""
        entry_id = entry_id or f"urn:uuid:{uuid.uuid4()}"
        name = f"{uuid.uuid4().hex}.xml"
        self.telegrams[name] = raw
        now = timezone.now()
        self.last_modified = max(self.last_modified, now.replace(microsecond=0))
        self.entries.insert(0, (entry_id, title, name, now.isoformat()))
        return entry_id

    def atom(self) -> bytes:
        entries = "".join(
            f"<entry><title>{escape(title)}</title><id>{escape(entry_id)}</id>"
            f"<updated>{updated}</updated><author><name>{escape(self.author)}</name></author>"
            f'<link type="application/xml" href="{self.url}/data/{name}"/>'
            f'<content type="text">{escape(title)}</content></entry>'
            for entry_id, title, name, updated in self.entries
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom" lang="ja">'
            "<title>高頻度（随時）</title><id>urn:uuid:fake-jma-feed</id>"
            f"<updated>{self.last_modified.isoformat()}</updated>{entries}</feed>"
        ).encode()

    async def feed(self, request: web.Request) -> web.Response:
        since = request.headers.get("If-Modified-Since", "")
        self.requests.append((request.path, since))
        if since and parsedate_to_datetime(since) >= self.last_modified:
            self.answered_304 += 1
            return web.Response(status=304)
        headers = {"Last-Modified": format_datetime(self.last_modified, usegmt=True)}
        return web.Response(body=self.atom(), content_type="application/atom+xml", headers=headers)

    async def telegram(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, ""))
        raw = self.telegrams.get(request.match_info["name"])
        if raw is None:
            return web.Response(status=404)
        return web.Response(body=raw, content_type="application/xml")

    async def _start(self, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self, port: int = 0) -> Self:
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._start(port))
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=serve, daemon=True, name="FakeJmaFeed").start()
        if not ready.wait(10):
            raise RuntimeError("fake JMA feed did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
