"""JMA telegrams: every official sample read with the city-level result a municipality
expects, kept and deduplicated, with later serials, cancellations and broken telegrams."""

from __future__ import annotations

import logging
import random

import pytest
import xmlschema
from django.conf import settings

from disaster.warnings import parsing, services, state
from disaster.warnings.models import CityWarning, Telegram
from disaster.warnings.schema import SCHEMA_DIR, Refused, validated
from tests.disaster import jma_samples as jma
from tests.disaster.jma_samples import sample

ZAMA = "1421600"
ODAWARA = "1420600"
HAKONE = "1438200"


def city_result(name: str) -> list[tuple[str, str, int | None]]:
    """(area, kind, level) in force for the configured city, read straight from the sample."""
    read = parsing.parse(validated(sample(name)))
    return [(r.area_name, r.name, r.level) for r in state.city_rows(read, state.city())]


def in_force() -> list[tuple[str, str, str]]:
    return sorted(
        (w.area_name, w.name, w.level_words or w.intensity) for w in CityWarning.objects.in_force()
    )


@pytest.mark.parametrize("name", jma.NAMES)
def test_every_sample_is_valid_and_both_validators_agree(name):
    reference = xmlschema.XMLSchema(str(SCHEMA_DIR / "jmx.xsd"), allow="local")
    assert reference.is_valid(str(jma.SAMPLES / name))
    assert validated(sample(name)).tag == f"{{{parsing.JMX}}}Report"


def test_a_telegram_missing_a_required_element_fails_both_validators():
    broken = sample(jma.QUAKE_FLASH, ("<InfoKind>震度速報</InfoKind>", ""))
    with pytest.raises(Refused, match="schema"):
        validated(broken)
    reference = xmlschema.XMLSchema(str(SCHEMA_DIR / "jmx.xsd"), allow="local")
    assert not reference.is_valid(broken.decode())


EXPECTED_FOR_ZAMA = {
    # 神奈川県 2016-07-15: 座間市 has 強風注意報 (no 警戒レベル: wind is not on that scale).
    jma.KANAGAWA_WARNINGS: [("座間市", "強風注意報", None)],
    jma.SHIMANE_H27: [],
    jma.SHIMANE_R06_RAIN: [],
    jma.SHIMANE_R06_LANDSLIDE: [],
    jma.RIVER_CAUTION: [],  # ○○川, not a river the city names
    jma.RIVER_FLOODING: [],
    jma.OKAYAMA_LANDSLIDE: [],
    # The 神奈川県 レベル４土砂災害危険警報 series lists 座間市 with status なし.
    jma.KANAGAWA_LANDSLIDE[0]: [],
    jma.KANAGAWA_LANDSLIDE[1]: [],
    jma.KANAGAWA_LANDSLIDE[2]: [],
    jma.RECORD_RAIN: [],  # 石狩・後志
    jma.QUAKE_FLASH: [],  # 鹿児島県・宮崎県 regions only
    # 震源・震度情報 2008-06-14: 座間市 MaxInt 2 (座間市緑ケ丘＊).
    jma.QUAKE_DETAIL: [("座間市", "震度２", None)],
}


@pytest.mark.parametrize("name", jma.NAMES)
def test_every_sample_gives_the_city_level_result_for_zama(name):
    assert settings.JMA_AREA_CODES == [ZAMA]
    assert city_result(name) == EXPECTED_FOR_ZAMA[name]


def test_what_jma_expects_next_is_kept_in_its_words():
    read = parsing.parse(validated(sample(jma.KANAGAWA_WARNINGS)))
    (zama,) = state.city_rows(read, state.city())
    assert zama.next_kinds == (
        {
            "name": "暴風特別警報",
            "at": "2016-07-16T03:00:00+09:00",
            "sentence": "１６日明け方までに暴風特別警報に切り替える可能性が高い",
        },
    )


def test_the_kanagawa_landslide_series_names_odawara_not_zama(settings):
    first = parsing.parse(validated(sample(jma.KANAGAWA_LANDSLIDE[0])))
    zama = [i for i in first.items if i.area_code == ZAMA]
    assert [(i.name, i.status, i.in_force) for i in zama] == [("なし", "なし", False)]
    settings.JMA_AREA_CODES = [ODAWARA]
    assert city_result(jma.KANAGAWA_LANDSLIDE[0]) == [("小田原市", "警戒", 4)]
    assert city_result(jma.KANAGAWA_LANDSLIDE[2]) == []  # 解除


