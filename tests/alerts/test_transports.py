"""The transports: real twilio and line-bot-sdk code against the loopback fakes."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from alerts.delivery.transports import (
    CONSOLE_ID_PREFIX,
    Pace,
    TransportError,
    send_with_retries,
    send_with_retries_async,
    transport_for,
)
from alerts.providers.console import ConsoleTransport
from alerts.providers.line.transport import Line
from alerts.providers.twilio.transport import TwilioSms

NOW = datetime.now(UTC) - timedelta(minutes=1)


def key() -> str:
    return str(uuid.uuid4())


def send_on_a_loop(transport, to, text, **kwargs):
    """send_with_retries_async as a fan-out's event loop runs it, inside `opened()`."""

    async def run():
        async with transport.opened(4):
            return await send_with_retries_async(transport, to, text, **kwargs)

    return asyncio.run(run())


@pytest.fixture(params=["threads", "event loop"])
def send_sms(request):
    """Each Twilio behaviour holds for both clients: the synchronous one (one per thread)
    and the asynchronous one (the fan-out's event loop)."""
    return send_with_retries if request.param == "threads" else send_on_a_loop


def test_console_is_the_transport_when_no_credentials_are_set(settings):
    settings.TWILIO_ACCOUNT_SID = settings.LINE_CHANNEL_ACCESS_TOKEN = ""
    assert isinstance(transport_for("sms"), ConsoleTransport)
    assert isinstance(transport_for("line"), ConsoleTransport)


