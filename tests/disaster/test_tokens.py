"""API tokens (tablets, integrations) and the browser session: the two ways into the API."""

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from disaster.core.models import ApiToken, AuditEntry, Incident

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def create_token(client: Client, name: str = "受付タブレット") -> dict:
    response = client.post("/api/v1/tokens", {"name": name}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_creating_a_token_shows_its_secret_once(session_as, manager_user):
    client = session_as(manager_user)

    created = create_token(client)

    assert created["token"].startswith(ApiToken.PREFIX)
    assert created["hint"] == created["token"][-4:]
    listed = client.get("/api/v1/tokens").json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert created["token"] not in client.get("/api/v1/tokens").content.decode()


def test_only_the_sha256_of_a_token_is_stored(session_as, manager_user):
    secret = create_token(session_as(manager_user))["token"]

    row = ApiToken.objects.values().get()
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in row.values())
    assert not any(secret[:-4] in str(value) for value in row.values())


def test_creating_a_token_is_audited_without_its_secret_or_hash(session_as, manager_user):
    secret = create_token(session_as(manager_user))["token"]

    entry = AuditEntry.objects.get(action="token.create")
    assert entry.actor == manager_user
    assert "key_hash" not in entry.after
    assert secret not in str(entry.after)
    assert ApiToken.hash(secret) not in str(entry.after)


def test_a_new_token_authenticates_its_user(session_as, manager_user, shelter):
    secret = create_token(session_as(manager_user))["token"]

    response = bearer(secret).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": manager_user.pk,
        "username": "manager",
        "role": "shelter_manager",
        "shelter_ids": [shelter.pk],
    }


def test_using_a_token_notes_when_it_was_last_used(session_as, ops_user):
    secret = create_token(session_as(ops_user))["token"]
    assert ApiToken.objects.get().last_used_at is None

    bearer(secret).get("/api/v1/me")

    assert ApiToken.objects.get().last_used_at is not None


def test_a_tokens_last_use_is_written_at_most_once_a_minute(session_as, ops_user):
    secret = create_token(session_as(ops_user))["token"]
    client = bearer(secret)
    client.get("/api/v1/me")
    first = ApiToken.objects.get().last_used_at
    table = ApiToken._meta.db_table

    with CaptureQueriesContext(connection) as within_the_minute:
        client.get("/api/v1/me")
    ApiToken.objects.update(last_used_at=first - dt.timedelta(seconds=61))
    with CaptureQueriesContext(connection) as a_minute_later:
        client.get("/api/v1/me")

    def writes(queries) -> list[str]:
        return [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{table}"')]

    assert writes(within_the_minute.captured_queries) == []
    assert len(writes(a_minute_later.captured_queries)) == 1
    assert ApiToken.objects.get().last_used_at > first


def test_a_revoked_token_no_longer_authenticates(session_as, ops_user):
    secret = create_token(session_as(ops_user))["token"]
    client = bearer(secret)
    token = ApiToken.objects.get()

    response = client.delete(f"/api/v1/tokens/{token.pk}")

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert client.get("/api/v1/me").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke", target_id=str(token.pk)).count() == 1


def test_revoking_a_token_twice_changes_nothing_the_second_time(session_as, ops_user):
    client = session_as(ops_user)
    token_id = create_token(client)["id"]
    first = client.delete(f"/api/v1/tokens/{token_id}").json()

    second = client.delete(f"/api/v1/tokens/{token_id}")

    assert second.status_code == 200
    assert second.json()["revoked_at"] == first["revoked_at"]
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


def test_a_token_of_a_deactivated_user_no_longer_authenticates(session_as, ops_user):
    secret = create_token(session_as(ops_user))["token"]
    ops_user.is_active = False
    ops_user.save()

    assert bearer(secret).get("/api/v1/me").status_code == 401


def test_someone_elses_token_cannot_be_revoked_and_is_not_even_found(
    session_as, api_as, ops_user, manager_user
):
    secret = create_token(session_as(ops_user))["token"]
    token_id = ApiToken.objects.get(user=ops_user).pk

    response = api_as(manager_user).delete(f"/api/v1/tokens/{token_id}")

    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token_id).revoked_at is None
    assert bearer(secret).get("/api/v1/me").status_code == 200


def test_operations_staff_cannot_revoke_someone_elses_token_either(
    session_as, api_as, ops_user, manager_user
):
    create_token(session_as(manager_user))
    token_id = ApiToken.objects.get(user=manager_user).pk

    assert api_as(ops_user).delete(f"/api/v1/tokens/{token_id}").status_code == 404


def test_an_administrator_can_revoke_anyones_token(session_as, api_as, admin_user, ops_user):
    secret = create_token(session_as(ops_user))["token"]
    token_id = ApiToken.objects.get(user=ops_user).pk

    response = api_as(admin_user).delete(f"/api/v1/tokens/{token_id}")

    assert response.status_code == 200
    assert bearer(secret).get("/api/v1/me").status_code == 401
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.actor == admin_user


def test_a_user_lists_only_their_own_tokens(session_as, api_as, ops_user, manager_user):
    create_token(session_as(ops_user), "本部")
    create_token(session_as(manager_user), "避難所")

    names = [t["name"] for t in session_as(manager_user).get("/api/v1/tokens").json()]

    assert names == ["避難所"]


def test_a_logged_in_browser_session_can_read_the_api(session_as, manager_user):
    response = session_as(manager_user, enforce_csrf_checks=True).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["username"] == "manager"


def test_a_session_write_without_the_csrf_token_is_refused(session_as, ops_user):
    client = session_as(ops_user, enforce_csrf_checks=True)

    response = client.post(
        "/api/v1/incidents", {"name": "地震", "kind": "earthquake"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Incident.objects.exists()


def test_a_session_write_with_the_csrf_token_is_accepted(session_as, ops_user):
    client = session_as(ops_user, enforce_csrf_checks=True)
    client.get("/login/")  # a page with a form hands out the CSRF cookie
    csrf = client.cookies["csrftoken"].value

    response = client.post(
        "/api/v1/incidents",
        {"name": "地震", "kind": "earthquake"},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )

    assert response.status_code == 201, response.content
    assert Incident.objects.get().name == "地震"


def test_a_session_write_with_a_wrong_csrf_token_is_refused(session_as, ops_user):
    client = session_as(ops_user, enforce_csrf_checks=True)
    client.get("/login/")

    response = client.post(
        "/api/v1/incidents",
        {"name": "地震", "kind": "earthquake"},
        content_type="application/json",
        headers={"X-CSRFToken": "x" * 32},
    )

    assert response.status_code == 403
    assert not Incident.objects.exists()


def test_a_bearer_token_write_needs_no_csrf_token(api_as, ops_user):
    client = api_as(ops_user)
    client.handler.enforce_csrf_checks = True

    response = client.post(
        "/api/v1/incidents", {"name": "地震", "kind": "earthquake"}, content_type="application/json"
    )

    assert response.status_code == 201


def test_someone_not_logged_in_gets_401_rather_than_a_csrf_complaint(db):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/v1/incidents", {"name": "地震", "kind": "earthquake"}, content_type="application/json"
    )

    assert response.status_code == 401
