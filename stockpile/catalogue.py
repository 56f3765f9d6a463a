"""The standard item catalogue with the national norms, and a depot for every designated
shelter: what a new city starts its stockpile with (`manage.py setup_city`, the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shelters.models import Shelter
from stockpile.models import Depot, GroupNorm, Item, NeedGroup

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
    ("porridge", "food", "おかゆ（レトルト）", "Rice porridge", "食", "meals", None, "", 730),
    ("pet-food", "pets", "ペットフード", "Pet food", "日分", "days' food", None, "", 365),
]

# Per-person quantities by age group, published by 備蓄ナビえちぜん (越前市 and Code for
# FUKUI, after 東京備蓄ナビ): ../shared/data/bichiku-navi-echizen-stockpile-list.csv.
BICHIKU_NAVI = "備蓄ナビえちぜん（越前市・Code for FUKUI）"

# What one member of a group needs a day, next to the per-person norms above (see
# stockpile.models.GroupNorm): (item, group, per day, the row of the 備蓄ナビ list it is
# taken from or None, where it comes from). The list counts 乳幼児 as one group, as the
# head-count does; it names 生理用品 for women without a quantity and has no adults'
# nappies: those two norms are stated assumptions, to be replaced by the city's own.
GROUP_NORMS = [
    (
        "formula",
        NeedGroup.INFANTS,
        "6",
        46,
        f"{BICHIKU_NAVI} No.46 液体ミルク: 乳幼児 1日6食",
    ),
    (
        "diapers-child",
        NeedGroup.INFANTS,
        "10",
        48,
        f"{BICHIKU_NAVI} No.48 おむつ: 乳幼児 1日10枚",
    ),
    (
        "porridge",
        NeedGroup.ELDERLY,
        "3",
        51,
        f"{BICHIKU_NAVI} No.51 おかゆ: 高齢者 1日3食",
    ),
    (
        "pet-food",
        NeedGroup.PETS,
        "1",
        67,
        f"{BICHIKU_NAVI} No.67 ペットフード: 1頭 1日分",
    ),
    (
        "diapers-adult",
        NeedGroup.CARE_NEEDED,
        "5",
        None,
        "仮定: 交換1日5回（備蓄ナビえちぜんに大人用の数量はない）",
    ),
    (
        "sanitary",
        NeedGroup.WOMEN,
        "1.5",
        None,
        "仮定: 月経中は1日6枚、同時に月経中の女性を4人に1人として女性1人1日1.5枚"
        "（備蓄ナビえちぜん No.43 は品目のみで数量なし）",
    ),
]

# Equipment needed per head rather than per day: (at first, once the stay grows long).
PEOPLE_PER_UNIT = {"toilet-units": (50, 20)}


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def load_catalogue() -> Counts:
    """The standard catalogue with the national norms. Idempotent: an item already as it
    should be is not written; an item a city added is left alone."""
    counts = Counts()
    for code, category, name_ja, name_en, unit_ja, unit_en, norm, source, shelf in CATALOGUE:
        per_unit, per_unit_long = PEOPLE_PER_UNIT.get(code, (None, None))
        values = {
            "category": category,
            "name_ja": name_ja,
            "name_en": name_en,
            "unit_ja": unit_ja,
            "unit_en": unit_en,
            "norm_per_person_day": Decimal(norm) if norm else None,
            "norm_source": source,
            "shelf_life_days": shelf,
            "people_per_unit": per_unit,
            "people_per_unit_long_term": per_unit_long,
        }
        item = Item.objects.filter(code=code).first()
        if item is None:
            Item.objects.create(code=code, **values)
            counts.created += 1
        elif all(getattr(item, name) == value for name, value in values.items()) and (
            _norms_as_they_should_be(item)
        ):
            counts.unchanged += 1
        else:
            Item.objects.filter(pk=item.pk).update(**values)
            counts.updated += 1
    _load_group_norms()
    return counts


def _group_norms_of(code: str) -> dict[str, tuple[Decimal, str]]:
    return {
        group.value: (Decimal(per_day), source)
        for item, group, per_day, _row, source in GROUP_NORMS
        if item == code
    }


def _norms_as_they_should_be(item: Item) -> bool:
    have = {norm.group: (norm.per_day, norm.source) for norm in item.group_norms.all()}
    return all(have.get(group) == norm for group, norm in _group_norms_of(item.code).items())


def _load_group_norms() -> None:
    """The catalogue's group norms; a norm a city added for another group stays."""
    for code, group, per_day, _row, source in GROUP_NORMS:
        GroupNorm.objects.update_or_create(
            item=Item.objects.get(code=code),
            group=group.value,
            defaults={"per_day": Decimal(per_day), "source": source},
        )


def create_shelter_depots() -> Counts:
    """A depot (備蓄倉庫) at every designated shelter (指定避難所) that has none: a shelter
    hands out stock from its own warehouse. Existing depots are left as they are."""
    counts = Counts()
    for shelter in Shelter.objects.filter(is_shelter=True, depot__isnull=True).order_by("pk"):
        Depot.objects.create(shelter=shelter, name=f"{shelter.name} 備蓄倉庫", point=shelter.point)
        counts.created += 1
    counts.unchanged = Depot.objects.filter(shelter__is_shelter=True).count() - counts.created
    return counts
