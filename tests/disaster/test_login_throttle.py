"""Staff and admin logins are throttled (django-axes): a run of wrong passwords for one user
from one address locks that pair out for a while, with a message in Japanese."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fixtures.users import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def log_in(username: str, password: str, *, address: str = "198.51.100.10", path="/login/"):
    return Client(REMOTE_ADDR=address).post(
        path, {"username": username, "password": password, "next": "/"}
    )


def test_after_the_limit_even_the_right_password_is_refused_saying_why(ops_user):
    wrong = [log_in("ops", "guess").status_code for _ in range(3)]
    locked = log_in("ops", PASSWORD)

    assert wrong == [200, 200, 429]
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "ログインの失敗が続いたため" in page and "15 分間" in page
    assert "_auth_user_id" not in locked.client.session


def test_the_lockout_is_per_user_and_address(ops_user, admin_user):
    for _ in range(3):
        log_in("ops", "guess")

    assert log_in("ops", PASSWORD, address="198.51.100.11").status_code == 302
    assert log_in("admin", PASSWORD).status_code == 302


def test_a_success_before_the_limit_starts_the_count_afresh(ops_user):
    log_in("ops", "guess")
    log_in("ops", "guess")
    assert log_in("ops", PASSWORD).status_code == 302

    assert [log_in("ops", "guess").status_code for _ in range(2)] == [200, 200]
    assert log_in("ops", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(admin_user):
    for _ in range(3):
        log_in("admin", "guess", path="/admin/login/")

    locked = log_in("admin", PASSWORD, path="/admin/login/")

    assert locked.status_code == 429
    assert "ログインの失敗が続いたため" in locked.content.decode()


def test_forwarded_addresses_from_an_untrusted_peer_do_not_reset_the_count(ops_user, settings):
    settings.TRUSTED_PROXIES = []
    for n in range(3):
        Client(REMOTE_ADDR="198.51.100.12", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").post(
            "/login/", {"username": "ops", "password": "guess"}
        )

    assert log_in("ops", PASSWORD, address="198.51.100.12").status_code == 429
