"""The worker sends an alert the same with or without a connection pool (DB_POOL_SIZE, as
an operator who exported it for the web process gives it to the worker too): with a pool of
two, smaller than the sending threads, and two sending processes (the helper is forked with
the parent's pool in its memory), everyone gets it exactly once and the alert is sent."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from alerts.lifecycle import defer_sending
from alerts.models import Alert
from tests.alerts.delivery_helpers import city_alert, many
from tests.alerts.worker_process import database_url, stack_env, supervised_worker, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_jobs_nor_workers"),
]


@pytest.mark.parametrize("pool", ["0", "2"])
def test_a_worker_with_or_without_a_pool_sends_everyone_exactly_once(fake_line, fake_twilio, pool):
    users, phones = many(line=300, sms=600, both=100)
    fake_twilio.latency_s = 0.01
    with transaction.atomic():
        alert = city_alert()
        defer_sending(alert)
    env = stack_env(
        database_url(connection.settings_dict),
        fake_line,
        fake_twilio,
        DB_POOL_SIZE=pool,
        ALERTS_SEND_PROCESSES="2",
        ALERTS_SEND_THREADS="8",
    )

    with supervised_worker(env):
        wait_for(
            lambda: Alert.objects.get(pk=alert.pk).status == Alert.Status.SENT,
            90,
            "the alert sent",
        )

    line = fake_line.accepted()
    assert sorted(u for u, _ in line) == sorted(users) and set(line.values()) == {1}
    sms = fake_twilio.accepted()
    assert sorted(to for to, _ in sms) == sorted(phones) and set(sms.values()) == {1}
