"""Fixtures for the alerts tests. Fake providers live in tests/fakes/fixtures.py."""

from tests.fakes.fixtures import fake_line, fake_twilio, fast_retries  # noqa: F401
