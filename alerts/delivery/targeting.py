"""Who an alert reaches, computed in PostGIS.

A subscriber is a recipient when their home point lies in the alert's area (the drawn
polygon and the targeted districts' polygons) or they chose one of its districts (or the
alert is for the whole city): a LINE user who only shared a location is reached by an
alert for the district they live in. For an evacuation, reaching a few too many beats
missing one:

- a home on the area's border counts as inside, edges and vertices alike. An exact test
  (ST_Intersects, ST_Covers) misses about one in four points on a slanted edge, whose
  coordinates cannot lie exactly on it in floating point; so a home within
  BORDER_DEGREES (about 10 cm) of the area is in it (ST_DWithin, through the GiST index);
- a subscriber known only by district (no home point: an SMS sign-up gives districts) is
  a recipient when a drawn area covers part of their district. An area that only shares
  a border line with a district does not reach into it, so its people are not reached.

Each subscriber is selected once however many ways they match; channels are decided per
subscriber by the fan-out (alerts/fanout.py).

A subscriber's district, for counting progress and answers, is the district their home
lies in, else the first district they chose; each delivery keeps the one it was made with.
"""

from __future__ import annotations

from typing import Any

from django.contrib.gis.db.models import Union
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy

from alerts.delivery.transports import CONSOLE_ID_PREFIX
from alerts.models import Alert, Delivery, SafetyAnswer, Subscriber
from disaster.core.geography import District

# How far from an area a home still counts as on its border (degrees; 1e-6° is 11 cm of
# latitude, 9 cm of longitude here).
BORDER_DEGREES = 1e-6


def recipients_of(
    *, whole_city: bool, area=None, district_ids: list[int] | tuple[int, ...] = ()
) -> QuerySet[Subscriber]:
    """The subscribers in an area and/or districts (one query, each subscriber once)."""
    if whole_city:
        return Subscriber.objects.all()
    match = Q(pk__in=[])
    memberships = Subscriber.districts.through.objects
    if area is not None:
        # Known only by district: reached when the drawn area reaches into their district.
        # The few districts are found first, and membership is an EXISTS: as an IN over a
        # spatial subquery, PostgreSQL's JIT compiled five times the code and the query
        # took twice as long as the homes alone (bench/alert_targeting).
        reached_into = list(District.objects.reached_by(area).values_list("pk", flat=True))
        if reached_into:
            member = memberships.filter(subscriber_id=OuterRef("pk"), district_id__in=reached_into)
            match |= Q(home__isnull=True) & Q(Exists(member))
    if district_ids:
        members = memberships.filter(district_id__in=district_ids)
        match |= Q(pk__in=members.values("subscriber_id"))
        # The districts' polygons as one geometry, so the homes are found through their
        # GiST index in the same single test as the drawn area.
        lived_in = District.objects.filter(pk__in=district_ids).aggregate(u=Union("area"))["u"]
        if lived_in is not None:
            area = lived_in if area is None else area.union(lived_in)
    if area is not None:
        match |= Q(home__dwithin=(area, BORDER_DEGREES))
    return Subscriber.objects.filter(match)


def recipients(alert: Alert) -> QuerySet[Subscriber]:
    return recipients_of(
        whole_city=alert.whole_city,
        area=alert.area,
        district_ids=list(alert.districts.values_list("pk", flat=True)),
    )


def district_sql(subscriber: str) -> str:
    """SQL for the district of the subscriber row aliased `subscriber`."""
    members = Subscriber.districts.through._meta.db_table
    return f"""coalesce(
        (SELECT dist.id FROM {District._meta.db_table} dist
          WHERE {subscriber}.home IS NOT NULL AND ST_Intersects(dist.area, {subscriber}.home)
          ORDER BY dist.id LIMIT 1),
        (SELECT min(m.district_id) FROM {members} m WHERE m.subscriber_id = {subscriber}.id))"""  # noqa: S608 (names are ours)