def test_a_river_the_city_names_gives_jma_s_level(settings):
    settings.JMA_RIVERS = ["○○川"]
    assert city_result(jma.RIVER_CAUTION) == [("○○川上流", "氾濫注意情報", 2)]
    assert city_result(jma.RIVER_FLOODING) == [("○○川上流", "氾濫発生情報（氾濫水の予報）", 5)]


def test_record_rain_in_the_city_s_region(settings):
    settings.JMA_REGION_CODES = ["016010"]
    assert city_result(jma.RECORD_RAIN) == [("石狩地方", "記録的短時間大雨情報", None)]


def test_a_quake_flash_gives_the_region_s_intensity(settings):
    settings.JMA_QUAKE_REGION_CODES = ["771"]
    assert city_result(jma.QUAKE_FLASH) == [("鹿児島県大隅", "震度４", None)]


def _heavy_rain_levels(name: str) -> dict[str, int]:
    """Each municipality's 大雨 (浸水) level: the highest 大雨 kind in force (土砂 apart)."""
    read = parsing.parse(validated(sample(name)))
    levels: dict[str, int] = {}
    for item in read.items:
        if item.in_force and "大雨" in item.name and item.level:
            levels[item.area_name] = max(levels.get(item.area_name, 0), item.level)
    return levels


def test_h27_and_r06_telegrams_of_the_same_shimane_event_give_the_same_levels():
    h27, r06 = _heavy_rain_levels(jma.SHIMANE_H27), _heavy_rain_levels(jma.SHIMANE_R06_RAIN)
    assert h27 == r06
    assert h27["松江市"] == 3 and h27["奥出雲町"] == 2 and "隠岐の島町" not in h27
    assert len(h27) == 15  # the four 隠岐 islands have no 大雨 kind in either


def test_r06_states_its_levels_in_jma_s_words():
    read = parsing.parse(validated(sample(jma.SHIMANE_R06_LANDSLIDE)))
    unnan = [i for i in read.items if i.area_name == "雲南市"]
    assert [(i.name, i.level, i.level_words) for i in unnan] == [
        ("レベル４土砂災害危険警報", 4, "警戒レベル４相当")
    ]


# Storing and applying


@pytest.mark.django_db(transaction=True)
def test_every_sample_in_any_order_and_twice_gives_the_same_state():
    names = list(jma.NAMES)
    for name in names:
        assert services.ingest(sample(name), source="test").created
    expected = in_force()
    assert expected == [("座間市", "強風注意報", ""), ("座間市", "震度２", "2")]
    CityWarning.objects.all().delete()
    Telegram.objects.all().delete()
    random.Random(18).shuffle(names)
    for name in names + names:  # the second round is all replays
        services.ingest(sample(name), source="test")
    assert in_force() == expected
    assert Telegram.objects.count() == len(jma.NAMES)


