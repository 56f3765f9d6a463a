"""Derived figures: how long the stock lasts, what runs short, what expires, what to move.

Days of supply = usable on hand ÷ what the shelter's people need a day: the evacuees × the
item's per-person-per-day norm (food and water also for the people it feeds who sleep at
home or in their cars, 在宅避難者・車中泊), plus each group the head-count counts × the
item's norm for that group (infants × 乳児用液体ミルク a day, women × 生理用品, pets ×
pet food…: `GroupNorm`).
Equipment needed per head rather than per day (toilets) is short when there are fewer units
than ceil(evacuees ÷ people per unit); once the stay has grown long the stricter ratio
applies (one toilet per 50 people at first, per 20 later).

Everything is computed from a handful of aggregate queries; a city has a few dozen depots and
a few dozen items, so the per-row arithmetic is done here in Python where it reads plainly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.db.models import IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from disaster.core.models import Incident
from shelters.models import CURRENT_FIRST, HeadCount
from stockpile.models import Depot, GroupNorm, Item, Lot, NeedGroup, SupplyRequestLine, Transfer

# Food and water go to everyone the shelter feeds, also those who sleep elsewhere.
FED_CATEGORIES = frozenset({Item.Category.WATER, Item.Category.FOOD})


class Status:
    SHORT = "short"  # below the shortage threshold: act now
    LOW = "low"  # below twice the threshold: watch
    OK = "ok"
    UNRATED = "unrated"  # no norm for the item, or nobody to supply


@dataclass(frozen=True)
class People:
    """Whom a depot supplies, from its shelter's current head-count: those staying (`total`),
    those fed from it while sleeping elsewhere, and the groups with needs of their own."""

    total: int = 0
    elsewhere: int = 0
    infants: int = 0
    elderly: int = 0
    care_needed: int = 0
    women: int = 0
    pets: int = 0

    def of(self, group: str) -> int:
        return getattr(self, NeedGroup(group).value)

    def __add__(self, other: People) -> People:
        return People(**{name: getattr(self, name) + getattr(other, name) for name in FIGURES})


FIGURES = tuple(People.__dataclass_fields__)


def daily_need(item: Item, people: People, norms: Iterable[GroupNorm]) -> float | None:
    """Units of `item` these people need a day; None when the item has no norm at all."""
    norms = list(norms)
    if item.norm_per_person_day is None and not norms:
        return None
    need = 0.0
    if item.norm_per_person_day is not None:
        fed = people.total + (people.elsewhere if item.category in FED_CATEGORIES else 0)
        need += fed * float(item.norm_per_person_day)
    for norm in norms:
        need += people.of(norm.group) * float(norm.per_day)
    return need


@dataclass
class Level:
    depot: Depot
    item: Item
    on_hand: int  # usable: not expired
    expired: int
    incoming: int  # dispatched to this depot, not yet received
    evacuees: int  # staying at the shelter (the head-count's total)
    days_of_supply: float | None
    hours_until_empty: float | None
    required_units: int | None
    status: str
    need_per_day: float | None = None  # None: the item has no norm
    people: People = People()


def shortage_days() -> float:
    return float(settings.STOCK_SHORTAGE_DAYS)


def stay_is_long(now: dt.datetime | None = None) -> bool:
    """Has the current (not closed) incident gone on long enough for the long-term ratios?"""
    started = (
        Incident.objects.exclude(phase=Incident.Phase.CLOSED)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if started is None:
        return False
    now = now or timezone.now()
    return now - started >= dt.timedelta(days=settings.STOCK_LONG_TERM_AFTER_DAYS)


def required_units(item: Item, evacuees: int, long_stay: bool) -> int | None:
    per = (item.people_per_unit_long_term if long_stay else None) or item.people_per_unit
    return math.ceil(evacuees / per) if per else None


def rate(
    item: Item, on_hand: int, need: float | None, evacuees: int, long_stay: bool, threshold: float
):
    """(days of supply, hours until empty, required units, status) of one item somewhere,
    where `need` units are needed a day (see `daily_need`)."""
    if need:
        days = on_hand / need
        status = (
            Status.SHORT if days < threshold else Status.LOW if days < 2 * threshold else Status.OK
        )
        return round(days, 2), round(days * 24, 1), None, status
    units = required_units(item, evacuees, long_stay)
    if units:
        status = Status.SHORT if on_hand < units else Status.OK
        return None, None, units, status
    return None, None, units, Status.UNRATED


def depots_with_evacuees():
    """Depots annotated with their shelter's current head-count: `evacuees` (its total),
    `supported_at_home`, `supported_in_cars` and each need group (0 without a count)."""
    latest = HeadCount.objects.filter(shelter=OuterRef("shelter")).order_by(*CURRENT_FIRST)

    def figure(name: str) -> Coalesce:
        return Coalesce(Subquery(latest.values(name)[:1]), Value(0), output_field=IntegerField())

    groups = {group.value: figure(group.value) for group in NeedGroup}
    return Depot.objects.select_related("shelter").annotate(
        evacuees=figure("total"),
        supported_at_home=figure("supported_at_home"),
        supported_in_cars=figure("supported_in_cars"),
        **groups,
    )


def people_of(depot: Depot) -> People:
    """Whom a depot from `depots_with_evacuees` supplies."""
    names = ("evacuees", "supported_at_home", "supported_in_cars", *NeedGroup.values)
    counted = {name: getattr(depot, name) for name in names}  # the annotations
    return People(
        total=counted.pop("evacuees"),
        elsewhere=counted.pop("supported_at_home") + counted.pop("supported_in_cars"),
        **counted,
    )


def group_norms(items: Iterable[Item]) -> dict[int, list[GroupNorm]]:
    found: dict[int, list[GroupNorm]] = defaultdict(list)
    for norm in GroupNorm.objects.filter(item__in=[item.pk for item in items]):
        found[norm.item_id].append(norm)
    return found


def levels(
    *,
    depots: Iterable[Depot] | None = None,
    items: Iterable[Item] | None = None,
    threshold: float | None = None,
    include_empty: bool = False,
) -> list[Level]:
    """Stock levels per depot and item. Rows with nothing on hand or coming are kept only
    where someone needs the item (so an empty depot shows as short) or `include_empty`."""
    threshold = shortage_days() if threshold is None else threshold
    today = timezone.localdate()
    long_stay = stay_is_long()
    depot_list = list(
        depots_with_evacuees().filter(pk__in=[d.pk for d in depots])
        if depots is not None
        else depots_with_evacuees()
    )
    item_list = list(items) if items is not None else list(Item.objects.all())
    depot_ids = [d.pk for d in depot_list]
    item_ids = [i.pk for i in item_list]

    stock: defaultdict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    rows = (
        Lot.objects.filter(depot_id__in=depot_ids, item_id__in=item_ids, on_hand__gt=0)
        .values("depot_id", "item_id")
        .annotate(
            usable=Coalesce(
                Sum("on_hand", filter=Q(expires_on__isnull=True) | Q(expires_on__gte=today)), 0
            ),
            expired=Coalesce(Sum("on_hand", filter=Q(expires_on__lt=today)), 0),
        )
    )
    for row in rows:
        stock[row["depot_id"], row["item_id"]] = [row["usable"], row["expired"]]
    incoming = {
        (row["to_depot_id"], row["item_id"]): row["total"]
        for row in Transfer.objects.filter(
            status=Transfer.Status.DISPATCHED, to_depot_id__in=depot_ids, item_id__in=item_ids
        )
        .values("to_depot_id", "item_id")
        .annotate(total=Sum("quantity"))
    }

    norms = group_norms(item_list)
    result = []
    for depot in depot_list:
        people = people_of(depot)
        for item in item_list:
            usable, expired = stock.get((depot.pk, item.pk), (0, 0))
            coming = incoming.get((depot.pk, item.pk), 0)
            need = daily_need(item, people, norms[item.pk])
            days, hours, units, status = rate(
                item, usable, need, people.total, long_stay, threshold
            )
            if not (usable or expired or coming or include_empty or status == Status.SHORT):
                continue
            result.append(
                Level(
                    depot,
                    item,
                    usable,
                    expired,
                    coming,
                    people.total,
                    days,
                    hours,
                    units,
                    status,
                    need_per_day=need,
                    people=people,
                )
            )
    return result


def shortages(threshold: float | None = None) -> list[Level]:
    """Everywhere an item will run out within `threshold` days (or lacks units), worst first."""
    found = [level for level in levels(threshold=threshold) if level.status == Status.SHORT]
    return sorted(
        found,
        key=lambda lv: (
            lv.hours_until_empty if lv.hours_until_empty is not None else -1,
            lv.depot.name,
            lv.depot.pk,  # a total order, so pages neither skip nor repeat a row
            lv.item.pk,
        ),
    )


@dataclass
class CityItem:
    item: Item
    on_hand: int
    expired: int
    in_transit: int
    evacuees: int
    days_of_supply: float | None
    depots_short: int


def city(threshold: float | None = None) -> list[CityItem]:
    """One line per item for the whole city."""
    threshold = shortage_days() if threshold is None else threshold
    all_levels = levels(threshold=threshold)
    everyone = sum((people_of(depot) for depot in depots_with_evacuees()), People())
    items = list(Item.objects.all())
    norms = group_norms(items)
    in_transit = dict(
        Transfer.objects.filter(status=Transfer.Status.DISPATCHED)
        .values("item_id")
        .annotate(total=Sum("quantity"))
        .values_list("item_id", "total")
    )
    by_item: dict[int, list[Level]] = defaultdict(list)
    for level in all_levels:
        by_item[level.item.pk].append(level)
    result = []
    for item in items:
        rows = by_item.get(item.pk, [])
        on_hand = sum(r.on_hand for r in rows)
        need = daily_need(item, everyone, norms[item.pk])
        days = round(on_hand / need, 2) if need else None
        result.append(
            CityItem(
                item,
                on_hand,
                sum(r.expired for r in rows),
                in_transit.get(item.pk, 0),
                everyone.total,
                days,
                sum(1 for r in rows if r.status == Status.SHORT),
            )
        )
    return result


@dataclass
class Proposal:
    from_depot: Depot
    to_depot: Depot
    item: Item
    quantity: int
    distance_m: float
    needed: int  # what would lift the receiver to the target (may exceed `quantity`)


def surplus(level: Level, keep_days: float) -> int:
    """What a depot can spare: stock beyond what its own evacuees need for `keep_days`."""
    if level.required_units is not None:
        return max(0, level.on_hand - level.required_units)
    need = level.need_per_day
    if not need:
        return level.on_hand  # nobody here to supply (a central warehouse, a closed shelter)
    return max(0, level.on_hand - math.ceil(need * keep_days))


def propose_transfer(depot: Depot, item: Item, threshold: float | None = None) -> Proposal | None:
    """The nearest depot that can spare some of `item`, and how much to send to bring `depot`
    back to twice the shortage threshold (counting what is already on its way)."""
    threshold = shortage_days() if threshold is None else threshold
    target_days = 2 * threshold
    here = next(iter(levels(depots=[depot], items=[item], threshold=threshold, include_empty=True)))
    if here.required_units is not None:
        needed = here.required_units - here.on_hand - here.incoming
    elif here.need_per_day:
        needed = math.ceil(here.need_per_day * target_days) - here.on_hand - here.incoming
    else:
        return None
    if needed <= 0:
        return None
    return nearest_surplus(depot, item, needed, threshold)


def nearest_surplus(depot: Depot, item: Item, needed: int, threshold: float) -> Proposal | None:
    """Where to send `needed` of `item` to `depot` from: the nearest depot that can spare it
    all (keeping twice the shortage threshold for its own evacuees), else the nearest that
    can spare some (a partial proposal, `needed` saying what is still missing)."""
    target_days = 2 * threshold
    others = (
        Depot.objects.exclude(pk=depot.pk)
        .annotate(distance=Distance("point", depot.point))
        .order_by("distance", "pk")
    )
    spare = {
        level.depot.pk: surplus(level, target_days)
        for level in levels(depots=others, items=[item], threshold=threshold)
    }
    partial = None
    for other in others:
        can = spare.get(other.pk, 0)
        if can >= needed:
            return Proposal(other, depot, item, needed, other.distance.m, needed)
        if can > 0 and partial is None:
            partial = Proposal(other, depot, item, can, other.distance.m, needed)
    return partial


def propose_for_line(line: SupplyRequestLine) -> Proposal | None:
    """The transfer that would fill what a supply request line still lacks (asked for, less
    what live transfers already commit), from the nearest depot that can spare it."""
    missing = line.quantity - getattr(line, "committed", 0)
    if missing <= 0:
        return None
    return nearest_surplus(line.request.depot, line.item, missing, shortage_days())


@dataclass
class ExpiringLot:
    lot: Lot
    expires_on: dt.date  # the lot's, which is set on every expiring lot
    days_left: int
    suggestion: str  # dispose | use_first | rotate


def expiring(within_days: int, depots: Iterable[Depot] | None = None) -> list[ExpiringLot]:
    """Lots on hand that have expired or will within `within_days`, soonest first, each with
    what to do: dispose of it, hand it out first, or use it in a drill / rotate it
    (ローリングストック) while it is still good."""
    today = timezone.localdate()
    lots = (
        Lot.objects.filter(on_hand__gt=0, expires_on__lte=today + dt.timedelta(days=within_days))
        .select_related("depot", "item")
        .order_by("expires_on", "depot__name", "id")
    )
    if depots is not None:
        lots = lots.filter(depot__in=list(depots))
    result = []
    for lot in lots:
        expires_on = lot.expires_on
        assert expires_on is not None, "expires_on__lte leaves out lots that never expire"
        days_left = (expires_on - today).days
        if days_left < 0:
            suggestion = "dispose"
        elif days_left <= settings.STOCK_USE_FIRST_DAYS:
            suggestion = "use_first"
        else:
            suggestion = "rotate"
        result.append(ExpiringLot(lot, expires_on, days_left, suggestion))
    return result
