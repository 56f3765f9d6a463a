"""Fan-out of one alert: real twilio and line-bot-sdk code against the loopback fakes."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from alerts.delivery import fanout
from alerts.jobs import UntilSettled
from alerts.models import Delivery
from tests.alerts.delivery_helpers import city_alert, many, subscriber

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_recipient_gets_one_message_per_channel(fake_line, fake_twilio, published):
    users, phones = many(line=3, sms=3, both=2)
    alert = city_alert()
    fanout.send(alert.pk)
    assert Counter(u for u, _ in fake_line.accepted()) == Counter(users)
    assert all(n == 1 for n in fake_line.accepted().values())
    assert sorted(to for to, _ in fake_twilio.accepted()) == sorted(phones)
    assert all(n == 1 for n in fake_twilio.accepted().values())
    deliveries = Delivery.objects.filter(alert=alert)
    assert deliveries.count() == len(users) + len(phones)
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    sids = {m["sid"] for m in fake_twilio.messages}
    assert set(deliveries.filter(channel="sms").values_list("provider_id", flat=True)) == sids
    alert.refresh_from_db()
    assert alert.status == "sent"


def test_progress_events_carry_counts_and_no_personal_data(fake_line, fake_twilio, published):
    users, phones = many(line=2, sms=2)
    alert = city_alert()
    fanout.send(alert.pk)
    progress = published("alert.delivery_progress")
    assert progress and progress[-1]["finished"]
    assert progress[-1]["sent"] == 4 and progress[-1]["failed"] == 0
    text = json.dumps(progress)
    assert not any(secret in text for secret in users + phones)


def test_line_goes_out_in_multicasts_of_at_most_500(fake_line, fake_twilio):
    many(line=1200)
    fanout.send(city_alert(("line",)).pk)
    assert sorted(fake_line.batches, reverse=True) == [500, 500, 200]
    assert len(fake_line.retry_keys) == 3


def test_running_the_job_again_sends_nothing_more(fake_line, fake_twilio):
    many(line=3, sms=3)
    alert = city_alert()
    fanout.send(alert.pk)
    before = (len(fake_line.deliveries), len(fake_twilio.messages), fake_line.requests)
    fanout.send(alert.pk)
    assert (len(fake_line.deliveries), len(fake_twilio.messages)) == before[:2]
    assert Delivery.objects.filter(alert=alert).count() == 6


def test_an_invalid_number_is_recorded_as_failed_and_not_retried(fake_line, fake_twilio):
    fake_twilio.invalid_numbers.add("+819099999999")
    subscriber(phone="+819099999999")
    subscriber(phone="+819011111111")
    alert = city_alert(("sms",))
    fanout.send(alert.pk)
    failed = Delivery.objects.get(alert=alert, subscriber__phone="+819099999999")
    assert failed.status == "failed" and "21211" in failed.last_error and failed.attempts == 1
    assert fake_twilio.requests == 2


def test_a_refused_line_user_with_a_phone_gets_the_sms(fake_line, fake_twilio):
    fake_line.refused.add("U" + "b" * 32)
    subscriber(line_user_id="U" + "a" * 32)
    subscriber(line_user_id="U" + "b" * 32, phone="+819022222222")
    subscriber(line_user_id="U" + "c" * 32)
    alert = city_alert(("line",))
    fanout.send(alert.pk)
    line = dict(
        Delivery.objects.filter(alert=alert, channel="line").values_list(
            "subscriber__line_user_id", "status"
        )
    )
    assert line == {"U" + "a" * 32: "sent", "U" + "b" * 32: "failed", "U" + "c" * 32: "sent"}
    assert [m["to"] for m in fake_twilio.messages] == ["+819022222222"]
    assert {u for u, _ in fake_line.deliveries} == {"U" + "a" * 32, "U" + "c" * 32}


def test_a_job_that_runs_after_the_alert_expired_sends_nothing_late(fake_line, fake_twilio):
    many(line=2, sms=2)
    alert = city_alert()
    alert.approved_at = timezone.now() - timedelta(minutes=alert.valid_minutes + 1)
    alert.save()

    fanout.send(alert.pk)

    assert not fake_line.deliveries and not fake_twilio.messages
    expired = Delivery.objects.filter(alert=alert)
    assert expired.count() == 4
    assert set(expired.values_list("status", "last_error")) == {
        ("undeliverable", "expired before sending")
    }


def test_a_job_within_the_validity_sends_as_usual(fake_line, fake_twilio):
    many(line=1, sms=1)
    alert = city_alert()
    alert.approved_at = timezone.now() - timedelta(minutes=alert.valid_minutes - 5)
    alert.save()

    fanout.send(alert.pk)

    assert len(fake_line.deliveries) == 1 and len(fake_twilio.messages) == 1


def test_line_requests_keep_under_the_rate_limit(fake_line, settings):
    settings.ALERTS_LINE_MAX_RPS = 20
    settings.ALERTS_SEND_LINE_BATCH = 5
    many(line=40)
    started = time.monotonic()
    fanout.send(city_alert(("line",)).pk)
    elapsed = time.monotonic() - started
    assert fake_line.batches == [5] * 8
    # Eight requests at 20 a second, however many threads send them: 7 gaps of 50 ms.
    assert elapsed >= 7 / 20


def test_sms_an_interrupted_run_left_sending_are_looked_up_not_resent_once_expired(
    fake_line, fake_twilio
):
    from alerts.delivery.transports import transport_for

    sent_before = subscriber(phone="+819011110000")
    never_sent = subscriber(phone="+819022220000")
    alert = city_alert(("sms",))
    alert.approved_at = timezone.now() - timedelta(minutes=alert.valid_minutes + 1)
    alert.save()
    # What a run killed after claiming leaves: both "sending" with their keys; Twilio
    # accepted the first (its answer was lost), never saw the second.
    keys = {}
    for person in (sent_before, never_sent):
        keys[person.pk] = str(uuid.uuid4())
        Delivery.objects.create(
            alert=alert,
            subscriber=person,
            channel="sms",
            status="sending",
            retry_key=keys[person.pk],
        )
    text = fanout.Fanout(alert).text("ja", "sms")
    transport_for("sms").send([sent_before.phone], text, idempotency_key=keys[sent_before.pk])

    fanout.send(alert.pk)

    assert len(fake_twilio.messages) == 1  # nothing sent late
    statuses = dict(Delivery.objects.values_list("subscriber_id", "status"))
    assert statuses == {sent_before.pk: "sent", never_sent.pk: "undeliverable"}


def test_a_second_run_of_the_same_alert_while_one_is_sending_sends_nothing(fake_line, fake_twilio):
    users, phones = many(line=2, sms=2)
    alert = city_alert()
    # The first run holds the alert's lock (as a worker still sending would) ...
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
        autocommit=True,
    ) as first:
        first.execute("SELECT pg_advisory_lock(%s, %s)", [fanout.RUN_LOCK_SPACE, alert.pk])
        # ... so a stalled-job retry of the same alert leaves the work to it.
        with pytest.raises(fanout.AlreadyRunning):
            fanout.send(alert.pk)
        assert not fake_line.accepted() and not fake_twilio.accepted()
        assert not Delivery.objects.filter(alert=alert).exists()
    # The first run's connection is gone (a killed worker's is too): the retry sends.
    fanout.send(alert.pk)
    assert Counter(u for u, _ in fake_line.accepted()) == Counter(users)
    assert sorted(to for to, _ in fake_twilio.accepted()) == sorted(phones)


@pytest.mark.parametrize(("attempts", "wait_s"), [(0, 2), (1, 4), (3, 16), (4, 30), (50, 30)])
def test_an_unfinished_fan_out_is_retried_soon_and_never_more_than_the_cap_apart(
    settings, attempts, wait_s
):
    settings.ALERTS_JOB_RETRY_MAX_S = 30
    before = timezone.now()
    decision = UntilSettled().get_retry_decision(
        exception=fanout.Unfinished(), job=SimpleNamespace(attempts=attempts)
    )
    assert decision is not None and decision.retry_at is not None
    waited = (decision.retry_at - before).total_seconds()
    assert wait_s - 1 < waited <= wait_s + 1


def test_the_retries_stop_at_the_backstop(settings):
    settings.ALERTS_JOB_ATTEMPTS = 5
    job = SimpleNamespace(attempts=5)
    assert UntilSettled().get_retry_decision(exception=fanout.Unfinished(), job=job) is None
