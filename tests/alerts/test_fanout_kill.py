"""A worker SIGKILLed mid-send: its supervisor starts it again, the job it was running is
found by its heartbeat and retried, and the alert finishes with no recipient skipped and
none sent twice (as the fake providers saw it). Nothing here restarts the job."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from alerts.lifecycle import SEND_ALERT, defer_sending
from alerts.models import Alert, Delivery
from tests.alerts.delivery_helpers import city_alert, many
from tests.alerts.worker_process import (
    database_url,
    kill_worker,
    stack_env,
    supervised_worker,
    wait_for,
    worker_pid,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_jobs_nor_workers"),
]


@pytest.mark.parametrize("during", ["sms", "line"])
def test_a_worker_killed_mid_send_is_recovered_and_sends_everyone_exactly_once(
    fake_line, fake_twilio, during
):
    users, phones = many(line=1000, sms=300, both=100)
    fake_twilio.latency_s = 0.02  # keep requests in flight
    # LINE: accepts at once and answers late, so the kill lands after LINE took the
    # multicasts and before we heard: the recovered job must not deliver those again.
    fake_line.answer_latency_s = 1.0 if during == "line" else 0.0
    with transaction.atomic():
        alert = city_alert()
        defer_sending(alert)
    env = stack_env(database_url(connection.settings_dict), fake_line, fake_twilio)

    with supervised_worker(env) as supervisor:
        if during == "sms":
            wait_for(lambda: len(fake_twilio.messages) >= 100, 120, "100 SMS sent")
        else:
            wait_for(lambda: len(fake_line.deliveries) >= 500, 120, "500 LINE sent")
        killed = kill_worker(supervisor)
        in_flight = Delivery.objects.filter(alert=alert, status="sending", channel=during).count()
        assert in_flight > 0  # killed with requests claimed and not yet recorded
        if during == "sms":
            assert 0 < len(fake_twilio.messages) < len(phones)
        else:
            assert len(fake_line.deliveries) > 0 and not fake_twilio.messages
        sent_before = len(fake_twilio.messages) + len(fake_line.deliveries)

        job = ProcrastinateJob.objects.filter(task_name=SEND_ALERT)
        wait_for(lambda: job.get().status == "succeeded", 120, "the job done")
        assert worker_pid(supervisor) != killed  # started again by its supervisor

    line = fake_line.accepted()
    assert sorted(u for u, _ in line) == sorted(users) and set(line.values()) == {1}
    sms = fake_twilio.accepted()
    assert sorted(to for to, _ in sms) == sorted(phones) and set(sms.values()) == {1}
    assert sent_before < len(fake_twilio.messages) + len(fake_line.deliveries)
    if during == "line":
        assert fake_line.replayed > 0  # the recovered job reused the keys and LINE said 409
    statuses = set(Delivery.objects.filter(alert=alert).values_list("status", flat=True))
    assert statuses == {"sent"}
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.SENT
    assert job.get().attempts >= 1  # retried by the recovery