def _counts_by_district(
    table: str,
    district: str,
    columns: list[str],
    alert: Alert,
    params: tuple = (),
    with_subscriber: bool = False,
) -> list[tuple]:
    """(district id, *columns, rows) for the alert's rows of `table` (aliased `t`, joined to
    their subscriber `s` when `with_subscriber`), `district` being a row's district in SQL."""
    source = f"{table} t"
    if with_subscriber:
        source += f" JOIN {Subscriber._meta.db_table} s ON s.id = t.subscriber_id"
    keys = ", ".join(columns)
    groups = ", ".join(str(n) for n in range(1, len(columns) + 2))
    order = ", ".join(["1 NULLS LAST", *(str(n) for n in range(2, len(columns) + 2))])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {district} AS district_id, {keys}, count(*)
            FROM {source} WHERE t.alert_id = %s
            GROUP BY {groups} ORDER BY {order}
            """,  # noqa: S608 (names are ours)
            [*params, alert.pk],
        )
        return cursor.fetchall()


def district_of_subscribers(alert: Alert) -> list[tuple[int | None, str, int]]:
    """(district id, delivery status, deliveries) for the alert's deliveries."""
    return _counts_by_district(Delivery._meta.db_table, "t.district_id", ["t.status"], alert)


def deliveries_by_district(alert: Alert) -> list[tuple[int | None, str, str, bool, int]]:
    """(district id, channel, status, went to the console, deliveries) for the alert, by
    the district each delivery was made with: read from the alert's rows, with no
    point-in-polygon test per delivery (that took ~0.25 s at 100,000, on every progress
    event and every opening of /ops/)."""
    return _counts_by_district(
        Delivery._meta.db_table,
        "t.district_id",
        ["t.channel", "t.status", "starts_with(t.provider_id, %s)"],
        alert,
        (CONSOLE_ID_PREFIX,),
    )


def safety_answers_by_district(alert: Alert) -> list[tuple[int | None, str, int]]:
    """(district id, answer, answers) for the alert's safety check: the district the
    answerer's delivery was made with (as progress counts them), else where they are now."""
    delivered = f"""(SELECT d.district_id FROM {Delivery._meta.db_table} d
        WHERE d.alert_id = t.alert_id AND d.subscriber_id = t.subscriber_id
        ORDER BY d.id LIMIT 1)"""  # noqa: S608 (names are ours)
    return _counts_by_district(
        SafetyAnswer._meta.db_table,
        f"coalesce({delivered}, {district_sql('s')})",
        ["t.answer"],
        alert,
        with_subscriber=True,
    )


# How the people an alert concerns (対象人数・対象世帯数) are counted, said wherever the
# figures are shown.
POPULATION_METHOD = gettext_lazy(
    "区域に全部または一部が含まれる地区の人口・世帯数（国勢調査）の合計です。"
    "一部だけ含まれる地区も、その地区の全員を数えています。"
)


def population_of(
    *, whole_city: bool, area=None, district_ids: list[int] | tuple[int, ...] = ()
) -> dict[str, Any]:
    """対象人数・対象世帯数 of an area: the census figures of the districts it targets and
    of those a drawn area covers or reaches into (a shared border line alone does not), each
    district once and whole, so a district partly inside counts all its people."""
    districts = District.objects.all()
    partial = 0
    if not whole_city:
        chosen = Q(pk__in=list(district_ids))
        if area is not None:
            reached = District.objects.reached_by(area)
            chosen |= Q(pk__in=reached.values("pk"))
            partial = (
                reached.exclude(pk__in=list(district_ids)).exclude(area__coveredby=area).count()
            )
        districts = districts.filter(chosen)
    figures = districts.population()
    return {
        "population": figures["population"],
        "households": figures["households"],
        "districts": districts.count(),
        "districts_partial": partial,
        "districts_without_figures": figures["without_figures"],
        "population_method": str(POPULATION_METHOD),
    }


def target_population(alert: Alert) -> dict[str, Any]:
    return population_of(
        whole_city=alert.whole_city,
        area=alert.area,
        district_ids=list(alert.districts.values_list("pk", flat=True)),
    )


def recipient_counts(alert: Alert) -> dict[str, int]:
    """How many recipients each channel would reach (before any fallback)."""
    people = recipients(alert)
    return {
        "subscribers": people.count(),
        "line": people.filter(line_user_id__isnull=False).count()
        if "line" in alert.channels
        else 0,
        "sms": people.filter(phone__isnull=False).count() if "sms" in alert.channels else 0,
    }