def test_without_credentials_and_without_console_delivery_there_is_no_transport(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    settings.ALERTS_CONSOLE_DELIVERY = False

    with pytest.raises(ImproperlyConfigured, match="No credentials for sms"):
        transport_for("sms")


def test_console_marks_what_it_took_as_never_sent():
    provider_id = ConsoleTransport("line").send(["Uabc"], "避難指示", idempotency_key=key())

    assert provider_id.startswith(CONSOLE_ID_PREFIX)


def test_console_logs_no_address(caplog):
    console = ConsoleTransport("sms")
    with caplog.at_level("INFO"):
        console.send(["+819012345678"], "避難指示", idempotency_key=key())
    assert "避難指示" in caplog.text
    assert "+819012345678" not in caplog.text
    assert console.outbox == [(("+819012345678",), "避難指示")]


def test_configured_credentials_pick_the_providers(fake_twilio, fake_line):
    assert isinstance(transport_for("sms"), TwilioSms)
    assert isinstance(transport_for("line"), Line)


def test_twilio_sends_with_a_status_callback_and_returns_the_sid(fake_twilio, send_sms):
    sent_key = key()
    accepted = send_sms(
        TwilioSms(), ["+819012345678"], "避難指示", idempotency_key=sent_key, since=NOW
    )
    sid = accepted.provider_id
    (message,) = fake_twilio.messages
    assert sid == message["sid"] and sid.startswith("SM")
    assert message["to"] == "+819012345678" and message["body"] == "避難指示"
    assert message["status_callback"].endswith(f"/hooks/twilio/status?key={sent_key}")
    assert message["validity_period"]


def test_twilio_invalid_number_is_permanent_and_not_retried(fake_twilio, send_sms):
    fake_twilio.invalid_numbers.add("+819000000000")
    with pytest.raises(TransportError) as raised:
        send_sms(TwilioSms(), ["+819000000000"], "x", idempotency_key=key(), since=NOW)
    assert raised.value.permanent and "21211" in raised.value.message
    assert fake_twilio.requests == 1


def test_twilio_429_waits_at_least_retry_after(fake_twilio, send_sms):
    fake_twilio.faults.retry_after = "1"
    fake_twilio.faults.plan("429")
    started = time.monotonic()
    accepted = send_sms(TwilioSms(), ["+819012345678"], "x", idempotency_key=key(), since=NOW)
    assert time.monotonic() - started >= 1.0
    assert accepted.attempts == 2 and len(fake_twilio.messages) == 1


def test_twilio_500_and_a_dropped_connection_are_retried(fake_twilio, send_sms):
    fake_twilio.faults.plan("500", "drop")
    accepted = send_sms(TwilioSms(), ["+819012345678"], "x", idempotency_key=key(), since=NOW)
    assert accepted.attempts == 3
    assert fake_twilio.accepted() == {("+819012345678", "x"): 1}


def test_twilio_answer_lost_after_acceptance_is_found_not_resent(fake_twilio, send_sms):
    fake_twilio.faults.plan("lost")
    accepted = send_sms(
        TwilioSms(), ["+819012345678"], "安否確認", idempotency_key=key(), since=NOW
    )
    (message,) = fake_twilio.messages
    assert accepted.provider_id == message["sid"]


def test_attempts_are_bounded(fake_twilio, send_sms):
    fake_twilio.faults.plan(*["500"] * 10)
    with pytest.raises(TransportError) as raised:
        send_sms(TwilioSms(), ["+819012345678"], "x", idempotency_key=key(), since=NOW, attempts=3)
    assert not raised.value.permanent
    assert fake_twilio.requests == 3 and not fake_twilio.messages


def test_on_one_loop_a_429_holds_back_only_the_refused_send(fake_twilio, settings):
    """Eight sends in flight on one event loop: the one refused waits the Retry-After of
    its own answer and is sent once; the other seven go through at their first try."""
    settings.ALERTS_RETRY_BASE_S = 0.01
    fake_twilio.faults.retry_after = "1"
    fake_twilio.faults.plan("429")
    transport = TwilioSms()

    async def timed(number):
        started = time.monotonic()
        accepted = await send_with_retries_async(
            transport, [number], "x", idempotency_key=key(), since=NOW
        )
        return accepted.attempts, time.monotonic() - started

    async def run():
        async with transport.opened(8):
            return await asyncio.gather(*(timed(f"+81901234{i:04d}") for i in range(8)))

    results = asyncio.run(run())
    (refused,) = [seconds for attempts, seconds in results if attempts == 2]
    assert refused >= 1.0
    assert sorted(attempts for attempts, _ in results) == [1] * 7 + [2]
    assert len(fake_twilio.messages) == 8


def test_line_multicasts_with_the_retry_key(fake_line):
    users = [f"U{i:032x}" for i in range(500)]
    Line().send(users, "避難指示", idempotency_key=key())
    assert fake_line.batches == [500]
    assert set(fake_line.accepted()) == {(u, "避難指示") for u in users}


def test_line_retry_after_a_lost_answer_is_not_delivered_twice(fake_line):
    fake_line.faults.plan("lost", "slow")
    users = ["U" + "a" * 32, "U" + "b" * 32]
    accepted = send_with_retries(Line(), users, "x", idempotency_key=key(), since=NOW)
    assert accepted.attempts == 2
    assert fake_line.accepted() == {(users[0], "x"): 1, (users[1], "x"): 1}


def test_line_429_honours_retry_after_and_4xx_is_final(fake_line):
    fake_line.faults.retry_after = "1"
    fake_line.faults.plan("429")
    started = time.monotonic()
    send_with_retries(Line(), ["U" + "c" * 32], "x", idempotency_key=key(), since=NOW)
    assert time.monotonic() - started >= 1.0
    fake_line.refused.add("U" + "d" * 32)
    with pytest.raises(TransportError) as raised:
        send_with_retries(Line(), ["U" + "d" * 32], "x", idempotency_key=key(), since=NOW)
    assert raised.value.permanent and fake_line.requests == 3


def test_pace_gives_each_request_the_next_slot_and_a_429_pushes_them_all_back():
    now = [100.0]
    waited: list[float] = []
    pace = Pace(clock=lambda: now[0])
    for _ in range(3):
        pace.wait(10, sleep=waited.append)
    assert waited == pytest.approx([0.1, 0.2])  # the first goes at once
    now[0] += 0.3  # the schedule has caught up with the clock
    pace.hold(2.0)
    pace.wait(10, sleep=waited.append)
    assert waited[-1] == pytest.approx(2.0)


def test_a_line_429_pauses_the_next_request_for_its_retry_after(fake_line):
    fake_line.faults.retry_after = "0.5"
    fake_line.faults.plan("429")
    with pytest.raises(TransportError):
        Line().send(["U" + "a" * 32], "x", idempotency_key=key())
    started = time.monotonic()
    Line().send(["U" + "b" * 32], "x", idempotency_key=key())  # another thread's, say
    assert time.monotonic() - started >= 0.45
    assert fake_line.accepted() == {("U" + "b" * 32, "x"): 1}
