"""Alert targeting: recipients of a polygon covering ~10% of 1,000,000 subscribers, through
`alerts.delivery.targeting.recipients`, beside the raw PostGIS query for the same rows.

The subscribers (homes spread uniformly over the city's bounding box, LINE ids) are made
once in SQL and kept between runs. The polygon is a rectangle sized to hold about a tenth
of them. Both sides fetch every selected id to the client; each is run REPEAT times after a
warm-up and the median is reported. Target: at most 500 ms.
"""

from __future__ import annotations

import statistics
import time

SUBSCRIBERS = 1_000_000
REPEAT = 5
TARGET_MS = 500.0
# The city's bounding box (座間市, roughly) and a rectangle inside it: 0.3 × 0.33 of its span.
WEST, SOUTH, EAST, NORTH = 139.36, 35.45, 139.44, 35.51
AREA = (139.38, 35.47, 139.38 + 0.024, 35.47 + 0.02)


def _ensure_subscribers() -> None:
    from django.db import connection

    from alerts.models import Subscriber

    if Subscriber.objects.count() == SUBSCRIBERS:
        return
    table = Subscriber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
        cursor.execute(
            f"""
            INSERT INTO {table} (line_user_id, home, language, consented_at, consent_method,
                                 needs_support, staff_note, created_at)
            SELECT 'Ubench' || i,
                   ST_SetSRID(ST_MakePoint({WEST} + random() * {EAST - WEST},
                                           {SOUTH} + random() * {NORTH - SOUTH}), 4326),
                   'ja', now(), 'bench', false, '', now()
            FROM generate_series(1, %s) AS i
            """,
            [SUBSCRIBERS],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")


def _median_ms(work) -> tuple[float, int]:
    work()  # warm the caches and the plan
    times, size = [], 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        size = work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), size


def run() -> dict:
    from django.contrib.gis.geos import MultiPolygon, Polygon
    from django.db import connection

    from alerts.delivery.targeting import BORDER_DEGREES, recipients
    from alerts.models import Alert, Subscriber

    _ensure_subscribers()
    west, south, east, north = AREA
    area = MultiPolygon(Polygon.from_bbox((west, south, east, north)), srid=4326)
    alert = Alert(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="ベンチ",
        body_ja="ベンチ",
        channels=["line"],
        area=area,
    )
    alert.save()
    try:

        def through_targeting() -> int:
            return len(list(recipients(alert).values_list("id", flat=True)))

        def raw_sql() -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {Subscriber._meta.db_table} "
                    "WHERE ST_DWithin(home, ST_GeomFromEWKB(%s), %s)",  # the border counts
                    [bytes(area.ewkb), BORDER_DEGREES],
                )
                return len(cursor.fetchall())

        select_ms, selected = _median_ms(through_targeting)
        sql_ms, sql_selected = _median_ms(raw_sql)
    finally:
        alert.delete()
    if selected != sql_selected:
        raise RuntimeError(f"targeting selected {selected}, the raw query {sql_selected}")
    return {
        "subscribers": SUBSCRIBERS,
        "selected": selected,
        "selected_pct": round(100 * selected / SUBSCRIBERS, 1),
        "select_ms": round(select_ms, 1),
        "sql_ms": round(sql_ms, 1),
        "ratio_to_sql": round(select_ms / sql_ms, 2),
        "target_ms": TARGET_MS,
        "meets_target": select_ms <= TARGET_MS,
        "repeat": REPEAT,
    }