def test_a_replay_with_the_same_event_and_serial_changes_nothing(db, published):
    first = services.ingest(sample(jma.QUAKE_DETAIL))
    resent = sample(
        jma.QUAKE_DETAIL, ("<DateTime>2008-06-13T23:53:02Z", "<DateTime>2008-06-13T23:53:02Z ")
    )
    again = services.ingest(resent)
    assert first.created and not again.created
    assert again.telegram.pk == first.telegram.pk
    assert len(published("jma.warnings")) == 1
    assert len(published("jma.telegram")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_replay_outside_any_transaction_rolls_back_and_answers_the_stored_one(published):
    first = services.ingest(sample(jma.QUAKE_DETAIL))
    resent = sample(
        jma.QUAKE_DETAIL, ("<DateTime>2008-06-13T23:53:02Z", "<DateTime>2008-06-13T23:53:02Z ")
    )
    again = services.ingest(resent)  # its own transaction: the insert fails, all rolls back
    assert not again.created and again.telegram.pk == first.telegram.pk
    assert Telegram.objects.count() == 1 and CityWarning.objects.count() == 1
    assert services.ingest(resent).telegram.pk == first.telegram.pk  # and again, usable
    assert len(published("jma.warnings")) == 1


def test_out_of_order_serials_end_in_jma_s_latest_state(db, settings):
    settings.JMA_AREA_CODES = [ODAWARA]
    one, two, three = (sample(n) for n in jma.KANAGAWA_LANDSLIDE)
    services.ingest(three)  # 解除 arrives first
    services.ingest(one)
    services.ingest(two)
    assert in_force() == []
    CityWarning.objects.all().delete()
    Telegram.objects.all().delete()
    services.ingest(two)
    assert in_force() == [("小田原市", "警戒", "警戒レベル４相当")]
    since = CityWarning.objects.get().since
    services.ingest(one)  # older: changes nothing, not even since when
    assert in_force() == [("小田原市", "警戒", "警戒レベル４相当")]
    assert CityWarning.objects.get().telegram.serial == 2
    assert CityWarning.objects.get().since == since


def test_a_cancellation_withdraws_the_telegram_it_cancels(db, settings, published):
    settings.JMA_AREA_CODES = [ODAWARA, HAKONE]
    one, two = (sample(n) for n in jma.KANAGAWA_LANDSLIDE[:2])
    services.ingest(one)
    assert in_force() == [("小田原市", "警戒", "警戒レベル４相当")]
    second = services.ingest(two).telegram
    assert in_force() == [
        ("小田原市", "警戒", "警戒レベル４相当"),
        ("箱根町", "警戒", "警戒レベル４相当"),
    ]
    cancel = sample(
        jma.KANAGAWA_LANDSLIDE[1],
        ("<InfoType>発表", "<InfoType>取消"),
        ("<Serial>2", "<Serial>3"),
        ("<ReportDateTime>2024-11-02T20:50", "<ReportDateTime>2024-11-02T21:00"),
    )
    services.ingest(cancel)
    second.refresh_from_db()
    assert second.cancelled_by is not None
    # Back to serial 1: 箱根町 was only in the cancelled telegram.
    assert in_force() == [("小田原市", "警戒", "警戒レベル４相当")]
    assert published("jma.telegram")[-1]["info_type"] == "取消"
    assert published("jma.warnings")[-1]["warnings"][0]["area_name"] == "小田原市"


def test_a_cancelled_earthquake_leaves_the_city(db):
    services.ingest(sample(jma.QUAKE_DETAIL))
    assert in_force() == [("座間市", "震度２", "2")]
    services.ingest(
        sample(
            jma.QUAKE_DETAIL,
            ("<InfoType>発表", "<InfoType>取消"),
            ("<Serial>2", "<Serial>3"),
            ("<ReportDateTime>2008-06-14T08:53", "<ReportDateTime>2008-06-14T09:10"),
        )
    )
    assert in_force() == []


def test_drills_are_kept_and_never_applied(db):
    drill = sample(jma.QUAKE_DETAIL, ("<Status>通常", "<Status>訓練"))
    stored = services.ingest(drill).telegram
    assert stored.status == "訓練"
    assert in_force() == []


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"<html>503 Service Unavailable</html>", "schema"),
        (b"\x00\x01 not xml", "not XML"),
        (
            sample(
                jma.QUAKE_FLASH, ("<ReportDateTime>2010-01-25T16:16:00+09:00</ReportDateTime>", "")
            ),
            "schema",
        ),
    ],
)
def test_a_broken_telegram_is_kept_aside_and_logged_without_a_traceback(
    db, caplog, published, raw, reason
):
    with caplog.at_level(logging.WARNING, logger="disaster.warnings.services"):
        result = services.ingest(raw, source="http://feed.example/x.xml", entry_id="urn:uuid:1")
    assert result.telegram.outcome == Telegram.Outcome.REFUSED
    assert reason in result.telegram.error
    assert bytes(result.telegram.raw) == raw
    (record,) = [r for r in caplog.records if r.name == "disaster.warnings.services"]
    assert record.exc_info is None and "refused" in record.getMessage()
    assert published("jma.telegram")[0]["outcome"] == "refused"
    assert in_force() == []


def test_an_unknown_kind_is_kept_for_its_head_only(db):
    other = sample(
        jma.RECORD_RAIN,
        ("<InfoKind>記録的短時間大雨情報</InfoKind>", "<InfoKind>竜巻注意情報</InfoKind>"),
    )
    stored = services.ingest(other).telegram
    assert stored.outcome == Telegram.Outcome.READ
    assert stored.family == parsing.OTHER and not stored.concerns_city
