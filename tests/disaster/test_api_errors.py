"""The API answers every refusal in one JSON format: {status, code, message[, errors]}.

`errors` lists the offending fields for a 422 and is absent otherwise; nothing a client
sends, and no path it invents, gets an HTML page or a server error.
"""

import pytest
from django.test import Client

from disaster.core.models import Incident

pytestmark = pytest.mark.django_db


def assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    if status == 422:
        assert body["errors"], body
    else:
        assert "errors" not in body
    return body


def test_an_anonymous_caller_of_a_protected_endpoint_gets_401(api_as):
    response = api_as(None).get("/api/v1/me")

    assert_api_error(response, 401, "not_authenticated")


def test_a_bearer_token_that_does_not_exist_gets_401(db):
    client = Client(headers={"Authorization": "Bearer sonae_not-a-real-token"})

    assert_api_error(client.get("/api/v1/me"), 401, "not_authenticated")


def test_a_caller_whose_role_is_not_admitted_gets_403_and_nothing_changes(api_as, manager_user):
    response = api_as(manager_user).post(
        "/api/v1/incidents", {"name": "地震", "kind": "earthquake"}, content_type="application/json"
    )

    assert_api_error(response, 403, "forbidden")
    assert not Incident.objects.exists()


def test_an_unknown_incident_id_gets_404(api_as, ops_user):
    client = api_as(ops_user)

    assert_api_error(client.get("/api/v1/incidents/999999"), 404, "not_found")
    response = client.patch(
        "/api/v1/incidents/999999", {"phase": "response"}, content_type="application/json"
    )
    assert_api_error(response, 404, "not_found")


def test_an_unknown_token_id_gets_404(api_as, ops_user):
    assert_api_error(api_as(ops_user).delete("/api/v1/tokens/999999"), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nope", "/api/v1/incidents/1/nope"])
def test_an_unknown_api_path_gets_a_json_404_not_an_html_page(api_as, ops_user, path):
    for client in (api_as(None), api_as(ops_user)):
        body = assert_api_error(client.get(path), 404, "not_found")
        assert "<html" not in str(body).lower()


def test_a_wrong_method_gets_a_json_405_that_says_what_is_allowed(api_as, ops_user):
    response = api_as(ops_user).put("/api/v1/me", {}, content_type="application/json")

    assert_api_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_invalid_fields_get_422_naming_each_field(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/incidents", {"kind": "meteor"}, content_type="application/json"
    )

    body = assert_api_error(response, 422, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"name", "kind"}
    for error in body["errors"]:
        assert error["message"] and error["type"]
    assert not Incident.objects.exists()


def test_an_invalid_query_parameter_gets_422_naming_it(api_as, admin_user):
    response = api_as(admin_user).get("/api/v1/audit?since=yesterday")

    body = assert_api_error(response, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["since"]


def test_a_body_that_is_not_json_gets_400(api_as, ops_user):
    response = api_as(ops_user).post(
        "/api/v1/incidents", "{name: 地震", content_type="application/json"
    )

    assert_api_error(response, 400, "bad_request")
    assert not Incident.objects.exists()


def test_a_nul_character_in_the_body_is_refused_before_it_reaches_the_database(api_as, ops_user):
    # PostgreSQL text cannot hold NUL; the parser refuses it, and ninja reports any parser
    # refusal as an unparseable body.
    response = api_as(ops_user).post(
        "/api/v1/incidents",
        {"name": "地\x00震", "kind": "earthquake"},
        content_type="application/json",
    )

    assert_api_error(response, 400, "bad_request")
    assert not Incident.objects.exists()


def test_a_nul_character_in_the_query_gets_422_not_a_database_error(api_as, admin_user):
    response = api_as(admin_user).get("/api/v1/audit?action=a%00b")

    body = assert_api_error(response, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["query"]


@pytest.mark.parametrize("bad_id", [str(2**63), "0", "abc"])
def test_an_id_that_cannot_be_a_database_id_gets_422_naming_it(api_as, ops_user, bad_id):
    response = api_as(ops_user).get(f"/api/v1/incidents/{bad_id}")

    body = assert_api_error(response, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["incident_id"]


def test_a_form_body_django_cannot_read_gets_400_not_a_server_error(api_as, admin_user):
    # A part header longer than Django's limit (what the fuzzer found on the import).
    boundary = "sonae-boundary"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{"x" * 2000}.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        "a,b\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = api_as(admin_user).generic(
        "POST",
        "/api/v1/shelters/import",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert_api_error(response, 400, "bad_request")
