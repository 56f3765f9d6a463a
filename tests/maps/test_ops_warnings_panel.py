"""The warnings panel of /ops/ and the public map: the snapshot carries what JMA says is in
force for the city and the telegrams behind it; the `jma.*` events carry exactly what a
snapshot taken afterwards shows (so snapshot + events = state, as in Zulip's verify_action);
the public list names its source, 出典：気象庁."""

from __future__ import annotations

import pytest
from django.test import Client

from disaster.warnings import services
from tests.disaster import jma_samples as jma
from tests.disaster.jma_samples import sample
from tests.maps.test_views import ops_state

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rule_table")]


def test_the_snapshot_plus_the_events_equal_the_snapshot_after(session_as, ops_user, published):
    client = session_as(ops_user)
    before = ops_state(client.get("/ops/"))
    assert before["warnings"] == [] and before["warning_timeline"] == []

    services.ingest(sample(jma.KANAGAWA_WARNINGS))
    services.ingest(sample(jma.QUAKE_DETAIL))

    after = ops_state(client.get("/ops/"))
    assert published("jma.warnings")[-1]["warnings"] == after["warnings"]
    timeline = {t["id"]: t for t in published("jma.telegram")}
    assert sorted(timeline) == sorted(t["id"] for t in after["warning_timeline"])
    names = [(w["area_name"], w["name"]) for w in after["warnings"]]
    assert names == [("座間市", "強風注意報"), ("座間市", "震度２")]
    (next_kind,) = after["warnings"][0]["next_kinds"]
    assert next_kind["sentence"] == "１６日明け方までに暴風特別警報に切り替える可能性が高い"


def test_the_ops_page_has_the_panel_with_its_source(session_as, ops_user):
    html = session_as(ops_user).get("/ops/").content.decode()
    assert 'id="warnings-in-force"' in html and "出典：気象庁" in html
    assert "気象庁の警報・注意報（座間市）" in html


def test_the_public_list_is_open_to_all_and_names_its_source():
    services.ingest(sample(jma.KANAGAWA_WARNINGS))
    answer = Client().get("/api/v1/warnings").json()
    assert answer["source"] == "出典：気象庁" and answer["city"] == "座間市"
    assert [(w["name"], w["area_name"]) for w in answer["warnings"]] == [("強風注意報", "座間市")]
    page = Client().get("/map/").content.decode()
    assert 'data-warnings-url="/api/v1/warnings"' in page and "出典：気象庁" in page


def test_staff_read_each_telegram_as_received(api_as, ops_user):
    telegram = services.ingest(sample(jma.QUAKE_DETAIL)).telegram
    client = api_as(ops_user)
    listed = client.get("/api/v1/warnings/telegrams").json()["items"]
    assert [t["id"] for t in listed] == [telegram.pk]
    raw = client.get(f"/api/v1/warnings/telegrams/{telegram.pk}/xml")
    assert raw["Content-Type"] == "application/xml"
    assert raw.content == sample(jma.QUAKE_DETAIL)
    detail = client.get(f"/api/v1/warnings/telegrams/{telegram.pk}").json()
    assert detail["parsed"]["quake"]["cities"]["1421600"] == "2"


def test_suggestions_and_call_ups_in_the_snapshot_are_what_their_events_said(
    session_as, ops_user, published, settings
):
    from alerts.authoring import suggestions

    settings.JMA_AREA_CODES = ["1420600"]
    telegram = services.ingest(sample(jma.KANAGAWA_LANDSLIDE[0])).telegram
    suggestions.act_on(telegram.pk)
    state = ops_state(session_as(ops_user).get("/ops/"))
    (shown,) = state["suggestions"]
    assert shown == published("suggestion.changed")[-1]
    assert shown["telegram"]["id"] == telegram.pk and shown["alert"]["adopted"] is False
    assert state["suggestion_statuses"]["open"] == "提案中"
