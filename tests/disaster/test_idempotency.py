"""`Idempotency-Key`: a retried write gets the first answer and changes nothing.

Tablets on a weak connection resend their writes; these tests show a resend, a concurrent
duplicate, or a misuse of a key never makes a second incident.
"""

import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from disaster.core.models import ApiToken, AuditEntry, Event, Incident
from disaster.core.roles import Role

QUAKE = {"name": "座間市 震度6弱", "kind": "earthquake"}


def declare(client: Client, key: str, body: dict = QUAKE):
    return client.post(
        "/api/v1/incidents", body, content_type="application/json", headers={"Idempotency-Key": key}
    )


@pytest.mark.django_db
def test_a_replayed_write_gets_the_first_answer_and_changes_nothing(api_as, ops_user):
    client = api_as(ops_user)
    key = str(uuid.uuid4())

    first = declare(client, key)
    second = declare(client, key)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Content-Type"] == first["Content-Type"]
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1
    assert AuditEntry.objects.filter(action="incident.declare").count() == 1
    assert Event.objects.filter(kind="incident.declared").count() == 1


@pytest.mark.django_db
def test_writes_without_a_key_are_not_deduplicated(api_as, ops_user):
    client = api_as(ops_user)

    for _ in range(2):
        client.post("/api/v1/incidents", QUAKE, content_type="application/json")

    assert Incident.objects.count() == 2


@pytest.mark.django_db
def test_reusing_a_key_for_a_different_request_is_refused(api_as, ops_user):
    client = api_as(ops_user)
    key = str(uuid.uuid4())
    declare(client, key)

    response = declare(client, key, {"name": "別の災害", "kind": "flood"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    assert list(Incident.objects.values_list("name", flat=True)) == [QUAKE["name"]]


@pytest.mark.django_db
def test_reusing_a_key_on_a_different_endpoint_is_refused(api_as, ops_user):
    client = api_as(ops_user)
    key = str(uuid.uuid4())
    declare(client, key)

    response = client.post(
        "/api/v1/tokens",
        {"name": "x"},
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


@pytest.mark.django_db
def test_the_same_key_from_different_users_is_independent(api_as, ops_user, admin_user):
    key = "tablet-1-request-1"

    mine = declare(api_as(ops_user), key)
    theirs = declare(api_as(admin_user), key)

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert Incident.objects.count() == 2


@pytest.mark.django_db
def test_the_same_key_through_a_session_is_deduplicated_too(session_as, ops_user):
    client = session_as(ops_user)
    key = str(uuid.uuid4())

    first, second = declare(client, key), declare(client, key)

    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_request_does_not_use_up_its_key(manager_user):
    _, secret = ApiToken.issue(manager_user, "tablet")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    key = str(uuid.uuid4())
    assert declare(client, key).status_code == 403
    manager_user.role = Role.OPERATIONS
    manager_user.save()

    # The same token, now allowed, gets a fresh answer rather than the stored refusal.
    assert declare(client, key).status_code == 201
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_an_invalid_request_is_replayed_as_invalid(api_as, ops_user):
    client = api_as(ops_user)
    key = str(uuid.uuid4())

    first = declare(client, key, {"kind": "meteor"})
    second = declare(client, key, {"kind": "meteor"})

    assert first.status_code == second.status_code == 422
    assert second.json() == first.json()
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_revoked_token_cannot_replay_an_earlier_answer(ops_user):
    _, secret = ApiToken.issue(ops_user, "tablet")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    key = str(uuid.uuid4())
    assert declare(client, key).status_code == 201
    ApiToken.objects.update(revoked_at="2000-01-01T00:00:00Z")

    response = declare(client, key)

    assert response.status_code == 401
    assert "Idempotent-Replayed" not in response


@pytest.mark.django_db
def test_a_deactivated_users_token_cannot_replay_an_earlier_answer(ops_user):
    _, secret = ApiToken.issue(ops_user, "tablet")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    key = str(uuid.uuid4())
    assert declare(client, key).status_code == 201
    ops_user.is_active = False
    ops_user.save()

    assert declare(client, key).status_code == 401


@pytest.mark.django_db
def test_a_key_longer_than_200_characters_is_refused(api_as, ops_user):
    response = declare(api_as(ops_user), "k" * 201)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Incident.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_incident_and_all_get_the_same_answer(ops_user):
    _, secret = ApiToken.issue(ops_user, "tablet")
    key = str(uuid.uuid4())
    threads = 8
    start = threading.Barrier(threads)
    answers: list = [None] * threads

    def send(i: int) -> None:
        client = Client(headers={"Authorization": f"Bearer {secret}"})
        try:
            start.wait(timeout=10)
            response = declare(client, key)
            answers[i] = (
                response.status_code,
                response.json(),
                response.get("Idempotent-Replayed"),
            )
        finally:
            connection.close()

    workers = [threading.Thread(target=send, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert all(answer is not None for answer in answers), answers
    assert Incident.objects.count() == 1
    assert {status for status, _, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body, _ in answers)
    assert answers[0][1]["id"] == Incident.objects.get().pk
    assert sorted(str(replayed) for _, _, replayed in answers) == ["None"] + ["true"] * 7
    assert AuditEntry.objects.filter(action="incident.declare").count() == 1
