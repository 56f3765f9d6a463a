"""Property tests of the whole API from its own OpenAPI description: whatever schemathesis
sends, valid or not, no endpoint answers with a server error, and (as staff and as a shelter
manager) every answer is one the description documents, shaped as it says."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from disaster.core.models import ApiToken
from disaster.core.roles import Role

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


# Endpoints whose successful answer is a file, not JSON (their errors are JSON).
DOWNLOADS = {
    "/api/v1/shelters/export.csv": "text/csv",
    "/api/v1/shelters/export.geojson": "application/geo+json",
    "/api/v1/shelters/status.csv": "text/csv",
    "/api/v1/shelters/status.geojson": "application/geo+json",
    "/api/v1/shelters/status/history.csv": "text/csv",
    "/api/v1/shelters/status/history.geojson": "application/geo+json",
    "/api/v1/depots/{depot_id}/stock-sheet": "",
    "/api/v1/map/reports.geojson": "application/geo+json",
    "/api/v1/map/districts.geojson": "application/geo+json",
    "/api/v1/map/shelters.geojson": "application/geo+json",
    "/api/v1/map/alerts.geojson": "application/geo+json",
    "/api/v1/map/public/shelters.geojson": "application/geo+json",
    "/api/v1/map/tiles/reports/{z}/{x}/{y}.pbf": "application/vnd.mapbox-vector-tile",
    "/api/v1/reports/{report_id}/photos/{photo_id}": "image/",
    "/api/v1/reports/{report_id}/photos/{photo_id}/original": "image/",
}


@pytest.fixture(autouse=True)
def keep_the_test_connection_open():
    # As Django's test client does: the WSGI app must not close the connection that holds
    # the test's transaction at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(admin_user) -> str:
    return ApiToken.issue(admin_user, "fuzz")[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_makes_the_api_answer_with_a_server_error(case, admin_token):
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})

    assert response.status_code < 500, response.text
    if case.method.upper() != "HEAD":
        expected = (
            DOWNLOADS.get(case.path, "application/json")
            if response.status_code < 300
            else "application/json"
        )
        assert response.headers["content-type"][0].startswith(expected)


CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(params=[Role.OPERATIONS, Role.SHELTER_MANAGER], ids=["staff", "manager"])
def role_token(request, users) -> str:
    return ApiToken.issue(users[request.param], "conformance")[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    # Two roles × every operation: ten examples each keep the run within a few minutes.
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_conforms_to_the_published_schema(case, role_token):
    """With a staff token and a shelter manager's: no server error, every status documented,
    and every body (errors included) shaped as the OpenAPI says."""
    case.call_and_validate(headers={"Authorization": f"Bearer {role_token}"}, checks=CONFORMANCE)
