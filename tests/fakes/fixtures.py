"""pytest fixtures: the fake providers started per test, with settings pointing at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.providers import FakeLine, FakeTwilio

TWILIO_FROM = "+815000000000"


@pytest.fixture
def fast_retries(settings) -> None:
    """Backoff in milliseconds: the policy is the same, the tests just do not wait long."""
    settings.ALERTS_RETRY_BASE_S = 0.01
    settings.ALERTS_HTTP_TIMEOUT_S = 2.0
    # One sending process inside pytest; the kill test's job subprocess runs the default
    # helper processes.
    settings.ALERTS_SEND_PROCESSES = 1


@pytest.fixture
def fake_twilio(settings, fast_retries) -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID = server.account_sid
    settings.TWILIO_AUTH_TOKEN = server.auth_token
    settings.TWILIO_FROM_NUMBER = TWILIO_FROM
    settings.TWILIO_BASE_URL = server.url
    server.faults.retry_after = "0.05"
    yield server
    server.stop()


@pytest.fixture
def fake_line(settings, fast_retries) -> Iterator[FakeLine]:
    server = FakeLine().start()
    settings.LINE_CHANNEL_ACCESS_TOKEN = server.access_token
    settings.LINE_API_BASE_URL = server.url
    settings.LINE_DATA_BASE_URL = server.url
    settings.LINE_CHANNEL_SECRET = "line-secret"
    server.faults.retry_after = "0.05"
    yield server
    server.stop()
