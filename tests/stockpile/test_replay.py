"""Every write of the shelters and stockpile API takes an `Idempotency-Key`: the tablet's
offline queue resends a write whose answer it never heard, and the resend must get the first
answer and change nothing (no second movement, head-count, transfer, event or audit entry).

The table below names every write endpoint of the two routers; a new one fails the first
test until it is added here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from disaster.core.models import User
from shelters.api import router as shelters_router
from shelters.models import Shelter
from shelters.services import record_headcount
from stockpile import services
from stockpile.api import router as stockpile_router
from stockpile.models import Depot, Item, Movement, SupplyRequest, Transfer
from tests.fixtures.stockpile import in_days
from tests.fixtures.users import token_client
from tests.stockpile.snapshot import state

API = "/api/v1"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


@dataclass
class World:
    shelter: Shelter
    depot: Depot
    central: Depot
    water: Item
    ops: User

    def stock(self, depot: Depot, quantity: int, days: int | None = 400) -> None:
        services.receive_stock(
            depot=depot,
            item=self.water,
            quantity=quantity,
            expires_on=in_days(days),
            by=self.ops,
        )

    def transfer(self, *, dispatch: bool) -> Transfer:
        self.stock(self.central, 100)
        return services.plan_transfer(
            from_depot=self.central,
            to_depot=self.depot,
            item=self.water,
            quantity=30,
            by=self.ops,
            dispatch=dispatch,
        )

    def supply_request(self) -> SupplyRequest:
        return services.request_supplies(
            depot=self.depot, lines=[(self.water, 50)], urgency="urgent", by=self.ops
        )


# For each write: set up what it needs, then (url, JSON body or a form of Uploads).
Write = Callable[[World], tuple[str, dict]]


def _count_sheet(w: World) -> tuple[str, dict]:
    w.stock(w.depot, 40)
    expiry = in_days(400).strftime("%Y/%m/%d")
    rows = [
        "品目コード,品名,単位,有効期限,調達区分,帳簿数,実数,理由,メモ",
        f"water,飲料水,L,{expiry},購入,40,36,紛失,",
    ]
    sheet = Upload("count.csv", ("\r\n".join(rows) + "\r\n").encode("utf-8-sig"))
    return f"/depots/{w.depot.pk}/count-sheet", {"file": sheet}


def _import(w: World) -> tuple[str, dict]:
    data = Path(settings.SHARED_DATA_DIR) / "gsi-emergency-142166.geojson"
    return "/shelters/import", {"file": Upload(data.name, data.read_bytes())}


def _approve(w: World) -> tuple[str, dict]:
    return f"/supply-requests/{w.supply_request().pk}/approve", {"note": "了解"}


def _proposal(w: World) -> tuple[str, dict]:
    record_headcount(w.shelter.pk, total=100, by=w.ops)
    w.stock(w.central, 5000)
    return "/stock/proposal", {"depot_id": w.depot.pk, "item_id": w.water.pk}


WRITES: dict[tuple[str, str], Write] = {
    ("POST", "/shelters/import"): _import,
    ("PATCH", "/shelters/{shelter_id}"): lambda w: (
        f"/shelters/{w.shelter.pk}",
        {"phone": "046-255-1111"},
    ),
    ("POST", "/shelters/{shelter_id}/status"): lambda w: (
        f"/shelters/{w.shelter.pk}/status",
        {"status": "open"},
    ),
    ("POST", "/shelters/{shelter_id}/headcounts"): lambda w: (
        f"/shelters/{w.shelter.pk}/headcounts",
        {"total": 120, "elderly": 30, "pets": 4},
    ),
    ("POST", "/depots/{depot_id}/receipts"): lambda w: (
        f"/depots/{w.depot.pk}/receipts",
        {"item_id": w.water.pk, "quantity": 24, "expires_on": str(in_days(300))},
    ),
    ("POST", "/depots/{depot_id}/issues"): lambda w: (
        w.stock(w.depot, 50),
        (f"/depots/{w.depot.pk}/issues", {"item_id": w.water.pk, "quantity": 20}),
    )[1],
    ("POST", "/depots/{depot_id}/counts"): lambda w: (
        w.stock(w.depot, 50),
        (
            f"/depots/{w.depot.pk}/counts",
            {
                "item_id": w.water.pk,
                "expires_on": str(in_days(400)),
                "counted": 45,
                "reason": "damaged",
            },
        ),
    )[1],
    ("POST", "/depots/{depot_id}/disposals"): lambda w: (
        services.count_stock(
            depot=w.depot,
            item=w.water,
            expires_on=in_days(-2),
            counted=12,
            reason=Movement.Reason.FOUND,
            by=w.ops,
        ),
        (f"/depots/{w.depot.pk}/disposals", {"item_id": w.water.pk}),
    )[1],
    ("POST", "/depots/{depot_id}/count-sheet"): _count_sheet,
    ("POST", "/transfers"): lambda w: (
        w.stock(w.central, 100),
        (
            "/transfers",
            {
                "from_depot_id": w.central.pk,
                "to_depot_id": w.depot.pk,
                "item_id": w.water.pk,
                "quantity": 30,
                "dispatch": True,
            },
        ),
    )[1],
    ("POST", "/transfers/{transfer_id}/dispatch"): lambda w: (
        f"/transfers/{w.transfer(dispatch=False).pk}/dispatch",
        {},
    ),
    ("POST", "/transfers/{transfer_id}/receive"): lambda w: (
        f"/transfers/{w.transfer(dispatch=True).pk}/receive",
        {},
    ),
    ("POST", "/transfers/{transfer_id}/cancel"): lambda w: (
        f"/transfers/{w.transfer(dispatch=False).pk}/cancel",
        {},
    ),
    ("POST", "/supply-requests"): lambda w: (
        "/supply-requests",
        {"depot_id": w.depot.pk, "lines": [{"item_id": w.water.pk, "quantity": 50}]},
    ),
    ("POST", "/supply-requests/{request_id}/approve"): _approve,
    ("POST", "/supply-requests/{request_id}/reject"): lambda w: (
        f"/supply-requests/{w.supply_request().pk}/reject",
        {"note": "在庫で足ります"},
    ),
    ("POST", "/supply-requests/{request_id}/cancel"): lambda w: (
        f"/supply-requests/{w.supply_request().pk}/cancel",
        {"note": "不要になりました"},
    ),
    ("POST", "/stock/proposal"): _proposal,
}


def write_endpoints() -> set[tuple[str, str]]:
    found = set()
    for router in (shelters_router, stockpile_router):
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                found |= {(m, path) for m in operation.methods if m in UNSAFE}
    return found


def test_every_write_of_the_shelters_and_stockpile_api_is_in_the_table():
    assert write_endpoints() == set(WRITES)


@pytest.mark.django_db
@pytest.mark.parametrize("write", sorted(WRITES), ids=" ".join)
def test_a_replayed_write_gets_the_first_answer_and_changes_nothing(
    write, admin_user, ops_user, shelter, depot, central_depot, water
):
    method, _ = write
    world = World(shelter, depot, central_depot, water, ops_user)
    url, body = WRITES[write](world)
    client = token_client(admin_user)
    key = str(uuid.uuid4())

    def send():
        headers = {"Idempotency-Key": key}
        files = {k: v for k, v in body.items() if isinstance(v, Upload)}
        if files:  # a fresh file object each time: an upload is read once
            data = {k: SimpleUploadedFile(v.name, v.content) for k, v in files.items()}
            return client.post(API + url, data, headers=headers)
        return client.generic(
            method, API + url, json.dumps(body), content_type="application/json", headers=headers
        )

    before = state()
    first = send()
    assert first.status_code < 300, first.content
    after_first = state()
    assert after_first != before, "the first write was meant to change something"

    again = send()

    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert state() == after_first
