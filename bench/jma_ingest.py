"""JMA ingestion: 1,000 telegrams (the 13 official samples, repeated with new event ids and
times) served by a fake JMA feed on loopback, polled, validated, parsed and stored:
`telegrams_per_s`, beside `reference_parse_only_per_s` (libxml2 validation and our parse of
the same 1,000 in memory, no HTTP, no database) measured in the same run. Then
`entry_to_panel_ms`: a new feed entry, from the poll that finds it (the poll interval
excluded) to its `jma.telegram` event reaching an `/ops/` WebSocket client of the real
server (uvicorn in a subprocess, the Redis channel layer), p50/p95 over ENTRIES entries,
beside `reference_publish_to_panel_ms`: a bare `publish()` to the same client, the floor
of the push path. Targets: ≥ 50 telegrams/s; entry_to_panel p95 ≤ 2,000 ms.

The telegrams are fetched one by one over HTTP from the fake feed (as from JMA), each in its
own transaction; the city is 座間市, so the 神奈川県 telegrams change its warnings and the
rest are kept for their heads and parse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import threading
import time
from pathlib import Path

from bench._stack import Server, others_busy_pct, percentile

TELEGRAMS = 1000
ENTRIES = 30
TARGET_PER_S = 50.0
TARGET_P95_MS = 2000.0
USERNAME = "bench-jma"

REPORT_AT = re.compile(r"<ReportDateTime>([^<]+)</ReportDateTime>")
EVENT_ID = re.compile(r"<EventID>([^<]*)</EventID>|<EventID/>")
TITLES = {
    "VPWW54": "気象警報・注意報（Ｈ２７）",
    "VPWW55": "気象警報・注意報（Ｒ０６）（大雨）",
    "VPWW56": "気象警報・注意報（Ｒ０６）（土砂）",
    "VXKOii": "指定河川洪水予報",
    "VXWW50": "土砂災害警戒情報",
    "VPOA50": "記録的短時間大雨情報",
    "VXSE51": "震度速報",
    "VXSE53": "震源・震度に関する情報",
}


def _samples() -> list[tuple[str, str]]:
    from django.conf import settings

    folder = Path(settings.SHARED_DATA_DIR) / "jma"
    return [
        (TITLES[p.stem.rsplit("_", 1)[-1]], p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.xml"))
    ]


def variant(text: str, n: int) -> bytes:
    """The sample as a new telegram: its report time n minutes later, its event id unique
    (so each is stored and applied, never deduplicated as a replay)."""

    def later(match: re.Match) -> str:
        at = dt.datetime.fromisoformat(match[1]) + dt.timedelta(minutes=n)
        return f"<ReportDateTime>{at.isoformat()}</ReportDateTime>"

    def unique(match: re.Match) -> str:
        return f"<EventID>{match[1]}-bench-{n}</EventID>" if match[1] else match[0]

    return EVENT_ID.sub(unique, REPORT_AT.sub(later, text, count=1), count=1).encode()


def _reset() -> str:
    """Empty the warnings tables; an operations user's bearer token."""
    from django.db import connection

    from disaster.core.models import ApiToken, User
    from disaster.core.roles import Role
    from disaster.warnings.models import CityWarning, Feed, Telegram

    CityWarning.objects.all().delete()
    Telegram.objects.all().delete()
    Feed.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE task_name = 'alerts.jobs.act_on_telegram'"
        )
    user, _ = User.objects.update_or_create(
        username=USERNAME, defaults={"role": Role.OPERATIONS, "is_active": True}
    )
    ApiToken.objects.filter(user=user).delete()
    return ApiToken.issue(user, "bench")[1]


def _throughput(raws: list[tuple[str, bytes]]) -> tuple[float, float, int]:
    """(telegrams/s through the poller, parse-only telegrams/s, telegrams stored)."""
    from disaster.warnings import feed, parsing
    from disaster.warnings.fake_feed import FakeJmaFeed
    from disaster.warnings.models import Telegram
    from disaster.warnings.schema import validated

    started = time.perf_counter()
    for _, raw in raws:
        parsing.parse(validated(raw))
    parse_only = len(raws) / (time.perf_counter() - started)

    fake = FakeJmaFeed().start()
    try:
        for title, raw in raws:
            fake.publish(raw, title=title)
        started = time.perf_counter()
        polled = feed.poll(fake.feed_url, force=True)
        elapsed = time.perf_counter() - started
    finally:
        fake.stop()
    stored = Telegram.objects.filter(outcome="read").count()
    if len(polled.fetched) != len(raws) or stored != len(raws):
        raise RuntimeError(f"fetched {len(polled.fetched)}, stored {stored} of {len(raws)}")
    return len(raws) / elapsed, parse_only, stored


