"""Map data: GeoJSON of 10,000 reports in a bbox and vector tiles over 100,000 reports,
through the API (Django's full request path, in process), beside the raw SQL that produces
the same bytes.

100,000 reports are spread over the city in SQL and kept between runs. GeoJSON: a bbox
holding 10,000 or more of them, `limit=10000`; median of REPEAT requests against the
median of the same query run bare. Tiles: TILES requests for zoom-15 tiles around the
city centre (each holding a few hundred reports), p95 of the endpoint against p95 of the
tile query alone. Targets: GeoJSON at most 150 ms; a tile at most 50 ms p95 and 1.5× SQL.
"""

from __future__ import annotations

import math
import random
import statistics
import time

REPORTS = 100_000
REPEAT = 7
TILES = 200
ZOOM = 15
WEST, SOUTH, EAST, NORTH = 139.36, 35.45, 139.44, 35.51
BBOX = (139.375, 35.465, 139.425, 35.495)  # ~31% of the spread: ~31,000 reports
USERNAME = "bench-map"


def _ensure_reports() -> None:
    from bench._stack import spread_reports
    from disaster.reports.models import DamageReport

    if DamageReport.objects.count() != REPORTS:
        spread_reports(REPORTS, WEST, SOUTH, EAST, NORTH)


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _timed(work) -> list[float]:
    work()
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _ids(tile: bytes) -> set[int]:
    import mapbox_vector_tile

    layer = mapbox_vector_tile.decode(tile).get("reports", {"features": []})
    return {feature["id"] for feature in layer["features"]}


def _p95(values: list[float]) -> float:
    from bench._stack import percentile

    return percentile(values, 95)


def run() -> dict:
    from django.db import connection
    from django.test import Client

    from disaster.core.models import ApiToken, User
    from disaster.core.roles import Role
    from disaster.reports.models import DamageReport
    from maps.api import tile_sql, tile_where

    _ensure_reports()
    user, _ = User.objects.update_or_create(
        username=USERNAME, defaults={"role": Role.OPERATIONS, "is_active": True}
    )
    _, secret = ApiToken.issue(user, "bench")
    client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {secret}"})
    bbox = ",".join(str(v) for v in BBOX)

    answer = {}

    def geojson_api() -> None:
        response = client.get(f"/api/v1/map/reports.geojson?bbox={bbox}&limit=10000")
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
        answer["bytes"] = response.content

    from maps import api as map_api

    def geojson_sql() -> None:
        found = (
            DamageReport.objects.in_bbox(*BBOX)
            .order_by("-created_at", "-id")
            .values("id", "point", "category", "severity", "status", "reporters", "created_at")[
                :10_000
            ]
        )
        sql, params = found.query.sql_with_params()
        properties = (
            "'category', f.category, 'severity', f.severity, 'status', f.status, "
            "'reporters', f.reporters, 'created_at', f.created_at"
        )
        answer["sql"] = map_api._feature_collection(sql, list(params), properties, "f.point")

    geojson_ms = statistics.median(_timed(geojson_api))
    features = answer["bytes"].count(b'"Feature"')
    geojson_sql_ms = statistics.median(_timed(geojson_sql))
    if answer["sql"].content != answer["bytes"]:
        raise RuntimeError("the endpoint and the raw query gave different GeoJSON")

    rng = random.Random(7)
    centre_x, centre_y = _tile((WEST + EAST) / 2, (SOUTH + NORTH) / 2, ZOOM)
    tiles = [(centre_x + rng.randint(-4, 4), centre_y + rng.randint(-4, 4)) for _ in range(TILES)]
    where, filters = tile_where()  # the endpoint's default: open reports
    sql = tile_sql(where)

    def tile_api(x: int, y: int) -> bytes:
        response = client.get(f"/api/v1/map/tiles/reports/{ZOOM}/{x}/{y}.pbf")
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
        return response.content

    def tile_raw(x: int, y: int) -> bytes:
        with connection.cursor() as cursor:
            cursor.execute(sql, [ZOOM, x, y, *filters])
            return bytes(cursor.fetchone()[0] or b"")

    tile_api(*tiles[0]), tile_raw(*tiles[0])  # warm-up
    api_times, sql_times, sizes = [], [], []
    for x, y in tiles:
        started = time.perf_counter()
        body = tile_api(x, y)
        api_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        raw = tile_raw(x, y)
        sql_times.append((time.perf_counter() - started) * 1000)
        if _ids(raw) != _ids(body):
            raise RuntimeError(f"tile {x},{y}: endpoint and query hold different reports")
        sizes.append(len(body))
    ApiToken.objects.filter(user=user).delete()

    tile_p95, tile_sql_p95 = _p95(api_times), _p95(sql_times)
    return {
        "reports": REPORTS,
        "geojson_features": features,
        "geojson_bytes": len(answer["bytes"]),
        "geojson_10k_ms": round(geojson_ms, 1),
        "geojson_sql_ms": round(geojson_sql_ms, 1),
        "geojson_ratio_to_sql": round(geojson_ms / geojson_sql_ms, 2),
        "tiles": TILES,
        "tile_zoom": ZOOM,
        "tile_mean_bytes": round(statistics.mean(sizes)),
        "tile_p50_ms": round(statistics.median(api_times), 2),
        "tile_p95_ms": round(tile_p95, 2),
        "tile_sql_p95_ms": round(tile_sql_p95, 2),
        "tile_ratio_to_sql": round(tile_p95 / tile_sql_p95, 2),
        "meets_target": geojson_ms <= 150 and tile_p95 <= 50 and tile_p95 <= 1.5 * tile_sql_p95,
    }
