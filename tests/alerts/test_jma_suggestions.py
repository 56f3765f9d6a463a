"""What the city's rule table suggests for JMA's telegrams: staffing, call-up, shelters, a
drafted alert that two people must agree on, an incident for an earthquake in the city; and
suggestions withdrawn when JMA lifts (解除) or cancels (取消) what caused them."""

from __future__ import annotations

import pytest

from alerts.authoring import services, suggestions
from alerts.authoring.versions import FourEyes
from alerts.models import Alert, Suggestion
from disaster.core.models import Incident, Staffing
from disaster.core.roles import Role
from disaster.warnings import services as warnings
from shelters.models import Shelter
from tests.alerts.review import approve
from tests.disaster import jma_samples as jma
from tests.disaster.jma_samples import sample

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rule_table")]

ODAWARA = "1420600"
LIFTED = "解除されました"


def telegram(raw: bytes) -> list[Suggestion]:
    """Take a telegram in and run what the worker runs after it."""
    return suggestions.act_on(warnings.ingest(raw).telegram.pk)


def landslide(serial: int) -> bytes:
    return sample(jma.KANAGAWA_LANDSLIDE[serial - 1])


@pytest.fixture
def odawara(settings):
    settings.JMA_AREA_CODES = [ODAWARA]


@pytest.fixture
def ops2(make_user):
    return make_user("ops2", Role.OPERATIONS)


def test_a_landslide_warning_suggests_emergency_staffing_and_a_draft_by_nobody(odawara, published):
    (made,) = telegram(landslide(1))
    assert made.rule.name == "土砂災害警戒情報（警戒レベル４相当）"
    assert made.staffing == Staffing.EMERGENCY and made.call_up and made.hazard == "landslide"
    assert made.summary.startswith("小田原市に警戒（警戒レベル４相当） 11/02 18:50 気象庁発表")
    assert made.telegram.serial == 1  # the telegram that caused it
    alert = made.alert
    assert alert.status == Alert.Status.DRAFT and alert.drafted_by is None
    assert alert.kind == Alert.Kind.EVACUATION_4 and alert.whole_city
    assert alert.title_ja == "避難指示（土砂災害）"
    assert "気象庁の発表: 小田原市に警戒（警戒レベル４相当）" in alert.body_ja
    assert published("suggestion.changed")[0]["telegram"]["id"] == made.telegram_id
    assert telegram(landslide(2)) == []  # still in force: nothing new
    assert suggestions.act_on(made.telegram_id) == []  # the job run twice: nothing new


def test_zama_is_not_triggered_by_the_kanagawa_landslide_series():
    for serial in (1, 2, 3):
        assert telegram(landslide(serial)) == []
    assert not Suggestion.objects.exists() and not Alert.objects.exists()


def test_lifting_withdraws_the_open_suggestion_and_the_machine_s_draft(odawara):
    (made,) = telegram(landslide(1))
    telegram(landslide(2))
    telegram(landslide(3))  # 解除
    made.refresh_from_db()
    assert made.status == Suggestion.Status.WITHDRAWN and made.reason == LIFTED
    assert made.alert.status == Alert.Status.CANCELLED


def test_a_cancellation_withdraws_its_suggestions(odawara):
    (made,) = telegram(landslide(1))
    cancel = sample(
        jma.KANAGAWA_LANDSLIDE[0],
        ("<InfoType>発表", "<InfoType>取消"),
        ("<Serial>1", "<Serial>2"),
        ("<ReportDateTime>2024-11-02T18:50", "<ReportDateTime>2024-11-02T19:00"),
    )
    telegram(cancel)
    made.refresh_from_db()
    assert made.status == Suggestion.Status.WITHDRAWN
    assert made.reason == "気象庁が取り消しました"
    assert made.alert.status == Alert.Status.CANCELLED


def test_the_machine_s_draft_needs_one_person_to_adopt_it_and_another_to_approve(
    odawara, ops_user, ops2
):
    (made,) = telegram(landslide(1))
    alert = made.alert
    with pytest.raises(FourEyes) as nobody_adopted:
        approve(ops_user, alert)
    assert nobody_adopted.value.extra["reason"] == "needs_adoption"
    suggestions.adopt(ops_user, made.pk, alert.version)
    with pytest.raises(FourEyes):
        approve(ops_user, alert)  # who adopted it may not approve it
    approved = approve(ops2, alert)
    assert approved.status == Alert.Status.APPROVED and approved.approved_by == ops2
    assert Alert.objects.get(pk=alert.pk).drafted_by == ops_user


def test_dismissing_withdraws_the_draft(odawara, ops_user):
    (made,) = telegram(landslide(1))
    suggestions.dismiss(ops_user, made.pk)
    assert Alert.objects.get(pk=made.alert_id).status == Alert.Status.CANCELLED
    with pytest.raises(services.Conflict):
        suggestions.adopt(ops_user, made.pk, 1)


def strong_quake_in_zama() -> bytes:
    return sample(
        jma.QUAKE_DETAIL,
        (
            "<City><Name>座間市</Name><Code>1421600</Code><MaxInt>2</MaxInt>",
            "<City><Name>座間市</Name><Code>1421600</Code><MaxInt>5-</MaxInt>",
        ),
    )


def test_an_intensity_5_lower_in_the_city_opens_an_incident_and_suggests_shelters(
    shelter, ops_user
):
    assert shelter.status == Shelter.Status.CLOSED and "earthquake" in shelter.hazards
    (made,) = telegram(strong_quake_in_zama())
    assert made.rule.name == "市内で震度５弱以上"
    assert made.staffing == Staffing.EMERGENCY
    incident = made.incident
    assert incident.kind == Incident.Kind.EARTHQUAKE and incident.phase == Incident.Phase.WATCH
    assert "座間市で震度５弱" in incident.name
    assert made.shelter_ids == [shelter.pk]
    suggestions.open_shelters(ops_user, made.pk)
    shelter.refresh_from_db()
    assert shelter.status == Shelter.Status.PREPARING


def test_an_intensity_2_suggests_nothing():
    assert telegram(sample(jma.QUAKE_DETAIL)) == []


def test_the_rule_table_is_edited_in_the_admin_and_every_change_is_audited(admin_user):
    from django.test import Client

    from alerts.models import SuggestionRule
    from disaster.core.models import AuditEntry

    rule = SuggestionRule.objects.get(name="市内で震度４")
    client = Client()
    client.force_login(admin_user)
    assert client.get("/admin/alerts/suggestionrule/").status_code == 200
    page = client.get(f"/admin/alerts/suggestionrule/{rule.pk}/change/")
    assert page.status_code == 200 and "震度（以上）" in page.content.decode()
    form = {
        "name": rule.name,
        "active": "on",
        "family": "quake",
        "min_intensity": "3",
        "max_intensity": "4",
        "staffing": "alert",
        "call_up": "on",
        "alert_whole_city": "on",
    }
    changed = client.post(f"/admin/alerts/suggestionrule/{rule.pk}/change/", form)
    assert changed.status_code == 302, changed.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.min_intensity == "3"
    entry = AuditEntry.objects.get(action="suggestionrule.change")
    assert entry.before["min_intensity"] == "4" and entry.after["min_intensity"] == "3"
