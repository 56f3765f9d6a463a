"""A person's own API tokens from a page: created with a name and an expiry (the secret
shown once), last use shown, revoked; an expired token signs nobody in."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from disaster.core.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db


def test_a_token_is_created_with_its_expiry_and_its_secret_is_shown_once(session_as, manager_user):
    client = session_as(manager_user)

    page = client.post("/account/tokens/", {"name": "相模が丘小のタブレット", "expires_in": "30"})

    secret = re.search(r'id="new-token">(sonae_[^<]+)<', page.content.decode()).group(1)
    token = ApiToken.objects.get(user=manager_user)
    assert token.name == "相模が丘小のタブレット"
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(
        minutes=1
    )
    # The secret works, and the page never shows it again.
    me = Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me")
    assert me.json()["username"] == manager_user.username
    assert secret not in client.get("/account/tokens/").content.decode()
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_needs_a_name_said_at_the_field(session_as, ops_user):
    response = session_as(ops_user).post("/account/tokens/", {"name": "", "expires_in": "7"})

    assert response.status_code == 422
    assert 'id="id_name_error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_revoked_token_signs_nobody_in_and_the_revocation_is_audited(session_as, ops_user):
    token, secret = ApiToken.issue(ops_user, "統合システム")
    client = session_as(ops_user)

    client.post(f"/account/tokens/{token.pk}/revoke")

    assert (
        Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me").status_code == 401
    )
    assert AuditEntry.objects.filter(action="token.revoke", target_id=str(token.pk)).exists()
    assert "失効済み" in client.get("/account/tokens/").content.decode()


def test_an_expired_token_signs_nobody_in(ops_user):
    _token, secret = ApiToken.issue(ops_user, "old", timezone.now() - dt.timedelta(seconds=1))

    assert (
        Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me").status_code == 401
    )


def test_someone_elses_token_cannot_be_revoked_from_the_page(session_as, ops_user, manager_user):
    token, _secret = ApiToken.issue(manager_user, "tablet")

    session_as(ops_user).post(f"/account/tokens/{token.pk}/revoke")

    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_api_takes_an_expiry_too(session_as, ops_user):
    client = session_as(ops_user)
    at = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)

    response = client.post(
        "/api/v1/tokens",
        {"name": "cli", "expires_at": at.isoformat()},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json()["expires_at"] is not None
    past = client.post(
        "/api/v1/tokens",
        {"name": "cli", "expires_at": "2020-01-01T00:00:00+09:00"},
        content_type="application/json",
    )
    assert past.status_code == 422
    assert [e["field"] for e in past.json()["errors"]] == ["expires_at"]
