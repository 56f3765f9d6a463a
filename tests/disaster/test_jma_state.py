"""What is in force does not depend on the order telegrams arrive in: applying each telegram
as it comes (from it alone when it is the latest of its stream) ends in the state that
ordering every stream again from all its telegrams gives, and the `jma.warnings` events
end in what the panel shows."""

from __future__ import annotations

import random

import pytest

from disaster.warnings import services, state
from disaster.warnings.models import CityWarning, Telegram
from tests.disaster import jma_samples as jma
from tests.disaster.jma_samples import sample

ZAMA, ODAWARA, HAKONE = "1421600", "1420600", "1438200"

LANDSLIDE_CANCELLED = sample(  # withdraws serial 2 (箱根町 and 小田原市), before serial 3
    jma.KANAGAWA_LANDSLIDE[1],
    ("<InfoType>発表", "<InfoType>取消"),
    ("<Serial>2", "<Serial>3"),
    ("<ReportDateTime>2024-11-02T20:50", "<ReportDateTime>2024-11-02T21:00"),
)
QUAKE_CANCELLED = sample(
    jma.QUAKE_DETAIL,
    ("<InfoType>発表", "<InfoType>取消"),
    ("<Serial>2", "<Serial>3"),
    ("<ReportDateTime>2008-06-14T08:53", "<ReportDateTime>2008-06-14T09:10"),
)
ANOTHER_QUAKE = sample(jma.QUAKE_DETAIL, ("<EventID>20080614084350", "<EventID>20080614094350"))
WARNINGS_AN_HOUR_LATER = sample(
    jma.KANAGAWA_WARNINGS,
    ("<ReportDateTime>2016-07-15T16:03", "<ReportDateTime>2016-07-15T17:03"),
)

EVERYTHING = [sample(name) for name in jma.NAMES] + [
    LANDSLIDE_CANCELLED,
    QUAKE_CANCELLED,
    ANOTHER_QUAKE,
    WARNINGS_AN_HOUR_LATER,
]
# Without the 解除 of the landslide series and the cancelled quake, so that what the
# cancellation leaves (serial 1) and the quake stay in force.
STILL_IN_FORCE = [
    raw
    for raw in EVERYTHING
    if raw not in {sample(jma.KANAGAWA_LANDSLIDE[2]), sample(jma.QUAKE_DETAIL), QUAKE_CANCELLED}
]


@pytest.fixture(autouse=True)
def every_family_concerns_the_city(settings):
    settings.JMA_AREA_CODES = [ZAMA, ODAWARA, HAKONE]
    settings.JMA_RIVERS = ["○○川"]
    settings.JMA_REGION_CODES = ["016010"]
    settings.JMA_QUAKE_REGION_CODES = ["771"]


def what_is_in_force() -> set[tuple]:
    """The rows, the telegram deciding each and what each telegram's 取消 withdrew (by the
    telegrams' hashes: ids differ between rounds), leaving out the times of arrival."""
    rows = {
        (w.stream, w.area_code, w.name, w.status, w.level_words, w.intensity, w.telegram.sha256)
        for w in CityWarning.objects.select_related("telegram")
    }
    withdrawn = {
        ("withdrawn", t.sha256, t.cancelled_by.sha256)
        for t in Telegram.objects.filter(cancelled_by__isnull=False).select_related("cancelled_by")
    }
    return rows | withdrawn


def shown(warnings: list[dict]) -> list[dict]:
    return [
        {k: v for k, v in w.items() if k not in {"updated_at", "telegram_id"}} for w in warnings
    ]


def ingested_in(order: list[bytes]) -> set[tuple]:
    CityWarning.objects.all().delete()
    Telegram.objects.all().delete()
    for raw in order:
        services.ingest(raw, source="test")
    return what_is_in_force()


@pytest.mark.parametrize("telegrams", [EVERYTHING, STILL_IN_FORCE], ids=["all", "in_force"])
def test_any_order_of_arrival_ends_in_the_state_a_full_recompute_gives(db, published, telegrams):
    expected = ingested_in(telegrams)
    landslide = {row[1] for row in expected if str(row[0]).endswith("神奈川県土砂災害警戒情報")}
    assert landslide == ({ODAWARA} if telegrams is STILL_IN_FORCE else set())
    shuffled = [random.Random(seed).sample(telegrams, len(telegrams)) for seed in range(4)]
    for order in [telegrams[::-1], *shuffled]:
        assert ingested_in(order) == expected
        assert shown(published("jma.warnings")[-1]["warnings"]) == shown(services.in_force())
        for stream in set(Telegram.objects.values_list("stream", flat=True)):
            assert state.recompute(stream).cancelled_by == {}
        assert what_is_in_force() == expected


def test_a_late_telegram_moves_a_cancellation_to_the_telegram_just_before_it(db):
    one, two = (sample(name) for name in jma.KANAGAWA_LANDSLIDE[:2])
    first = services.ingest(one).telegram
    services.ingest(LANDSLIDE_CANCELLED)  # serial 2 not yet here: withdraws serial 1
    first.refresh_from_db()
    assert first.cancelled_by is not None
    assert not CityWarning.objects.exists()
    second = services.ingest(two).telegram
    first.refresh_from_db()
    assert first.cancelled_by is None and second.cancelled_by_id is not None
    assert [(w.area_name, w.telegram_id) for w in CityWarning.objects.all()] == [
        ("小田原市", first.pk)
    ]
