"""Whose shelter a shelter manager may touch, declared once for every endpoint.

The role matrix (tests/disaster/test_permissions.py) checks which roles reach each endpoint;
this one checks the object behind it. A shelter manager runs their own shelter and its
warehouse; every endpoint of the shelters and stockpile API they may call that names another
shelter, its warehouse, the central warehouse, a transfer neither end of which is theirs or
another shelter's supply request answers 403 and changes nothing, and their lists leave out
what is not theirs. A new endpoint naming such an object fails the first test until it is
added to the table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disaster.core.models import User
from disaster.core.roles import Role
from shelters.api import router as shelters_router
from shelters.models import Shelter
from stockpile import services
from stockpile.api import router as stockpile_router
from stockpile.models import Depot, Item, Movement, SupplyRequest, Transfer
from tests.fixtures.stockpile import in_days
from tests.fixtures.users import token_client
from tests.stockpile.snapshot import state

API = "/api/v1"


@dataclass
class Theirs:
    """What belongs to someone else: another shelter, a warehouse, a transfer, a request."""

    shelter: Shelter
    depot: Depot
    transfer: Transfer  # planned, between two warehouses that are not the manager's
    sent: Transfer  # dispatched, to `depot`
    request: SupplyRequest
    water: Item


Call = Callable[[Theirs], tuple[str, dict | None]]  # (url, JSON body; None for a GET)


def _sheet(t: Theirs) -> tuple[str, dict]:
    return f"/depots/{t.depot.pk}/count-sheet", {"file": b"x"}


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/shelters/{shelter_id}/detail"): lambda t: (f"/shelters/{t.shelter.pk}/detail", None),
    ("POST", "/shelters/{shelter_id}/status"): lambda t: (
        f"/shelters/{t.shelter.pk}/status",
        {"status": "open"},
    ),
    ("GET", "/shelters/{shelter_id}/headcounts"): lambda t: (
        f"/shelters/{t.shelter.pk}/headcounts",
        None,
    ),
    ("POST", "/shelters/{shelter_id}/headcounts"): lambda t: (
        f"/shelters/{t.shelter.pk}/headcounts",
        {"total": 10},
    ),
    ("GET", "/depots/{depot_id}/stock"): lambda t: (f"/depots/{t.depot.pk}/stock", None),
    ("POST", "/depots/{depot_id}/receipts"): lambda t: (
        f"/depots/{t.depot.pk}/receipts",
        {"item_id": t.water.pk, "quantity": 5},
    ),
    ("POST", "/depots/{depot_id}/issues"): lambda t: (
        f"/depots/{t.depot.pk}/issues",
        {"item_id": t.water.pk, "quantity": 5},
    ),
    ("POST", "/depots/{depot_id}/counts"): lambda t: (
        f"/depots/{t.depot.pk}/counts",
        {
            "item_id": t.water.pk,
            "expires_on": str(in_days(400)),
            "counted": 0,
            "reason": "lost",
        },
    ),
    ("POST", "/depots/{depot_id}/disposals"): lambda t: (
        f"/depots/{t.depot.pk}/disposals",
        {"item_id": t.water.pk},
    ),
    ("GET", "/depots/{depot_id}/stock-sheet"): lambda t: (
        f"/depots/{t.depot.pk}/stock-sheet",
        None,
    ),
    ("POST", "/depots/{depot_id}/count-sheet"): _sheet,
    ("GET", "/transfers/{transfer_id}"): lambda t: (f"/transfers/{t.transfer.pk}", None),
    ("POST", "/transfers/{transfer_id}/dispatch"): lambda t: (
        f"/transfers/{t.transfer.pk}/dispatch",
        {},
    ),
    ("POST", "/transfers/{transfer_id}/receive"): lambda t: (
        f"/transfers/{t.sent.pk}/receive",
        {},
    ),
    ("GET", "/supply-requests/{request_id}"): lambda t: (
        f"/supply-requests/{t.request.pk}",
        None,
    ),
    ("POST", "/supply-requests/{request_id}/cancel"): lambda t: (
        f"/supply-requests/{t.request.pk}/cancel",
        {},
    ),
    # The two that name a warehouse in the body or the query rather than the path.
    ("POST", "/supply-requests"): lambda t: (
        "/supply-requests",
        {"depot_id": t.depot.pk, "lines": [{"item_id": t.water.pk, "quantity": 5}]},
    ),
    ("GET", "/stock/expiring"): lambda t: (f"/stock/expiring?depot={t.depot.pk}", None),
}


def endpoints_naming_an_object() -> set[tuple[str, str]]:
    """Endpoints of the two routers that shelter managers may call with an id in the path."""
    found = set()
    for router in (shelters_router, stockpile_router):
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                callbacks = operation.auth_callbacks
                roles = getattr(callbacks[0], "roles", frozenset()) if callbacks else frozenset()
                if Role.SHELTER_MANAGER in roles and re.search(r"\{\w+\}", path):
                    found |= {(method, path) for method in operation.methods}
    return found


@pytest.fixture(params=["other_shelter", "central_warehouse"])
def theirs(request, ops_user: User, other_shelter, other_depot, central_depot, water) -> Theirs:
    """Another shelter's things; its warehouse is either that shelter's or the central one."""
    target = other_depot if request.param == "other_shelter" else central_depot
    source = central_depot if target == other_depot else other_depot
    for depot in (target, source):
        services.receive_stock(
            depot=depot, item=water, quantity=100, expires_on=in_days(400), by=ops_user
        )
    services.count_stock(
        depot=target,
        item=water,
        expires_on=in_days(-3),
        counted=7,
        reason=Movement.Reason.FOUND,
        by=ops_user,
    )

    def plan(dispatch: bool) -> Transfer:
        return services.plan_transfer(
            from_depot=source,
            to_depot=target,
            item=water,
            quantity=10,
            by=ops_user,
            dispatch=dispatch,
        )

    return Theirs(
        shelter=other_shelter,
        depot=target,
        transfer=plan(dispatch=False),
        sent=plan(dispatch=True),
        request=services.request_supplies(
            depot=target, lines=[(water, 20)], urgency="routine", by=ops_user
        ),
        water=water,
    )


def call(client, method: str, url: str, body: dict | None):
    if body is None:
        return client.generic(method, API + url)
    if any(isinstance(value, bytes) for value in body.values()):
        files = {name: SimpleUploadedFile("count.csv", value) for name, value in body.items()}
        return client.post(API + url, files)
    return client.generic(method, API + url, json.dumps(body), content_type="application/json")


def test_every_endpoint_a_manager_may_call_with_an_id_is_in_the_table():
    assert endpoints_naming_an_object() <= set(CALLS)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", sorted(CALLS), ids=" ".join)
def test_a_shelter_manager_is_refused_what_is_not_theirs_and_nothing_changes(
    endpoint, manager_user, theirs, depot, ops_user
):
    method, _ = endpoint
    url, body = CALLS[endpoint](theirs)
    before = state()

    response = call(token_client(manager_user), method, url, body)

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden"
    assert state() == before
    # Staff may do the same: the refusal is about whose it is, not about the request.
    assert call(token_client(ops_user), method, url, body).status_code != 403


@pytest.mark.django_db
def test_a_transfer_is_dispatched_by_its_sender_and_received_by_its_receiver_only(
    api_as, manager_user, ops_user, depot, other_depot, water
):
    services.receive_stock(depot=depot, item=water, quantity=50, expires_on=None, by=ops_user)
    services.receive_stock(depot=other_depot, item=water, quantity=50, expires_on=None, by=ops_user)
    outgoing = services.plan_transfer(
        from_depot=depot, to_depot=other_depot, item=water, quantity=5, by=ops_user, dispatch=True
    )
    incoming = services.plan_transfer(
        from_depot=other_depot, to_depot=depot, item=water, quantity=5, by=ops_user
    )
    manager = api_as(manager_user)

    # Both are theirs to see…
    assert manager.get(f"{API}/transfers/{outgoing.pk}").status_code == 200
    assert manager.get(f"{API}/transfers/{incoming.pk}").status_code == 200
    # …but the other shelter receives what this one sent, and sends what this one awaits.
    assert manager.post(f"{API}/transfers/{outgoing.pk}/receive").status_code == 403
    assert manager.post(f"{API}/transfers/{incoming.pk}/dispatch").status_code == 403
    assert sorted(Transfer.objects.values_list("status", flat=True)) == [
        "dispatched",
        "planned",
    ]


@pytest.mark.django_db
def test_a_shelter_managers_lists_leave_out_what_is_not_theirs(
    api_as, manager_user, theirs, depot, ops_user, water
):
    services.receive_stock(depot=depot, item=water, quantity=5, expires_on=in_days(10), by=ops_user)
    mine = services.request_supplies(depot=depot, lines=[(water, 5)], urgency="urgent", by=ops_user)
    manager = api_as(manager_user)

    def ids(path: str, key: str) -> set:
        response = manager.get(API + path)
        assert response.status_code == 200, response.content
        body = response.json()
        return {row[key] for row in (body["items"] if isinstance(body, dict) else body)}

    assert ids("/movements", "depot_id") == {depot.pk}
    assert ids("/supply-requests", "id") == {mine.pk}
    assert ids("/transfers", "id") == set()
    expiring = manager.get(f"{API}/stock/expiring").json()["items"]
    assert {row["depot"]["id"] for row in expiring} == {depot.pk}
