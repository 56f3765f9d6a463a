"""Subscribers and alerts for the delivery tests, made through the alerts app's own code."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from alerts.models import Alert, Subscriber


def subscriber(line_user_id: str = "", phone: str = "", language: str = "ja") -> Subscriber:
    return Subscriber.objects.create(
        line_user_id=line_user_id or None,
        phone=phone or None,
        phone_confirmed_at=timezone.now() if phone else None,
        language=language,
        consent_method=Subscriber.ConsentMethod.STAFF,
    )


def many(line: int = 0, sms: int = 0, both: int = 0) -> tuple[list[str], list[str]]:
    """Create subscribers in bulk; return (LINE user ids, phone numbers) that should get it."""
    rows, users, phones = [], [], []
    now = timezone.now()
    for i in range(line + sms + both):
        user = f"U{i:032x}" if i < line or i >= line + sms else None
        phone = f"+8190{i:08d}" if i >= line else None
        rows.append(
            Subscriber(
                line_user_id=user,
                phone=phone,
                phone_confirmed_at=now if phone else None,
                language="ja",
                consent_method=Subscriber.ConsentMethod.STAFF,
            )
        )
        if user:
            users.append(user)
        if phone:
            phones.append(phone)
    Subscriber.objects.bulk_create(rows, batch_size=5000)
    return users, phones


def city_alert(channels: tuple[str, ...] = ("line", "sms"), drill: bool = False) -> Alert:
    """An approved alert to the whole city, ready to send."""
    return Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="避難指示",
        body_ja="直ちに避難してください",
        whole_city=True,
        channels=list(channels),
        is_drill=drill,
        status=Alert.Status.APPROVED,
    )


def stuck_alert(minutes: float = 2) -> Alert:
    """An alert "sending" since its approval `minutes` ago, no delivery of it moved since."""
    alert = city_alert(channels=("sms",))
    approved_at = timezone.now() - dt.timedelta(minutes=minutes)
    Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.SENDING, approved_at=approved_at)
    return alert
