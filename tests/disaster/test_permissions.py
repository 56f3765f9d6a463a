"""The permission matrix, declared once and run for every endpoint of the API.

Each endpoint declares the roles it admits with `disaster.core.auth.access(...)`. Whatever
endpoints are added later, this file picks them up: for every operation and every role
(and for both ways in, bearer token and browser session) an anonymous caller gets 401, a
role the endpoint does not admit gets 403, and an admitted role gets past the gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser

from disaster.api import api
from disaster.core.errors import Forbidden, NotAuthenticated
from disaster.core.roles import Role
from shelters.access import can_write_shelter, check_shelter_write

# Endpoints open to everyone, deliberately: residents find an open shelter near them.
PUBLIC: set[tuple[str, str]] = {
    ("GET", "/api/v1/shelters"),
    ("GET", "/api/v1/shelters/{shelter_id}"),
    # The city's open data (推奨データセット CSV and GeoJSON).
    ("GET", "/api/v1/shelters/export.csv"),
    ("GET", "/api/v1/shelters/export.geojson"),
    # The shelters' status as open data, now and as of a past time.
    ("GET", "/api/v1/shelters/status.csv"),
    ("GET", "/api/v1/shelters/status.geojson"),
    ("GET", "/api/v1/shelters/status/history.csv"),
    ("GET", "/api/v1/shelters/status/history.geojson"),
    # Residents subscribe to alerts by SMS themselves (a one-time code proves the number).
    ("POST", "/api/v1/subscriptions/sms"),
    ("POST", "/api/v1/subscriptions/sms/confirm"),
    # Residents report damage from the web form (rate-limited per sender).
    ("POST", "/api/v1/public/reports"),
    # The districts alerts are targeted by (names and areas).
    ("GET", "/api/v1/map/districts.geojson"),
    # The public map: open shelters with an occupancy band, and the nearest ones (KNN).
    ("GET", "/api/v1/map/public/shelters.geojson"),
    ("GET", "/api/v1/map/public/nearest"),
    # Where an alert that went out applies, as its SMS short link shows it (no recipients).
    ("GET", "/api/v1/map/public/alerts/{alert_id}"),
    # The warnings JMA says are in force for the city (出典：気象庁).
    ("GET", "/api/v1/warnings"),
}
# Endpoints whose successful answer is a file, not JSON (their errors are still JSON).
NOT_JSON: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/shelters/export.csv"): "text/csv",
    ("GET", "/api/v1/shelters/export.geojson"): "application/geo+json",
    ("GET", "/api/v1/shelters/status.csv"): "text/csv",
    ("GET", "/api/v1/shelters/status.geojson"): "application/geo+json",
    ("GET", "/api/v1/shelters/status/history.csv"): "text/csv",
    ("GET", "/api/v1/shelters/status/history.geojson"): "application/geo+json",
    ("GET", "/api/v1/map/reports.geojson"): "application/geo+json",
    ("GET", "/api/v1/map/districts.geojson"): "application/geo+json",
    ("GET", "/api/v1/map/shelters.geojson"): "application/geo+json",
    ("GET", "/api/v1/map/alerts.geojson"): "application/geo+json",
    ("GET", "/api/v1/map/public/shelters.geojson"): "application/geo+json",
    ("GET", "/api/v1/warnings/telegrams/{telegram_id}/xml"): "application/xml",
}

UNKNOWN_ID = "999999"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as declared, with {placeholders}
    operation: object

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", UNKNOWN_ID, self.path)

    @property
    def roles(self) -> frozenset[Role] | None:
        callbacks = self.operation.auth_callbacks
        return getattr(callbacks[0], "roles", None) if callbacks else None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def endpoints() -> list[Endpoint]:
    found = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                full = re.sub(r"/+", "/", f"/api/{prefix}/{path}")
                found.extend(Endpoint(m, full, operation) for m in operation.methods)
    return found


ENDPOINTS = endpoints()
ROLES = [None, *Role]


def call(client, endpoint: Endpoint):
    if endpoint.method in {"GET", "HEAD"}:
        return client.generic(endpoint.method, endpoint.url)
    return client.generic(endpoint.method, endpoint.url, "{}", content_type="application/json")


def test_the_matrix_sees_every_endpoint_of_the_api():
    seen = {str(e) for e in ENDPOINTS}

    assert {
        "GET /api/v1/me",
        "POST /api/v1/tokens",
        "DELETE /api/v1/tokens/{token_id}",
        "GET /api/v1/audit",
        "POST /api/v1/incidents",
        "PATCH /api/v1/incidents/{incident_id}",
    } <= seen
    assert len(seen) == len(ENDPOINTS), "an endpoint is declared twice"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_every_endpoint_declares_the_roles_it_admits(endpoint):
    if (endpoint.method, endpoint.path) in PUBLIC:
        assert not endpoint.operation.auth_callbacks
        return
    callbacks = endpoint.operation.auth_callbacks

    assert callbacks, f"{endpoint} has no auth and is not listed as public"
    assert endpoint.roles, f"{endpoint} admits no role"
    assert endpoint.roles <= set(Role)
    # Token and session must agree, or the matrix would depend on how one signs in.
    assert {frozenset(c.roles) for c in callbacks} == {endpoint.roles}


@pytest.mark.parametrize("way", ["token", "session"])
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_each_role_gets_exactly_the_access_its_endpoint_declares(
    endpoint, role, way, users, api_as, session_as
):
    public = (endpoint.method, endpoint.path) in PUBLIC
    user = users[role] if role else None
    client = session_as(user) if user and way == "session" else api_as(user)

    response = call(client, endpoint)

    assert response.status_code < 500, response.content
    expected = "application/json"
    if response.status_code < 300:
        expected = NOT_JSON.get((endpoint.method, endpoint.path), expected)
    assert response["Content-Type"].startswith(expected)
    if public:
        assert response.status_code not in {401, 403}, response.content
    elif role is None:
        assert response.status_code == 401
    elif role not in endpoint.roles:
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    else:
        assert response.status_code not in {401, 403}, response.content


def test_staff_may_write_to_every_shelter(users, shelter, other_shelter):
    for role in (Role.ADMINISTRATOR, Role.OPERATIONS):
        assert can_write_shelter(users[role], shelter.pk)
        assert can_write_shelter(users[role], other_shelter.pk)
        check_shelter_write(users[role], other_shelter.pk)


def test_a_shelter_manager_may_write_only_to_the_shelters_assigned_to_them(
    manager_user, shelter, other_shelter
):
    assert can_write_shelter(manager_user, shelter.pk)
    assert not can_write_shelter(manager_user, other_shelter.pk)
    check_shelter_write(manager_user, shelter.pk)
    with pytest.raises(Forbidden):
        check_shelter_write(manager_user, other_shelter.pk)


def test_assigning_a_manager_to_another_shelter_lets_them_write_there(manager_user, other_shelter):
    other_shelter.managers.add(manager_user)

    assert can_write_shelter(manager_user, other_shelter.pk)


def test_an_anonymous_visitor_may_write_to_no_shelter(shelter):
    assert not can_write_shelter(AnonymousUser(), shelter.pk)
    with pytest.raises(NotAuthenticated):
        check_shelter_write(AnonymousUser(), shelter.pk)


def test_a_deactivated_account_may_write_to_no_shelter(users, shelter):
    for user in users.values():
        user.is_active = False
        user.save()

        assert not can_write_shelter(user, shelter.pk)
        with pytest.raises(NotAuthenticated):
            check_shelter_write(user, shelter.pk)


def test_an_administrator_may_use_the_admin_site_by_role_alone(session_as, admin_user):
    assert not admin_user.is_superuser
    client = session_as(admin_user)

    assert client.get("/admin/disaster/incident/").status_code == 200
    assert client.get("/admin/disaster/incident/add/").status_code == 200
    # Records only services may write stay read-only, administrator or not.
    assert client.get("/admin/disaster/auditentry/add/").status_code == 403


@pytest.mark.parametrize("role", [Role.OPERATIONS, Role.SHELTER_MANAGER], ids=str)
def test_other_roles_are_sent_away_from_the_admin_site(session_as, users, role):
    response = session_as(users[role]).get("/admin/disaster/incident/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
