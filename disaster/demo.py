"""The demo city: 座間市 (Zama, Kanagawa) from real open data, plus plausible stock.

Real: the designated shelters and emergency evacuation sites with their hazard flags (GSI),
the city boundary (国土数値情報 N03). Derived, and labelled so: districts (Voronoi cells of
the designated shelters, clipped to the boundary and merged by the 町名 of each shelter's
address). Invented but plausible: capacities, facilities, stock quantities and expiry
dates, and the demo users. Everything is deterministic, so loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db import connection, transaction
from django.utils import timezone

from disaster.core.geography import CityBoundary, District
from disaster.core.models import User
from disaster.core.roles import Role
from disaster.reports.models import DamageReport
from disaster.reports.services import NewReport, city_contains, create_report, triage
from shelters.models import HeadCount, Shelter
from shelters.opendata import import_gsi_geojson
from shelters.services import change_status, record_headcount
from stockpile.models import Depot, Item, Lot
from stockpile.services import receive_stock

DATA = Path(settings.SHARED_DATA_DIR)
DEMO_PASSWORD = "sonae-demo"  # noqa: S105 (printed by `make run`; demo data only)

DERIVED_DISTRICT_SOURCE = (
    "推定: 指定避難所のボロノイ領域を市境界で切り取り、所在地の町名ごとに結合"
    "（公式の町丁目界ではない）"
)

DEMO_USERS = [
    ("admin", Role.ADMINISTRATOR, "管理", "太郎"),
    ("ops", Role.OPERATIONS, "本部", "花子"),
    ("ops2", Role.OPERATIONS, "本部", "次郎"),
    ("manager", Role.SHELTER_MANAGER, "運営", "一郎"),
]
MANAGER_SHELTERS = 2  # the demo shelter manager runs the first two schools

# A typical municipal stockpile. Norms follow national guidance where one exists:
# water 3 L/person/day, three meals/person/day (here two of rice and one of biscuits),
# portable toilet bags 5 uses/person/day (内閣府 避難所におけるトイレの確保・管理ガイドライン).
CATALOGUE = [
    (
        "water",
        "water",
        "飲料水（保存水）",
        "Drinking water (long-life)",
        "L",
        "L",
        "3",
        "内閣府: 1人1日3L",
        1825,
    ),
    (
        "alpha-rice",
        "food",
        "アルファ化米",
        "Instant rice (alpha rice)",
        "食",
        "meals",
        "2",
        "1日3食のうち2食",
        1825,
    ),
    (
        "biscuits",
        "food",
        "保存用クラッカー",
        "Emergency crackers",
        "食",
        "meals",
        "1",
        "1日3食のうち1食",
        1825,
    ),
    (
        "formula",
        "infant",
        "乳児用液体ミルク",
        "Liquid infant formula",
        "本",
        "bottles",
        None,
        "",
        365,
    ),
    (
        "diapers-child",
        "infant",
        "紙おむつ（子ども用）",
        "Diapers (children)",
        "枚",
        "pcs",
        None,
        "",
        None,
    ),
    (
        "diapers-adult",
        "hygiene",
        "紙おむつ（大人用）",
        "Diapers (adults)",
        "枚",
        "pcs",
        None,
        "",
        None,
    ),
    ("sanitary", "hygiene", "生理用品", "Sanitary pads", "枚", "pcs", None, "", None),
    ("masks", "hygiene", "マスク", "Face masks", "枚", "pcs", None, "", 1825),
    (
        "toilet-bags",
        "toilet",
        "携帯トイレ（凝固剤・処理袋）",
        "Portable toilet bags",
        "回分",
        "uses",
        "5",
        "内閣府ガイドライン: 1人1日5回",
        3650,
    ),
    (
        "toilet-units",
        "toilet",
        "組立式仮設トイレ",
        "Assembly toilet units",
        "基",
        "units",
        None,
        "発災当初50人に1基、その後20人に1基",
        None,
    ),
    ("blankets", "bedding", "毛布", "Blankets", "枚", "pcs", None, "", None),
    ("cardboard-beds", "bedding", "段ボールベッド", "Cardboard beds", "台", "beds", None, "", None),
    (
        "partitions",
        "bedding",
        "間仕切り（パーティション）",
        "Partitions",
        "組",
        "sets",
        None,
        "",
        None,
    ),
    ("first-aid", "medical", "救急セット", "First-aid kits", "セット", "kits", None, "", 1095),
    ("batteries", "power", "乾電池（単3）", "AA batteries", "本", "pcs", None, "", 3650),
    (
        "generator",
        "equipment",
        "発電機（カセットボンベ式）",
        "Generator (gas cartridge)",
        "台",
        "units",
        None,
        "",
        None,
    ),
]

# How many shelters the demo opens, with evacuees, so that shortages show.
OPEN_SHELTERS = 6

# Equipment needed per head rather than per day: (at first, once the stay grows long).
PEOPLE_PER_UNIT = {"toilet-units": (50, 20)}

# How many people-days of each consumable a shelter keeps, as a multiple of its capacity.
DAYS_STOCKED = {"water": 1.0, "alpha-rice": 1.5, "biscuits": 1.5, "toilet-bags": 1.0}
PER_CAPACITY = {
    "formula": 0.05,
    "diapers-child": 0.3,
    "diapers-adult": 0.2,
    "sanitary": 0.3,
    "masks": 2,
    "blankets": 1,
    "cardboard-beds": 0.1,
    "partitions": 0.05,
    "first-aid": 0.02,
    "batteries": 0.5,
    "toilet-units": 1 / 50,
}


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return random.Random(seed)


def town_of(address: str) -> str:
    """'神奈川県座間市栗原中央3-29-17' → '栗原中央'."""
    rest = address.split("座間市", 1)[-1]
    return re.split(r"[0-9０-９一二三四五六七八九十丁番-]", rest, maxsplit=1)[0] or rest


def plausible_capacity(shelter: Shelter) -> tuple[int, int]:
    """(overnight, daytime) from the kind of facility the name says it is."""
    rng = _rng(shelter.name, shelter.address)
    if not shelter.is_shelter:
        return 0, rng.randrange(500, 3000, 100)
    for word, base in (("中学校", 700), ("小学校", 550), ("高等学校", 650), ("高校", 650)):
        if word in shelter.name:
            return base + rng.randrange(0, 200, 10), base * 2
    return 80 + rng.randrange(0, 150, 10), 200


def load_catalogue() -> list[Item]:
    """The item catalogue with the national norms (idempotent)."""
    items = []
    for code, category, name_ja, name_en, unit_ja, unit_en, norm, source, shelf in CATALOGUE:
        item, _ = Item.objects.update_or_create(
            code=code,
            defaults={
                "category": category,
                "name_ja": name_ja,
                "name_en": name_en,
                "unit_ja": unit_ja,
                "unit_en": unit_en,
                "norm_per_person_day": Decimal(norm) if norm else None,
                "norm_source": source,
                "shelf_life_days": shelf,
                "people_per_unit": PEOPLE_PER_UNIT.get(code, (None, None))[0],
                "people_per_unit_long_term": PEOPLE_PER_UNIT.get(code, (None, None))[1],
            },
        )
        items.append(item)
    return items


class DemoCity:
    def __init__(self, out=print):
        self.out = out

    @transaction.atomic
    def load(self) -> None:
        boundary = self.boundary()
        for name in ("gsi-evacuation-142166.geojson", "gsi-emergency-142166.geojson"):
            result = import_gsi_geojson(DATA / name)
            self.out(
                f"  {name}: {len(result.created)} new, {len(result.updated)} updated, "
                f"{result.unchanged} unchanged"
            )
        self.describe_shelters()
        self.districts(boundary)
        users = self.users()
        self.stock(users["admin"])
        self.evacuation(users["manager"])
        self.damage(users["ops"])

    def boundary(self) -> CityBoundary:
        feature = json.loads((DATA / "mlit-n03-boundary-14216.geojson").read_text())["features"][0]
        geometry = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
        area = geometry if geometry.geom_type == "MultiPolygon" else MultiPolygon(geometry)
        boundary, _ = CityBoundary.objects.update_or_create(
            code=settings.CITY_CODE,
            defaults={
                "name": feature["properties"]["N03_004"],
                "area": area,
                "source": "国土数値情報（行政区域データ）国土交通省",
            },
        )
        return boundary

    def describe_shelters(self) -> None:
        for shelter in Shelter.objects.filter(capacity=0, capacity_day=0):
            rng = _rng("facilities", shelter.name)
            shelter.capacity, shelter.capacity_day = plausible_capacity(shelter)
            if shelter.is_shelter:
                shelter.accessible_toilet = rng.random() < 0.7
                shelter.generator = rng.random() < 0.6
                shelter.welfare_space = rng.random() < 0.4
                shelter.pets_allowed = rng.random() < 0.3
                shelter.phone = f"046-25{rng.randrange(10):d}-{rng.randrange(1000, 9999)}"
            shelter.save()

    def districts(self, boundary: CityBoundary) -> None:
        if District.objects.exists():
            return
        shelters = list(Shelter.objects.filter(is_shelter=True).order_by("pk"))
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT s.id, ST_AsEWKB(ST_Multi(
                    ST_CollectionExtract(ST_Intersection(cell.geom, b.area), 3)))
                FROM (SELECT (ST_Dump(ST_VoronoiPolygons(
                          ST_Collect(point), 0.0,
                          (SELECT area FROM maps_cityboundary WHERE id = %s)))).geom
                      FROM shelters_shelter WHERE is_shelter) AS cell
                JOIN shelters_shelter s ON s.is_shelter AND ST_Contains(cell.geom, s.point)
                CROSS JOIN maps_cityboundary b WHERE b.id = %s
                """,
                [boundary.pk, boundary.pk],
            )
            cells = {sid: GEOSGeometry(memoryview(bytes(wkb))) for sid, wkb in cursor.fetchall()}
        towns: dict[str, GEOSGeometry] = {}
        for shelter in shelters:
            town = town_of(shelter.address)
            cell = cells[shelter.pk]
            towns[town] = towns[town].union(cell) if town in towns else cell
        for town, area in sorted(towns.items()):
            multi = area if isinstance(area, MultiPolygon) else MultiPolygon(area)
            multi.srid = 4326
            District.objects.create(
                name=town,
                area=multi,
                is_derived=True,
                source=DERIVED_DISTRICT_SOURCE,
            )
        self.out(f"  {len(towns)} derived districts")

    def users(self) -> dict[str, User]:
        users = {}
        for username, role, last, first in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"role": role, "last_name": last, "first_name": first}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[username] = user
        schools = Shelter.objects.filter(is_shelter=True, name__contains="小学校").order_by("name")
        users["manager"].managed_shelters.add(*schools[:MANAGER_SHELTERS])
        return users

    def stock(self, by: User) -> None:
        load_catalogue()
        central, _ = Depot.objects.get_or_create(
            name="座間市中央防災備蓄倉庫（デモ）",
            defaults={"point": Point(139.4074, 35.4887, srid=4326)},
        )
        depots = [central]
        for shelter in Shelter.objects.filter(is_shelter=True).order_by("pk"):
            depot, _ = Depot.objects.get_or_create(
                shelter=shelter,
                defaults={"name": f"{shelter.name} 備蓄倉庫", "point": shelter.point},
            )
            depots.append(depot)
        today = timezone.localdate()
        received = 0
        for depot in depots:
            capacity = depot.shelter.capacity if depot.shelter else 3000
            for item in Item.objects.all():
                share = DAYS_STOCKED.get(item.code)
                norm = item.norm_per_person_day
                amount = (
                    capacity * float(norm) * share
                    if share and norm is not None
                    else capacity * PER_CAPACITY.get(item.code, 0)
                )
                rng = _rng(depot.name, item.code)
                # Two lots of different age where the item expires, so rotation has work to do.
                for n in range(2 if item.shelf_life_days else 1):
                    quantity = max(1, round(amount * rng.uniform(0.3, 0.7)))
                    expires = (
                        today + dt.timedelta(days=rng.randrange(20, item.shelf_life_days))
                        if item.shelf_life_days
                        else None
                    )
                    before = Lot.objects.count()
                    receive_stock(
                        depot=depot,
                        item=item,
                        quantity=quantity,
                        expires_on=expires,
                        source=Lot.Source.PROCURED,
                        by=by,
                        note="デモデータ",
                        idempotency_key=f"demo:{depot.pk}:{item.code}:{n}",
                    )
                    received += Lot.objects.count() - before
        self.out(f"  stock: {Lot.objects.count()} lots in {len(depots)} depots ({received} new)")

    def evacuation(self, by: User) -> None:
        """A few shelters open with people in them, so the stock figures have work to do.

        Only on the first load: a demo someone has been clicking through keeps its state.
        """
        if HeadCount.objects.exists():
            self.out("  evacuation: already under way")
            return
        opened = list(by.managed_shelters.order_by("pk")[:OPEN_SHELTERS])
        opened += list(
            Shelter.objects.filter(is_shelter=True, capacity__gt=0)
            .exclude(pk__in=[s.pk for s in opened])
            .order_by("pk")[: OPEN_SHELTERS - len(opened)]
        )
        for shelter in opened:
            rng = _rng("evacuation", shelter.name)
            total = round(shelter.capacity * rng.uniform(0.4, 1.4))
            change_status(shelter.pk, status=Shelter.Status.OPEN, by=by)
            record_headcount(
                shelter.pk,
                total=total,
                by=by,
                elderly=round(total * 0.3),
                infants=round(total * 0.05),
                disabled=round(total * 0.04),
                pets=rng.randrange(0, 8),
            )
        self.out(f"  evacuation: {len(opened)} shelters open with head-counts")

    def damage(self, by: User) -> None:
        """A dozen damage reports near the open shelters, some already triaged (first load
        only, like the evacuation)."""
        if DamageReport.objects.exists():
            self.out("  damage reports: already there")
            return
        categories = DamageReport.Category.values
        places = Shelter.objects.filter(status=Shelter.Status.OPEN).order_by("pk")
        count = 0
        for shelter in places:
            rng = _rng("damage", shelter.name)
            for _ in range(2):
                place = Point(
                    shelter.point.x + rng.uniform(-0.004, 0.004),
                    shelter.point.y + rng.uniform(-0.004, 0.004),
                    srid=4326,
                )
                if not city_contains(place):  # a shelter by the city's edge
                    place = shelter.point
                report = create_report(
                    NewReport(
                        latitude=place.y,
                        longitude=place.x,
                        category=rng.choice(categories),
                        severity=rng.randint(1, 5),
                        description="デモ用の被害報告",
                    ),
                    source=DamageReport.Source.STAFF,
                    by=by,
                )
                if rng.random() < 0.4:
                    triage(by, report.pk, "verify")
                count += 1
        self.out(f"  damage reports: {count}")
