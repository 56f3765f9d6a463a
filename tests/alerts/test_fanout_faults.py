"""Fault injection: 30% of provider calls fail in mixed ways; every recipient still ends
with exactly one accepted send per channel."""

from __future__ import annotations

import pytest

from alerts.delivery import fanout
from alerts.models import Delivery
from tests.alerts.delivery_helpers import city_alert, many

pytestmark = pytest.mark.django_db(transaction=True)


def test_thirty_percent_mixed_failures_still_deliver_each_recipient_exactly_once(
    fake_line, fake_twilio, settings
):
    settings.ALERTS_SEND_ATTEMPTS = 12  # 0.3^12: a recipient running out of tries is ~never
    settings.ALERTS_HTTP_TIMEOUT_S = 1.0
    settings.ALERTS_SEND_LINE_BATCH = 10  # several multicasts, so LINE meets faults too
    for fake in (fake_line, fake_twilio):
        fake.faults.mix(0.3)  # 429 + Retry-After, 500, slow, dropped, lost answers
        fake.faults.slow_s = 0.2
    users, phones = many(line=400, sms=200, both=100)
    alert = city_alert()
    fanout.send(alert.pk)

    line = fake_line.accepted()
    assert sorted(u for u, _ in line) == sorted(users) and set(line.values()) == {1}
    sms = fake_twilio.accepted()
    assert sorted(to for to, _ in sms) == sorted(phones) and set(sms.values()) == {1}
    for fake in (fake_line, fake_twilio):
        assert set(fake.faults.injected) == {"429", "500", "slow", "drop", "lost"}
    statuses = set(Delivery.objects.filter(alert=alert).values_list("status", flat=True))
    assert statuses == {"sent"}
    retried = Delivery.objects.filter(alert=alert, attempts__gt=1).count()
    assert retried > 0
