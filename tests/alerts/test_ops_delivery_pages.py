"""Per-recipient delivery for staff ("did my mother get the order?"): each recipient with
channel, status, provider id, attempts and last error, the unreached first, searchable by
number or name, exportable as CSV; staff only, every look audited. And the need-help list
with who has been reached."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from alerts.delivery import safety
from alerts.models import Delivery, SafetyAnswer
from disaster.core.models import AuditEntry
from tests.alerts.delivery_helpers import city_alert, subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_alert():
    """An alert with four deliveries: delivered, failed, queued and sent (SMS, no receipt)."""
    alert = city_alert()
    people = [
        ("山田 花子", "+819011112222", Delivery.Status.DELIVERED, "SM1", ""),
        ("鈴木 一郎", "+819033334444", Delivery.Status.FAILED, "SM2", "30003 Unreachable"),
        ("佐藤 次郎", "+819055556666", Delivery.Status.QUEUED, "", ""),
        ("田中 三郎", "+819077778888", Delivery.Status.SENT, "SM4", ""),
    ]
    for name, phone, status, provider_id, error in people:
        person = subscriber(phone=phone)
        person.name = name
        person.save(update_fields=["name"])
        Delivery.objects.create(
            alert=alert,
            subscriber=person,
            channel="sms",
            status=status,
            provider_id=provider_id,
            attempts=3 if error else 1,
            last_error=error,
        )
    return alert


NAMES = ("鈴木 一郎", "佐藤 次郎", "田中 三郎", "山田 花子")


def names_in_order(page: str) -> list[str]:
    """The recipients' names as the page lists them, top to bottom."""
    return [name for _at, name in sorted((page.index(n), n) for n in NAMES if n in page)]


def test_the_unreached_come_first_with_what_went_wrong(session_as, ops_user, sent_alert):
    page = session_as(ops_user).get(f"/ops/alerts/{sent_alert.pk}/deliveries/").content.decode()

    assert names_in_order(page) == ["鈴木 一郎", "佐藤 次郎", "田中 三郎", "山田 花子"]
    assert "30003 Unreachable" in page and "SM2" in page


@pytest.mark.parametrize("typed", ["090-3333-4444", "09033334444", "+81 90 3333 4444", "鈴木"])
def test_a_recipient_is_found_by_number_however_written_or_by_name(
    session_as, ops_user, sent_alert, typed
):
    page = (
        session_as(ops_user)
        .get(f"/ops/alerts/{sent_alert.pk}/deliveries/", {"q": typed})
        .content.decode()
    )

    assert names_in_order(page) == ["鈴木 一郎"]


def test_the_csv_lists_every_recipient_unreached_first_and_the_export_is_audited(
    session_as, ops_user, sent_alert
):
    response = session_as(ops_user).get(f"/ops/alerts/{sent_alert.pk}/deliveries.csv")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["name"], r["status"], r["reached"]) for r in rows] == [
        ("鈴木 一郎", "failed", "no"),
        ("佐藤 次郎", "queued", "no"),
        ("田中 三郎", "sent", "no"),
        ("山田 花子", "delivered", "yes"),
    ]
    assert rows[0]["phone"] == "+819033334444" and rows[0]["last_error"] == "30003 Unreachable"
    entry = AuditEntry.objects.get(action="delivery.export")
    assert (entry.actor_name, entry.target_id, entry.after["rows"]) == (
        ops_user.username,
        str(sent_alert.pk),
        4,
    )


def test_only_the_unreached_can_be_exported_for_calling(session_as, ops_user, sent_alert):
    response = session_as(ops_user).get(
        f"/ops/alerts/{sent_alert.pk}/deliveries.csv", {"status": "unreached"}
    )

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["鈴木 一郎", "佐藤 次郎", "田中 三郎"]


def test_looking_at_deliveries_is_audited_without_the_number_searched(
    session_as, ops_user, sent_alert
):
    session_as(ops_user).get(f"/ops/alerts/{sent_alert.pk}/deliveries/", {"q": "09033334444"})

    entry = AuditEntry.objects.get(action="delivery.view")
    assert entry.after == {"searched": True, "page": 1}
    assert "3333" not in str(entry.after)


def test_shelter_managers_and_visitors_never_see_deliveries(
    session_as, manager_user, client, sent_alert
):
    url = f"/ops/alerts/{sent_alert.pk}/deliveries.csv"

    assert session_as(manager_user).get(url).status_code == 403
    assert client.get(url).status_code == 302  # to the login page
    assert not AuditEntry.objects.filter(action="delivery.export").exists()


def test_need_help_lists_the_unreached_first_and_records_who_reached_them(
    session_as, ops_user, sent_alert
):
    first, second = (subscriber(phone=p) for p in ("+819012120000", "+819034340000"))
    first.name, second.name = "高橋 ハナ", "伊藤 タロウ"
    first.save(), second.save()
    early = SafetyAnswer.objects.create(alert=sent_alert, subscriber=first, answer="need_help")
    late = SafetyAnswer.objects.create(alert=sent_alert, subscriber=second, answer="need_help")
    client = session_as(ops_user)

    missing_note = client.post(f"/ops/need-help/{early.pk}/reached", {f"{early.pk}-note": ""})
    assert missing_note.status_code == 422
    assert "どう連絡が取れたかを書いてください。" in missing_note.content.decode()

    client.post(
        f"/ops/need-help/{early.pk}/reached", {f"{early.pk}-note": "電話で確認、消防が向かう"}
    )

    early.refresh_from_db()
    assert (early.reached_by, early.reach_note) == (ops_user, "電話で確認、消防が向かう")
    page = client.get("/ops/need-help/").content.decode()
    assert page.index("伊藤 タロウ") < page.index("高橋 ハナ")  # the one nobody reached first
    assert "tel:+819034340000" in page
    assert AuditEntry.objects.filter(
        action="safety_answer.reached", target_id=str(early.pk)
    ).exists()
    # Asking for help again is a new call for help.

    sent_alert.asks_safety = True
    sent_alert.sent_at = timezone.now()
    sent_alert.status = "sent"
    sent_alert.save()
    Delivery.objects.create(alert=sent_alert, subscriber=first, channel="sms", status="delivered")
    safety.answer(first, sent_alert.pk, "need_help")
    early.refresh_from_db()
    assert early.reached_at is None and early.reach_note == ""
    assert late.reached_at is None
