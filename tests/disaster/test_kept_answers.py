"""What the idempotency store keeps, and what the public may read: a token's secret is never
kept (nor replayed, even after revocation), answers holding a resident's personal data are
blanked when the resident is deleted, anonymous keys belong to their client, and the public
shelter list gives a band, never a head-count."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.residents import privacy
from disaster.core.models import IdempotentRequest
from disaster.reports.models import DamageReport
from shelters import services as shelter_services

pytestmark = pytest.mark.django_db

INSIDE = {"latitude": 35.49, "longitude": 139.41}


def keyed(client, path: str, body: dict, key: str, **extra):
    return client.post(
        path, body, content_type="application/json", headers={"Idempotency-Key": key}, **extra
    )


def test_a_replayed_token_creation_never_shows_the_secret_which_is_never_kept(api_as, ops_user):
    client = api_as(ops_user)
    first = keyed(client, "/api/v1/tokens", {"name": "tablet"}, "token-1")
    secret = first.json()["token"]
    assert first.status_code == 201 and secret

    again = keyed(client, "/api/v1/tokens", {"name": "tablet"}, "token-1")
    client.delete(f"/api/v1/tokens/{first.json()['id']}")
    after_revoking = keyed(client, "/api/v1/tokens", {"name": "tablet"}, "token-1")

    for replay in (again, after_revoking):
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == first.json()["id"] and replay.json()["token"] is None
    assert not IdempotentRequest.objects.filter(body__contains=secret).exists()
    assert not IdempotentRequest.objects.filter(body__contains=secret[8:20]).exists()


def test_a_staff_registration_kept_for_replays_is_forgotten_with_the_person(api_as, ops_user):
    client = api_as(ops_user)
    body = {**INSIDE, "phone": "090-2468-1357", "consent_note": "本人が窓口で同意（山田）"}
    first = keyed(client, "/api/v1/subscribers", body, "register-1")
    assert first.status_code == 201
    assert IdempotentRequest.objects.filter(body__contains="2468").exists()

    privacy.forget_phone("+819024681357")  # the resident texted STOP

    kept = IdempotentRequest.objects.get(key="register-1")
    assert "2468" not in kept.body and "山田" not in kept.body and "139.41" not in kept.body
    replay = keyed(client, "/api/v1/subscribers", body, "register-1")
    assert replay.status_code == 410 and replay.json()["code"] == "gone"
    assert not privacy.Subscriber.objects.exists()  # the replay registered nobody again


@pytest.fixture
def city(settings, tmp_path, city_boundary):
    settings.MEDIA_ROOT = tmp_path


def test_a_staff_report_kept_for_replays_forgets_its_reporters_number(city, api_as, ops_user):
    body = {"category": "fire", "severity": 3, "contact": "090-1357-2468", **INSIDE}
    first = keyed(api_as(ops_user), "/api/v1/reports", body, "report-1")
    assert first.status_code == 201 and first.json()["reporter_contact"] == "090-1357-2468"

    privacy.forget_phone("+819013572468")

    assert "1357-2468" not in IdempotentRequest.objects.get(key="report-1").body
    assert DamageReport.objects.get().reporter_contact == ""


def test_the_public_form_honours_its_key_for_its_own_client_only(city):
    body = {"category": "fire", "severity": "2", **INSIDE}
    phone = Client(REMOTE_ADDR="198.51.100.50")
    other = Client(REMOTE_ADDR="198.51.100.51")

    def send(client):
        return client.post("/api/v1/public/reports", body, headers={"Idempotency-Key": "k-1"})

    first, retried, elsewhere = send(phone), send(phone), send(other)

    assert first.status_code == retried.status_code == elsewhere.status_code == 201
    assert retried.json() == first.json() and retried["Idempotent-Replayed"] == "true"
    assert elsewhere.json()["id"] != first.json()["id"]
    assert DamageReport.objects.count() == 2


def test_a_rate_limited_answer_is_not_kept_so_a_retry_later_goes_through(city, settings):
    settings.REPORT_PUBLIC_PER_HOUR = 1
    body = {"category": "fire", "severity": "2", **INSIDE}
    client = Client(REMOTE_ADDR="198.51.100.52")
    assert client.post("/api/v1/public/reports", body).status_code == 201

    limited = client.post("/api/v1/public/reports", body, headers={"Idempotency-Key": "k-2"})
    settings.REPORT_PUBLIC_PER_HOUR = 2  # as if the hour had passed
    later = client.post("/api/v1/public/reports", body, headers={"Idempotency-Key": "k-2"})

    assert limited.status_code == 429 and later.status_code == 201


def test_the_public_shelter_list_shows_a_band_and_no_head_count(
    shelter, api_as, ops_user, manager_user
):
    shelter_services.change_status(shelter.pk, status="open", by=ops_user)
    shelter_services.record_headcount(shelter.pk, total=500, by=manager_user)

    (public,) = Client().get("/api/v1/shelters").json()["items"]
    (staff,) = api_as(ops_user).get("/api/v1/shelters").json()["items"]
    one = Client().get(f"/api/v1/shelters/{shelter.pk}").json()

    for seen in (public, one):
        assert seen["occupancy"] is None and seen["percent_of_capacity"] is None
        assert seen["occupancy_at"] is None
        assert (seen["band"], seen["band_label"]) == ("crowded", "混雑")  # 500 of 600
    assert staff["occupancy"] == 500 and staff["band"] == "crowded"
    assert "500" not in Client().get("/api/v1/shelters").content.decode().replace('"id"', "")


def multipart(boundary: str, fields: dict[str, str]) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


def test_a_form_sent_again_with_a_new_boundary_is_the_same_request(city):
    # Browsers pick a new random boundary for every send of a form with a file.
    body = {"category": "fire", "severity": "2", "latitude": "35.49", "longitude": "139.41"}
    client = Client(REMOTE_ADDR="198.51.100.53")

    def send(boundary: str):
        return client.generic(
            "POST",
            "/api/v1/public/reports",
            multipart(boundary, body),
            content_type=f"multipart/form-data; boundary={boundary}",
            headers={"Idempotency-Key": "form-1"},
        )

    first, again = send("----WebKitFormBoundaryA1"), send("----WebKitFormBoundaryZ9")

    assert first.status_code == again.status_code == 201, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert DamageReport.objects.count() == 1
