"""The demo city: 座間市 (Zama, Kanagawa) from real open data, plus plausible stock.

Real: the designated shelters and emergency evacuation sites with their hazard flags (GSI),
the city boundary (国土数値情報 N03), the 66 町丁目 of the 2015 census with their
populations, households and representative points (e-Stat). Derived, and labelled so: the
districts' shapes (Voronoi cells of those points, clipped to the boundary: the census
polygons of 座間市 are not in the shared data). Invented but plausible: capacities,
facilities, stock quantities and expiry dates, and the demo users. The city itself is built
by the same steps as any city's (`disaster.city_setup`). Everything is deterministic, so
loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from alerts.models import Subscriber
from disaster import city_setup
from disaster.core.geography import CityBoundary, District
from disaster.core.models import User
from disaster.core.roles import Role
from disaster.reports.models import DamageReport
from disaster.reports.services import NewReport, city_contains, create_report, triage
from shelters.models import HeadCount, Shelter
from shelters.services import change_status, record_headcount
from stockpile.catalogue import create_shelter_depots, load_catalogue
from stockpile.models import Depot, Item, Lot
from stockpile.services import receive_stock

DATA = Path(settings.SHARED_DATA_DIR)
DEMO_PASSWORD = "sonae-demo"  # noqa: S105 (printed by `make run`; demo data only)

BOUNDARY = DATA / "mlit-n03-boundary-14216.geojson"
SHELTER_FILES = (DATA / "gsi-evacuation-142166.geojson", DATA / "gsi-emergency-142166.geojson")
# 2015 census small areas of 座間市: attributes and representative points, no polygons.
CHOME_ATTRIBUTES = DATA / "estat-h27-chome-attributes-14216.csv"
# What the districts of earlier demos said they were (Voronoi cells of the shelters).
SHELTER_CELLS_SOURCE = (
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

# How many shelters the demo opens, with evacuees, so that shortages show.
OPEN_SHELTERS = 6

# How many people-days of each consumable a shelter keeps, as a multiple of its capacity.
DAYS_STOCKED = {"water": 1.0, "alpha-rice": 1.5, "biscuits": 1.5, "toilet-bags": 1.0}
# Items needed by a group (infants, women…): roughly one to three days for a full shelter.
PER_CAPACITY = {
    "formula": 0.5,
    "diapers-child": 0.8,
    "diapers-adult": 0.3,
    "sanitary": 1.2,
    "porridge": 1.0,
    "pet-food": 0.03,
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


def plausible_capacity(shelter: Shelter) -> tuple[int, int]:
    """(overnight, daytime) from the kind of facility the name says it is."""
    rng = _rng(shelter.name, shelter.address)
    if not shelter.is_shelter:
        return 0, rng.randrange(500, 3000, 100)
    for word, base in (("中学校", 700), ("小学校", 550), ("高等学校", 650), ("高校", 650)):
        if word in shelter.name:
            return base + rng.randrange(0, 200, 10), base * 2
    return 80 + rng.randrange(0, 150, 10), 200


class DemoCity:
    def __init__(self, out=print):
        self.out = out

    @transaction.atomic
    def load(self) -> None:
        boundary, report = city_setup.boundary_step(BOUNDARY.read_bytes())
        self.out(f"  {report.line()}")
        for path in SHELTER_FILES:
            self.out(f"  {city_setup.shelters_step(path.name, path.read_bytes()).line()}")
        self.describe_shelters()
        self.districts(boundary)
        users = self.users()
        self.stock(users["admin"])
        self.evacuation(users["manager"])
        self.damage(users["ops"])
        self.out("  " + demo_subscribers(users["ops"]))

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
        """座間市's 66 町丁目 of the 2015 census (64 areas: two are in pieces): no polygons
        are published, so each is the Voronoi cell of its representative points clipped to
        the boundary, labelled derived, with its census population and households."""
        # Districts of earlier demos were cells of the shelters; nothing else made these.
        District.objects.filter(code=None, source=SHELTER_CELLS_SOURCE).delete()
        report = city_setup.districts_step(CHOME_ATTRIBUTES.read_bytes(), boundary)
        self.out(f"  {report.line()}")

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
        create_shelter_depots()
        shelters = Depot.objects.filter(shelter__is_shelter=True).order_by("shelter_id")
        depots = [central, *shelters.select_related("shelter")]
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
                households=round(total / 2.2),  # Zama's people per household (census)
                elderly=round(total * 0.3),
                infants=round(total * 0.05),
                disabled=round(total * 0.04),
                care_needed=round(total * 0.03),
                women=round(total * 0.5),
                pets=rng.randrange(0, 8),
                supported_at_home=round(total * rng.uniform(0.1, 0.4)),
                supported_in_cars=round(total * rng.uniform(0.02, 0.1)),
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


# Residents who receive alerts: a plausible few in every district, so a first alert reaches
# people. Every number is from 090-0000-xxxx, a block no carrier gives out (documented as
# fictitious in the README), and every LINE id says "demo" where a real one has hex digits.
DEMO_PHONE = "+8190000{:05d}"
DEMO_LINE_ID = "Udemo{:028d}"
DEMO_PER_DISTRICT = 3
DEMO_NAMES = ["デモ 花子", "デモ 太郎", "デモ 春子", "デモ 一郎", "デモ ハナ", "デモ トメ"]
DEMO_LANGUAGES = ["ja"] * 8 + ["en", "zh", "vi", "ko", "ja-easy", "pt-br"]


def _home_in(district: District, rng: random.Random) -> Point:
    """A point inside the district, near its middle (a home to target by area)."""
    centre = district.area.point_on_surface
    for _ in range(20):
        point = Point(
            centre.x + rng.uniform(-0.003, 0.003), centre.y + rng.uniform(-0.003, 0.003), srid=4326
        )
        if district.area.contains(point):
            return point
    return Point(centre.x, centre.y, srid=4326)


def consent_method(way: str, needs_support: bool) -> str:
    if needs_support:
        return Subscriber.ConsentMethod.STAFF
    return Subscriber.ConsentMethod.SMS if way == "sms" else Subscriber.ConsentMethod.LINE_FOLLOW


def demo_subscribers(registered_by: User) -> str:
    """Subscribers in every district by SMS, LINE or both, in several languages, some
    registered by staff as people needing support (with a name). Idempotent: a number or
    LINE id already there is left as it is."""
    now = timezone.now()
    made = 0
    n = 0
    for district in District.objects.order_by("pk"):
        for i in range(DEMO_PER_DISTRICT):
            n += 1
            rng = _rng("subscriber", district.pk, i)
            way = rng.choice(["sms", "line", "both", "sms", "line"])
            needs_support = way == "sms" and rng.random() < 0.3
            subscriber, created = Subscriber.objects.get_or_create(
                phone=DEMO_PHONE.format(n) if way in ("sms", "both") else None,
                line_user_id=DEMO_LINE_ID.format(n) if way in ("line", "both") else None,
                defaults={
                    "phone_confirmed_at": now if way in ("sms", "both") else None,
                    "home": _home_in(district, rng) if rng.random() < 0.7 else None,
                    "language": rng.choice(DEMO_LANGUAGES),
                    "consent_method": consent_method(way, needs_support),
                    "needs_support": needs_support,
                    "name": rng.choice(DEMO_NAMES) if needs_support else "",
                    "registered_by": registered_by if needs_support else None,
                    "staff_note": "デモデータ（架空の人物）" if needs_support else "",
                },
            )
            if created:
                subscriber.districts.set([district])
                made += 1
    total = Subscriber.objects.count()
    return f"subscribers: {total} ({made} new; fictitious numbers 090-0000-xxxx)"
