"""A fan-out worker SIGKILLed mid-send and restarted finishes the alert: no recipient
skipped, none sent twice (as the fake providers saw it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from alerts.models import Delivery
from tests.alerts.delivery_helpers import city_alert, many

pytestmark = pytest.mark.django_db(transaction=True)

RUN_JOB = "import django; django.setup(); from alerts.delivery.fanout import send; send({})"


def job(alert_id: int, fake_line, fake_twilio) -> subprocess.Popen:
    """The fan-out in a process of its own, against this test's database and fakes."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "disaster.settings",
        "DATABASE_URL": "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
            **connection.settings_dict
        ),
        "SECRET_KEY": "test",
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": settings.TWILIO_FROM_NUMBER,
        "TWILIO_BASE_URL": fake_twilio.url,
        "LINE_CHANNEL_ACCESS_TOKEN": fake_line.access_token,
        "LINE_API_BASE_URL": fake_line.url,
    }
    return subprocess.Popen(
        [sys.executable, "-c", RUN_JOB.format(alert_id)], env=env, cwd=settings.BASE_DIR
    )


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.mark.parametrize("during", ["sms", "line"])
def test_a_worker_killed_mid_send_and_restarted_sends_everyone_exactly_once(
    fake_line, fake_twilio, during
):
    users, phones = many(line=1000, sms=300, both=100)
    fake_twilio.latency_s = 0.02  # keep requests in flight
    # LINE: accepts at once and answers late, so the kill lands after LINE took the
    # multicasts and before we heard: the restart must not deliver those batches again.
    fake_line.answer_latency_s = 1.0 if during == "line" else 0.0
    alert = city_alert()

    first = job(alert.pk, fake_line, fake_twilio)
    if during == "sms":
        wait_for(lambda: len(fake_twilio.messages) >= 100)
    else:
        wait_for(lambda: len(fake_line.deliveries) >= 500)
    first.send_signal(signal.SIGKILL)
    first.wait()
    in_flight = Delivery.objects.filter(alert=alert, status="sending", channel=during).count()
    assert in_flight > 0  # killed with requests claimed and not yet recorded
    if during == "sms":
        assert 0 < len(fake_twilio.messages) < len(phones)
    else:
        assert len(fake_line.deliveries) > 0 and not fake_twilio.messages
    sent_before = len(fake_twilio.messages) + len(fake_line.deliveries)

    second = job(alert.pk, fake_line, fake_twilio)
    assert second.wait(timeout=120) == 0

    line = fake_line.accepted()
    assert sorted(u for u, _ in line) == sorted(users) and set(line.values()) == {1}
    sms = fake_twilio.accepted()
    assert sorted(to for to, _ in sms) == sorted(phones) and set(sms.values()) == {1}
    assert sent_before < len(fake_twilio.messages) + len(fake_line.deliveries)
    if during == "line":
        assert fake_line.replayed > 0  # the restart reused the keys and LINE said 409
    statuses = set(Delivery.objects.filter(alert=alert).values_list("status", flat=True))
    assert statuses == {"sent"}