class Panel:
    """One /ops/ WebSocket client on a thread of its own, noting when each event arrives."""

    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret
        self.arrived: dict[tuple[str, str], float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("the WebSocket client did not connect")

    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        async with connect(
            f"ws://127.0.0.1:{self.port}/ws/ops/",
            additional_headers={"Authorization": f"Bearer {self.secret}"},
            origin=f"http://127.0.0.1:{self.port}",
            open_timeout=30,
            max_queue=None,
        ) as socket:
            self.ready.set()
            while not self.stop.is_set():
                try:
                    frame = await asyncio.wait_for(socket.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                at = time.perf_counter()
                message = json.loads(frame)
                payload = message.get("payload", {})
                key = (message.get("kind", ""), str(payload.get("id", payload.get("name", ""))))
                self.arrived.setdefault(key, at)

    def wait_for(self, key: tuple[str, str], timeout: float = 10.0) -> float:
        deadline = time.perf_counter() + timeout
        while key not in self.arrived:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{key} never reached the panel")
            time.sleep(0.001)
        return self.arrived[key]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def _latency(panel: Panel, kanagawa: str) -> tuple[list[float], list[float]]:
    """(entry → panel ms per entry, publish → panel ms per bare event)."""
    from django.db import transaction

    from disaster.core.events import publish
    from disaster.warnings import feed
    from disaster.warnings.fake_feed import FakeJmaFeed

    fake = FakeJmaFeed().start()
    entry_ms, floor_ms = [], []
    try:
        feed.poll(fake.feed_url, force=True)  # the feed's first answer, empty
        for n in range(ENTRIES):
            fake.last_modified = fake.last_modified + dt.timedelta(seconds=1)
            fake.publish(variant(kanagawa, 100_000 + n), title=TITLES["VPWW54"])
            started = time.perf_counter()
            polled = feed.poll(fake.feed_url, force=True)
            (telegram_id,) = polled.fetched
            entry_ms.append((panel.wait_for(("jma.telegram", str(telegram_id))) - started) * 1000)

            name = f"bench-floor-{n}"
            started = time.perf_counter()
            with transaction.atomic():
                publish(
                    "incident.updated",
                    {
                        "id": n + 1,
                        "name": name,
                        "kind": "other",
                        "phase": "watch",
                        "is_drill": True,
                    },
                )
            floor_ms.append((panel.wait_for(("incident.updated", str(n + 1))) - started) * 1000)
    finally:
        fake.stop()
    return entry_ms, floor_ms


def run() -> dict:
    busy = others_busy_pct()  # how busy the host already is: the figures depend on it
    samples = _samples()
    secret = _reset()
    raws = [
        (title, variant(text, n))
        for n in range(TELEGRAMS)
        for title, text in [samples[n % len(samples)]]
    ]
    per_s, parse_only, stored = _throughput(raws)

    server = Server(workers=1)
    try:
        server.wait_ready()
        panel = Panel(server.port, secret)
        try:
            kanagawa = next(text for title, text in samples if "神奈川県気象警報" in text)
            entry_ms, floor_ms = _latency(panel, kanagawa)
        finally:
            panel.close()
    finally:
        server.stop()
    p95 = percentile(entry_ms, 95)
    return {
        "telegrams": stored,
        "telegrams_per_s": round(per_s, 1),
        "reference_parse_only_per_s": round(parse_only, 1),
        "telegrams_target_per_s": TARGET_PER_S,
        "entries": len(entry_ms),
        "entry_to_panel_p50_ms": round(percentile(entry_ms, 50), 1),
        "entry_to_panel_ms": round(p95, 1),
        "reference_publish_to_panel_p50_ms": round(percentile(floor_ms, 50), 1),
        "reference_publish_to_panel_p95_ms": round(percentile(floor_ms, 95), 1),
        "entry_to_panel_target_p95_ms": TARGET_P95_MS,
        "meets_targets": per_s >= TARGET_PER_S and p95 <= TARGET_P95_MS,
        "host_busy_before_pct": busy,
    }
