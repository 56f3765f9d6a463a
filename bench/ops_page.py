"""The operations map (/ops/) in headless Chromium at 1920×1080 with 10,000 and 100,000 open
damage reports spread over the city, the view fitted to the city as the operations room opens
it: first paint, ready (every open report drawn by the tiles and counted beside the map, the
newest markers placed), bytes, and the requests the page makes while a burst of 200 new
reports arrives live. Targets: ready_ms ≤ 1,500 at 100,000; burst requests ≤ 10. The stages
say where the time goes: map set up, tiles asked for, markers placed, tiles drawn.

Each figure has a reference measured in the same run, on the same machine:
- first_paint_ms beside the first paint of the home page `/` (a page with no map);
- ready_ms beside the server's own time to answer every request the page needs to be ready
  (the page, the marker GeoJSON and the tiles of the view, fetched one after another);
- bytes beside what the open reports would weigh as one GeoJSON (drawing all as features);
- burst requests beside the burst itself: 200, one request per report as the page once did.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
import urllib.request

COUNTS = (10_000, 100_000)
BURST = 200
REPEAT = 3
SCREEN = {"width": 1920, "height": 1080}
WEST, SOUTH, EAST, NORTH = 139.36, 35.45, 139.44, 35.51
USERNAME = "bench-ops-page"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _reports(count: int) -> int:
    """Exactly `count` open reports spread over the city (kept between runs when equal);
    returns how many are open."""
    from bench._stack import spread_reports
    from disaster.reports.models import DamageReport

    if DamageReport.objects.count() != count:
        spread_reports(count, WEST, SOUTH, EAST, NORTH)
    return DamageReport.objects.unresolved().count()


def _city_view() -> None:
    """Two shelters at opposite corners of where the reports lie: the page fits its view to
    the shelters, so it opens on the whole area, as the operations room sees its city."""
    from django.contrib.gis.geos import Point

    from shelters.models import Shelter

    for name, lon, lat in (("bench SW", WEST, SOUTH), ("bench NE", EAST, NORTH)):
        Shelter.objects.get_or_create(
            name=name, defaults={"point": Point(lon, lat, srid=4326), "address": "bench"}
        )


def _session_cookie() -> str:
    from django.conf import settings
    from django.test import Client

    from disaster.core.models import User
    from disaster.core.roles import Role

    user, _ = User.objects.update_or_create(
        username=USERNAME, defaults={"role": Role.OPERATIONS, "is_active": True}
    )
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


READY = """
(expected) => {
  const panel = document.getElementById("ops-map-panel");
  const count = document.getElementById("report-count");
  const ok = panel?.dataset.ready === "true" && panel.dataset.markers === "loaded"
    && panel.dataset.tiles === "loaded" && Number(count?.dataset.total) === expected;
  return ok ? performance.now() : false;
}
"""
PAINT = """() => {
  const paint = performance.getEntriesByType("paint");
  const first = paint.find((e) => e.name === "first-contentful-paint") ?? paint[0];
  return first ? first.startTime : null;
}"""
SLOWEST = """() => performance.getEntriesByType("resource")
  .map((e) => [e.name.replace(location.origin, "").split("?")[0], Math.round(e.startTime),
               Math.round(e.responseEnd), e.transferSize])
  .sort((a, b) => b[2] - a[2]).slice(0, 8)"""
BYTES = """() => [
  performance.getEntriesByType("navigation")[0],
  ...performance.getEntriesByType("resource"),
].reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)"""


def _open(context, url: str, expected: int) -> dict:
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url + "/ops/", wait_until="commit")
    ready = page.wait_for_function(READY, arg=expected, timeout=120_000, polling="raf").json_value()
    paint = page.evaluate(PAINT)
    slowest = page.evaluate(SLOWEST)
    # When the page set its map up, asked for tiles, had its markers and its tiles drawn.
    stages = page.evaluate(
        "() => { const d = document.getElementById('ops-map-panel').dataset;"
        " return [d.readyAt, d.tilesAskedAt, d.markersAt, d.tilesLoadedAt].map(Number); }"
    )
    return {
        "page": page,
        "ready": ready,
        "paint": paint,
        "bytes": page.evaluate(BYTES),
        "requests": requests,
        "slowest": slowest,
        "stages": stages,
    }


def _burst(page, url: str) -> dict:
    """200 new reports made through the service (each publishes its event); the requests
    the page makes from the first event until every report is a marker on it."""
    from disaster.core.models import User
    from disaster.reports.models import DamageReport
    from disaster.reports.services import NewReport, create_report

    by = User.objects.get(username=USERNAME)
    before = int(page.evaluate("() => window.sonaeOps.reportMarkers.size"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    started = time.perf_counter()
    centre_x, centre_y = (WEST + EAST) / 2, (SOUTH + NORTH) / 2
    for i in range(BURST):
        angle = i * 2.399963  # a spiral: spread, deterministic
        create_report(
            NewReport(
                latitude=centre_y + 0.01 * math.sin(angle) * (i / BURST),
                longitude=centre_x + 0.01 * math.cos(angle) * (i / BURST),
                category=DamageReport.Category.values[i % len(DamageReport.Category.values)],
                severity=1 + i % 5,
                description="burst",
            ),
            source=DamageReport.Source.STAFF,
            by=by,
        )
    made = time.perf_counter() - started
    page.wait_for_function(
        "(n) => window.sonaeOps.reportMarkers.size >= n", arg=before + BURST, timeout=120_000
    )
    arrived = time.perf_counter() - started
    page.wait_for_timeout(2500)  # the counts' last refresh after the burst (throttled)
    return {
        "requests": len(requests),
        "seconds_to_make": round(made, 2),
        "seconds_until_all_shown": round(arrived, 2),
        "urls": sorted({u.split("?")[0].replace(url, "") for u in requests}),
    }


def _reference_paint(context, url: str) -> float:
    page = context.new_page()
    page.goto(url + "/", wait_until="load")
    page.wait_for_function("() => performance.getEntriesByType('paint').length > 0")
    paint = page.evaluate(PAINT)
    page.close()
    return paint


def _server_floor(url: str, cookie: str, requests: list[str]) -> float:
    """The server's own time for what the page asked for before it was ready, one request
    after another (no rendering, no JavaScript): the floor a page cannot go below."""
    from django.conf import settings

    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
    wanted = [u for u in requests if u.startswith(url) and ("/api/" in u or u.endswith("/ops/"))]
    started = time.perf_counter()
    for address in wanted:
        request = urllib.request.Request(address, headers=headers)  # noqa: S310 (loopback)
        with urllib.request.urlopen(request) as r:  # noqa: S310
            r.read()
    return (time.perf_counter() - started) * 1000


def _geojson_bytes(url: str, cookie: str) -> int:
    from django.conf import settings

    query = "status=new&status=verified&status=assigned&limit=50000"
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}", "Accept-Encoding": "identity"}
    address = f"{url}/api/v1/map/reports.geojson?{query}"
    request = urllib.request.Request(address, headers=headers)  # noqa: S310 (loopback)
    with urllib.request.urlopen(request) as r:  # noqa: S310
        return len(r.read())


def run() -> dict:
    from playwright.sync_api import sync_playwright

    from bench._stack import Server, others_busy_pct

    # Playwright's sync API runs an event loop in this thread; the ORM calls between its
    # steps are synchronous all the same (as in tests/browser/conftest.py).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    figures: dict = {"others_busy_pct_before": others_busy_pct()}
    server = Server(workers=2)
    try:
        server.wait_ready()
        url = f"http://127.0.0.1:{server.port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for count in COUNTS:
                expected = _reports(count)
                _city_view()
                cookie = _session_cookie()
                runs = []
                for _ in range(REPEAT):
                    context = browser.new_context(viewport=SCREEN, locale="ja-JP")
                    context.add_cookies([{"name": _cookie_name(), "value": cookie, "url": url}])
                    context.route(
                        lambda u: not u.startswith(url), lambda route: route.abort()
                    )  # no base map tiles from the internet
                    runs.append((context, _open(context, url, expected)))
                ready = [r["ready"] for _, r in runs]
                last_context, last = runs[-1]
                burst = _burst(last["page"], url)
                reference_paint = _reference_paint(last_context, url)
                floor = _server_floor(url, cookie, last["requests"])
                key = f"{count // 1000}k"
                figures[f"{key}_first_paint_ms"] = round(
                    statistics.median(r["paint"] for _, r in runs)
                )
                figures[f"{key}_first_paint_ms_reference_home_page"] = round(reference_paint)
                figures[f"{key}_ready_ms"] = round(statistics.median(ready))
                figures[f"{key}_ready_ms_runs"] = [round(v) for v in ready]
                figures[f"{key}_ready_ms_reference_server_alone"] = round(floor)
                figures[f"{key}_bytes"] = last["bytes"]
                figures[f"{key}_bytes_reference_all_as_geojson"] = _geojson_bytes(url, cookie)
                figures[f"{key}_requests_to_ready"] = len(last["requests"])
                figures[f"{key}_burst_requests"] = burst["requests"]
                figures[f"{key}_burst_requests_reference_one_per_report"] = BURST
                figures[f"{key}_burst_what_was_asked"] = burst["urls"]
                figures[f"{key}_burst_seconds_until_all_shown"] = burst["seconds_until_all_shown"]
                figures[f"{key}_open_reports"] = expected
                figures[f"{key}_last_resources_[path,start,end,bytes]"] = last["slowest"]
                figures[f"{key}_stages_ms_[map_set_up,tiles_asked,markers,tiles_drawn]"] = last[
                    "stages"
                ]
                for context, _run in runs:
                    context.close()
                # Leave the next count a clean table (the burst added 200).
                from disaster.reports.models import DamageReport

                DamageReport.objects.filter(description="burst").delete()
            browser.close()
    finally:
        server.stop()
    figures["targets"] = "ready_ms ≤ 1500 at 100k; burst requests ≤ 10"
    figures["cpus"] = os.cpu_count()
    return json.loads(json.dumps(figures))


def _cookie_name() -> str:
    from django.conf import settings

    return settings.SESSION_COOKIE_NAME
