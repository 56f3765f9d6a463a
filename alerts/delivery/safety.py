"""Safety checks (安否確認): an alert may ask its recipients to answer evacuated / safe at
home / need help, by one tap on LINE or a digit or word by SMS. Answers are accepted for
SAFETY_ANSWER_HOURS after the alert went out (a word sent weeks later answers nothing),
counted per district for the operations map, and "need help" is listed for staff.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.delivery import event_kinds as delivery_events
from alerts.models import Alert, SafetyAnswer, Subscriber
from disaster.core.events import publish

SAFETY_WORDS = {
    "evacuated": {"1", "避難", "避難済", "避難した", "evacuated"},
    "safe_at_home": {"2", "自宅", "在宅", "無事", "safe", "home", "safe at home"},
    "need_help": {"3", "助けて", "救助", "help", "need help", "sos"},
}


def kind_of(text: str) -> str | None:
    """The answer a word or digit gives, if it is one."""
    word = re.sub(r"\s+", " ", text.strip().lower())
    for kind, words in SAFETY_WORDS.items():
        if word in words:
            return kind
    return None


def _answerable(subscriber: Subscriber):
    """Alerts sent to this subscriber that ask for an answer and still take one."""
    since = timezone.now() - dt.timedelta(hours=settings.SAFETY_ANSWER_HOURS)
    return (
        Alert.objects.filter(deliveries__subscriber=subscriber, asks_safety=True)
        .exclude(status=Alert.Status.CANCELLED)
        .filter(Q(sent_at__gte=since) | Q(sent_at__isnull=True, approved_at__gte=since))
    )


def open_check(subscriber: Subscriber | None) -> Alert | None:
    """The latest safety check this subscriber may still answer."""
    if subscriber is None:
        return None
    return _answerable(subscriber).order_by("-pk").first()


def answer(subscriber: Subscriber, alert_id: int, kind: str) -> str:
    """Record (or change) one subscriber's answer to one alert and publish the counts."""
    alert = _answerable(subscriber).filter(pk=alert_id).first()
    if alert is None:
        return _("回答できる安否確認がありません。")
    # A new answer starts afresh: "need help" again is a new call for help, even if staff
    # reached the person after the last one.
    fresh = {"answer": kind, "at": timezone.now(), "reached_at": None, "reached_by": None}
    SafetyAnswer.objects.update_or_create(
        alert=alert, subscriber=subscriber, defaults={**fresh, "reach_note": ""}
    )
    publish_counts(alert)
    if kind == "need_help":
        return _("救助が必要との回答を受け付けました。職員が確認します。")
    return _("回答ありがとうございました。")


def counts(alert: Alert) -> list[dict]:
    from alerts.delivery.targeting import safety_answers_by_district

    by_district: dict[int | None, delivery_events.SafetyCounts] = {}
    for district_id, kind, count in safety_answers_by_district(alert):
        counts = by_district.setdefault(
            district_id, delivery_events.SafetyCounts(district_id=district_id)
        )
        setattr(counts, kind, count)
    # Every answer in every district, as the API's schema gives them.
    return [counts.model_dump() for counts in by_district.values()]


def publish_counts(alert: Alert) -> None:
    publish(
        "alert.safety_answers",
        {"alert_id": alert.pk, "drill": alert.is_drill, "by_district": counts(alert)},
    )
