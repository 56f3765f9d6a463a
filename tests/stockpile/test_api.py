"""The stockpile API, as the shelter tablets and the operations room use it: the ledger
(receipts, issues, counts, disposals), transfers, supply requests and the derived figures
(days of supply, shortages, the city view, expiring lots, proposed transfers).

Bad input is answered 4xx with the fields at fault and writes nothing; every change of
stock announces itself once with a `stock.moved` event, and a refused or rolled-back write
announces nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from disaster.core.idempotency import record_key
from disaster.core.models import Event, IdempotentRequest, Incident
from shelters.models import Shelter
from shelters.services import record_headcount
from stockpile import services
from stockpile.models import Depot, Lot, Movement, SupplyRequest, Transfer
from tests.fixtures.stockpile import in_days

API = "/api/v1"


def post(client: Client, path: str, body: dict | None = None, *, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(API + path, body or {}, content_type="application/json", headers=headers)


def get(client: Client, path: str, **params):
    return client.get(API + path, params)


def error_fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def evacuate(shelter: Shelter, total: int) -> None:
    """A head-count of `total` people at the shelter, now."""
    record_headcount(shelter.pk, total=total, by=None)


def stock_line(client: Client, depot: Depot, item) -> dict:
    """The depot's stock line of one item, as the tablet shows it."""
    response = get(client, f"/depots/{depot.pk}/stock")
    assert response.status_code == 200, response.content
    (line,) = [line for line in response.json()["lines"] if line["item"]["id"] == item.pk]
    return line


def nothing_written() -> bool:
    return not Movement.objects.exists() and not Event.objects.exists()


@pytest.fixture
def ops(api_as, ops_user) -> Client:
    return api_as(ops_user)


@pytest.fixture
def manager(api_as, manager_user) -> Client:
    """The manager of `shelter` (whose warehouse is `depot`), on their tablet."""
    return api_as(manager_user)


@pytest.fixture(autouse=True)
def known_thresholds(settings):
    settings.STOCK_SHORTAGE_DAYS = 3.0
    settings.STOCK_LONG_TERM_AFTER_DAYS = 7
    settings.STOCK_USE_FIRST_DAYS = 30
    settings.STOCK_ROTATION_DAYS = 90


# Receipts and issues ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_receipt_joins_the_lot_with_the_same_expiry_and_source(ops, ops_user, depot, water):
    body = {"item_id": water.pk, "quantity": 120, "expires_on": str(in_days(365))}

    first = post(ops, f"/depots/{depot.pk}/receipts", {**body, "note": "市の調達分"})
    second = post(ops, f"/depots/{depot.pk}/receipts", {**body, "quantity": 80})
    donated = post(ops, f"/depots/{depot.pk}/receipts", {**body, "source": "donated"})

    assert first.status_code == second.status_code == donated.status_code == 201
    (movement,) = first.json()["movements"]
    assert movement["kind"] == "receive"
    assert (movement["quantity"], movement["expires_on"]) == (120, str(in_days(365)))
    assert (movement["by"], movement["note"]) == (ops_user.username, "市の調達分")
    assert (first.json()["quantity"], first.json()["on_hand"]) == (120, 120)
    assert second.json()["movements"][0]["lot_id"] == movement["lot_id"]
    assert second.json()["on_hand"] == 200
    assert donated.json()["movements"][0]["lot_id"] != movement["lot_id"]
    assert Lot.objects.get(pk=movement["lot_id"]).on_hand == 200


@pytest.mark.django_db
def test_a_shelter_manager_receives_and_issues_at_their_own_shelter(manager, depot, water):
    receipt = post(manager, f"/depots/{depot.pk}/receipts", {"item_id": water.pk, "quantity": 50})
    issue = post(manager, f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 20})

    assert (receipt.status_code, issue.status_code) == (201, 201)
    assert issue.json()["quantity"] == -20
    assert issue.json()["on_hand"] == 30
    assert [m["kind"] for m in issue.json()["movements"]] == ["issue"]


@pytest.mark.django_db
def test_issuing_takes_the_soonest_expiring_lot_first(ops, stock_in, depot, water):
    stock_in(depot, water, 10, days=200)
    stock_in(depot, water, 10, days=20)

    response = post(ops, f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 15})

    assert [(m["expires_on"], m["quantity"]) for m in response.json()["movements"]] == [
        (str(in_days(20)), -10),
        (str(in_days(200)), -5),
    ]


@pytest.mark.django_db
def test_issuing_more_than_on_hand_is_refused_with_what_is_available(
    ops, stock_in, found_expired, depot, water
):
    stock_in(depot, water, 12, days=30)
    found_expired(depot, water, 100)  # on the shelf, but not to be handed out
    movements, events = Movement.objects.count(), Event.objects.count()

    response = post(ops, f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 13})

    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["available"]) == ("conflict", 12)
    assert "12" in body["message"]
    assert (Movement.objects.count(), Event.objects.count()) == (movements, events)
    assert services.on_hand_of(depot, water) == 112


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["receipts", "issues"])
@pytest.mark.parametrize("quantity", [0, -1, -500])
def test_zero_or_negative_quantities_are_refused_and_write_nothing(
    ops, depot, water, action, quantity
):
    response = post(
        ops, f"/depots/{depot.pk}/{action}", {"item_id": water.pk, "quantity": quantity}
    )

    assert response.status_code == 422
    assert error_fields(response) == {"quantity"}
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("receipts", {"quantity": 1}),
        ("issues", {"quantity": 1}),
        ("counts", {"counted": 3, "reason": "found"}),
        ("disposals", {}),
    ],
)
def test_an_unknown_item_is_refused_on_item_id(ops, depot, action, body):
    response = post(ops, f"/depots/{depot.pk}/{action}", {"item_id": 987654, **body})

    assert response.status_code == 422
    assert error_fields(response) == {"item_id"}
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["receipts", "issues", "counts", "disposals"])
def test_an_unknown_depot_is_not_found(ops, water, action):
    body = {"item_id": water.pk, "quantity": 1, "counted": 1, "reason": "found"}

    response = post(ops, f"/depots/987654/{action}", body)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert nothing_written()


@pytest.mark.django_db
def test_a_receipt_that_has_already_expired_is_refused_on_expires_on(ops, depot, water):
    yesterday = str(in_days(-1))

    response = post(
        ops,
        f"/depots/{depot.pk}/receipts",
        {"item_id": water.pk, "quantity": 10, "expires_on": yesterday},
    )

    assert response.status_code == 422
    assert error_fields(response) == {"expires_on"}
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["receipts", "issues", "counts", "disposals"])
@pytest.mark.parametrize("whose", ["other_depot", "central_depot"])
def test_a_shelter_manager_cannot_write_to_a_depot_that_is_not_their_shelters(
    request, manager, water, action, whose
):
    target = request.getfixturevalue(whose)
    body = {"item_id": water.pk, "quantity": 1, "counted": 1, "reason": "found"}

    response = post(manager, f"/depots/{target.pk}/{action}", body)

    assert response.status_code == 403
    assert nothing_written()
    assert get(manager, f"/depots/{target.pk}/stock").status_code == 403


@pytest.mark.django_db
def test_a_shelter_manager_sees_only_their_own_depots_movements(
    manager, stock_in, depot, other_depot, water
):
    stock_in(depot, water, 5)
    stock_in(other_depot, water, 7)

    response = get(manager, "/movements")

    assert [m["depot_id"] for m in response.json()["items"]] == [depot.pk]


# Counts and disposals ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_count_that_differs_from_the_books_needs_a_reason(ops, stock_in, depot, water):
    stock_in(depot, water, 40, days=100)
    count = {"item_id": water.pk, "expires_on": str(in_days(100)), "counted": 36}
    movements = Movement.objects.count()

    without = post(ops, f"/depots/{depot.pk}/counts", count)
    made_up = post(ops, f"/depots/{depot.pk}/counts", {**count, "reason": "gremlins"})

    assert (without.status_code, made_up.status_code) == (422, 422)
    assert error_fields(without) == error_fields(made_up) == {"reason"}
    assert Movement.objects.count() == movements
    assert services.on_hand_of(depot, water) == 40


@pytest.mark.django_db
def test_a_count_that_differs_is_adjusted_with_its_reason(ops, stock_in, depot, water):
    stock_in(depot, water, 40, days=100)
    count = {"item_id": water.pk, "expires_on": str(in_days(100)), "counted": 36}

    response = post(ops, f"/depots/{depot.pk}/counts", {**count, "reason": "damaged"})

    assert response.status_code == 201
    (movement,) = response.json()["movements"]
    assert (movement["kind"], movement["quantity"], movement["reason"]) == ("adjust", -4, "damaged")
    assert response.json()["on_hand"] == 36


@pytest.mark.django_db
def test_a_count_that_matches_the_books_writes_nothing(ops, stock_in, depot, water):
    stock_in(depot, water, 40, days=100)
    events = Event.objects.count()
    count = {"item_id": water.pk, "expires_on": str(in_days(100)), "counted": 40}

    response = post(ops, f"/depots/{depot.pk}/counts", count)

    assert response.status_code == 201
    assert response.json()["movements"] == []
    assert response.json()["on_hand"] == 40
    assert Movement.objects.count() == 1
    assert Event.objects.count() == events


@pytest.mark.django_db
def test_the_reasons_for_a_count_are_the_fixed_list(ops, depot, water):
    reasons = ["found", "lost", "damaged", "expired", "unrecorded", "drill", "other"]
    assert list(Movement.Reason.values) == reasons

    answers = [
        post(
            ops,
            f"/depots/{depot.pk}/counts",
            {"item_id": water.pk, "counted": n, "reason": reason},
        ).status_code
        for n, reason in enumerate(reasons, start=1)  # each count differs from the last
    ]

    assert answers == [201] * len(reasons)
    assert list(Movement.objects.order_by("id").values_list("reason", flat=True)) == reasons


@pytest.mark.django_db
def test_disposing_writes_off_the_expired_lots_only(ops, stock_in, found_expired, depot, water):
    found_expired(depot, water, 30, days_ago=3)
    stock_in(depot, water, 10, days=5)

    response = post(ops, f"/depots/{depot.pk}/disposals", {"item_id": water.pk})

    assert response.status_code == 201
    (movement,) = response.json()["movements"]
    assert (movement["kind"], movement["quantity"], movement["reason"]) == (
        "dispose",
        -30,
        "expired",
    )
    assert movement["expires_on"] == str(in_days(-3))
    assert response.json()["on_hand"] == 10


@pytest.mark.django_db
def test_disposing_when_nothing_has_expired_is_a_conflict(ops, stock_in, depot, water):
    stock_in(depot, water, 10, days=5)
    events = Event.objects.count()

    response = post(ops, f"/depots/{depot.pk}/disposals", {"item_id": water.pk})

    assert response.status_code == 409
    assert Movement.objects.count() == 1
    assert Event.objects.count() == events


# Idempotency ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["receipts", "issues"])
def test_a_replayed_write_gets_the_first_answer_and_changes_nothing(
    ops, stock_in, depot, water, action
):
    stock_in(depot, water, 100)
    key = str(uuid.uuid4())
    body = {"item_id": water.pk, "quantity": 30}
    movements, events = Movement.objects.count(), Event.objects.count()

    first = post(ops, f"/depots/{depot.pk}/{action}", body, key=key)
    again = post(ops, f"/depots/{depot.pk}/{action}", body, key=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert Movement.objects.count() == movements + 1
    assert Event.objects.count() == events + 1
    assert services.on_hand_of(depot, water) == (130 if action == "receipts" else 70)


@pytest.mark.django_db
def test_an_api_receipt_records_the_key_it_was_sent_with(ops, depot, water):
    key = str(uuid.uuid4())

    response = post(
        ops, f"/depots/{depot.pk}/receipts", {"item_id": water.pk, "quantity": 30}, key=key
    )

    assert response.status_code == 201, response.content
    (movement,) = Movement.objects.filter(kind=Movement.Kind.RECEIVE)
    claim = IdempotentRequest.objects.get(key=key)
    assert movement.idempotency_key == record_key(claim.principal, key, claim.pk)


@pytest.mark.django_db
def test_an_api_issue_out_of_two_lots_records_the_key_on_each_movement(ops, stock_in, depot, water):
    stock_in(depot, water, 20, days=30)
    stock_in(depot, water, 100, days=400)
    key = str(uuid.uuid4())

    response = post(
        ops, f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 30}, key=key
    )

    assert response.status_code == 201, response.content
    claim = IdempotentRequest.objects.get(key=key)
    first = record_key(claim.principal, key, claim.pk)
    issued = Movement.objects.filter(kind=Movement.Kind.ISSUE).order_by("id")
    assert [(m.quantity, m.idempotency_key) for m in issued] == [(-20, first), (-10, f"{first}/1")]


@pytest.mark.django_db
def test_two_users_may_send_the_same_key(ops, manager, depot, water):
    key = "receipt-1"  # a tablet's counter, not a UUID: another user's tablet counts too
    body = {"item_id": water.pk, "quantity": 10}

    by_ops = post(ops, f"/depots/{depot.pk}/receipts", body, key=key)
    by_manager = post(manager, f"/depots/{depot.pk}/receipts", body, key=key)

    assert by_ops.status_code == by_manager.status_code == 201
    assert "Idempotent-Replayed" not in by_manager
    keys = {m.idempotency_key for m in Movement.objects.all()}
    assert len(keys) == 2 and None not in keys
    assert services.on_hand_of(depot, water) == 20


@pytest.mark.django_db
def test_a_keyed_api_issue_costs_no_statement_beyond_the_claim(ops, stock_in, depot, water):
    """The key goes into the movement's INSERT; the ledger's own replay check (a lock and a
    look-up) is left to the middleware's claim, which the stock API benchmark pays anyway."""
    stock_in(depot, water, 100, days=400)
    url, body = f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 1}
    post(ops, url, body)  # the token's last-use stamp, once

    with CaptureQueriesContext(connection) as unkeyed:
        post(ops, url, body)
    with CaptureQueriesContext(connection) as keyed:
        post(ops, url, body, key=str(uuid.uuid4()))

    def ledger(queries) -> list[str]:
        """The statements' shapes (a value or NULL alike), leaving out the claim and its
        transaction (a savepoint inside the test's)."""
        table = IdempotentRequest._meta.db_table
        return [
            re.sub(r"'(?:[^']|'')*'|-?\b\d+\b|NULL", "?", q["sql"])
            for q in queries
            if table not in q["sql"] and "SAVEPOINT" not in q["sql"]
        ]

    assert ledger(keyed.captured_queries) == ledger(unkeyed.captured_queries)


@pytest.mark.django_db
def test_a_refused_issue_keeps_its_refusal_for_its_key_and_writes_nothing(
    ops, stock_in, depot, water
):
    stock_in(depot, water, 10, days=60)
    key = str(uuid.uuid4())
    url, body = f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 11}

    refused = post(ops, url, body, key=key)
    stock_in(depot, water, 100, days=60)  # enough now, but this key was answered already
    again = post(ops, url, body, key=key)
    fresh = post(ops, url, body, key=str(uuid.uuid4()))

    assert refused.status_code == 409, refused.content
    assert refused.json()["available"] == 10
    assert (again.status_code, again.json()) == (409, refused.json())
    assert again["Idempotent-Replayed"] == "true"
    assert IdempotentRequest.objects.get(key=key).status == 409
    assert fresh.status_code == 201, fresh.content
    assert Movement.objects.filter(kind=Movement.Kind.ISSUE).count() == 1
    assert services.on_hand_of(depot, water) == 99


@pytest.mark.django_db
def test_an_issue_that_fails_after_taking_the_stock_keeps_nothing_and_its_key_stays_free(
    ops, stock_in, depot, water
):
    """No savepoint guards the ledger's statements inside the claim's transaction: an error
    after the stock left its lot must still take the whole request back, claim included."""
    stock_in(depot, water, 50, days=60)
    events = Event._meta.db_table
    with connection.cursor() as cursor:  # the event log refuses: after the lot and ledger
        cursor.execute(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'event log unavailable'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {events} "
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
        )
    ops.raise_request_exception = False
    key = str(uuid.uuid4())
    url, body = f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 20}

    failed = post(ops, url, body, key=key)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER refuse ON {events}")
    retried = post(ops, url, body, key=key)

    assert failed.status_code == 500
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried
    assert Movement.objects.filter(kind=Movement.Kind.ISSUE).count() == 1
    assert services.on_hand_of(depot, water) == 30


@pytest.mark.django_db
def test_a_keyed_api_issue_sends_six_statements(ops, stock_in, depot, water):
    """The stock API benchmark's request: the token, the claim, the depot with the item, the
    lots locked and taken from with the movements written, the event, the kept answer
    (with BEGIN and COMMIT, 8 round trips). No savepoint: the test's own transaction
    supplies the two around the claim's."""
    stock_in(depot, water, 20, days=30)
    stock_in(depot, water, 100, days=400)
    url = f"/depots/{depot.pk}/issues"
    post(ops, url, {"item_id": water.pk, "quantity": 1})  # the token's last-use stamp, once

    with CaptureQueriesContext(connection) as queries:
        response = post(ops, url, {"item_id": water.pk, "quantity": 30}, key=str(uuid.uuid4()))

    assert response.status_code == 201, response.content
    assert len(response.json()["movements"]) == 2
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 6, "\n".join(statements)
    assert len(queries.captured_queries) == 6 + 2  # the claim's savepoint and its release


# Transfers --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_transfer_is_planned_dispatched_and_received_keeping_its_lots_expiry_dates(
    ops, manager, stock_in, depot, central_depot, water, published
):
    stock_in(central_depot, water, 40, days=60, source=Lot.Source.PUSH)
    stock_in(central_depot, water, 100, days=900)

    planned = post(
        ops,
        "/transfers",
        {
            "from_depot_id": central_depot.pk,
            "to_depot_id": depot.pk,
            "item_id": water.pk,
            "quantity": 70,
        },
    )
    assert planned.status_code == 201
    transfer_id = planned.json()["id"]
    assert (planned.json()["status"], planned.json()["lots"]) == ("planned", [])
    assert stock_line(ops, central_depot, water)["on_hand"] == 140

    dispatched = post(ops, f"/transfers/{transfer_id}/dispatch", key="dispatch")
    assert dispatched.status_code == 200
    assert dispatched.json()["status"] == "dispatched"
    assert dispatched.json()["lots"] == [
        {"expires_on": str(in_days(60)), "source": "push", "quantity": 40},
        {"expires_on": str(in_days(900)), "source": "procured", "quantity": 30},
    ]
    assert stock_line(ops, central_depot, water)["on_hand"] == 70
    in_transit = stock_line(manager, depot, water)
    assert (in_transit["on_hand"], in_transit["incoming"], in_transit["lots"]) == (0, 70, [])

    received = post(manager, f"/transfers/{transfer_id}/receive", key="receive")
    assert received.status_code == 200
    assert received.json()["status"] == "received"
    arrived = stock_line(manager, depot, water)
    assert (arrived["on_hand"], arrived["incoming"]) == (70, 0)
    assert [(lot["expires_on"], lot["source"], lot["on_hand"]) for lot in arrived["lots"]] == [
        (str(in_days(60)), "push", 40),
        (str(in_days(900)), "procured", 30),
    ]
    assert [e["status"] for e in published("transfer.planned")] == ["planned"]
    assert [e["status"] for e in published("transfer.received")] == ["received"]
    # Each end's movements carry the key its request was sent with.
    dispatch_claim, receive_claim = (
        IdempotentRequest.objects.get(key=k) for k in ("dispatch", "receive")
    )
    sent = record_key(dispatch_claim.principal, "dispatch", dispatch_claim.pk)
    got = record_key(receive_claim.principal, "receive", receive_claim.pk)
    moved = Movement.objects.filter(transfer_id=transfer_id).order_by("id")
    assert [(m.kind, m.idempotency_key) for m in moved] == [
        ("transfer_out", sent),
        ("transfer_out", f"{sent}/1"),
        ("transfer_in", got),
        ("transfer_in", f"{got}/1"),
    ]


@pytest.mark.django_db
def test_a_shelter_manager_cannot_plan_or_dispatch_a_transfer_out_of_another_depot(
    ops, manager, stock_in, depot, central_depot, water
):
    stock_in(central_depot, water, 40)
    body = {
        "from_depot_id": central_depot.pk,
        "to_depot_id": depot.pk,
        "item_id": water.pk,
        "quantity": 10,
    }
    assert post(manager, "/transfers", body).status_code == 403
    transfer_id = post(ops, "/transfers", body).json()["id"]

    assert post(manager, f"/transfers/{transfer_id}/dispatch").status_code == 403
    assert post(manager, f"/transfers/{transfer_id}/receive").status_code == 409  # not sent yet
    assert Transfer.objects.get().status == Transfer.Status.PLANNED


@pytest.mark.django_db
def test_only_a_planned_transfer_can_be_cancelled(ops, stock_in, depot, central_depot, water):
    stock_in(central_depot, water, 40)
    body = {
        "from_depot_id": central_depot.pk,
        "to_depot_id": depot.pk,
        "item_id": water.pk,
        "quantity": 10,
    }
    planned = post(ops, "/transfers", body).json()["id"]
    sent = post(ops, "/transfers", {**body, "dispatch": True}).json()["id"]

    cancelled = post(ops, f"/transfers/{planned}/cancel")
    refused = post(ops, f"/transfers/{sent}/cancel")

    assert cancelled.json()["status"] == "cancelled"
    assert refused.status_code == 409
    assert refused.json()["status_now"] == "dispatched"
    assert services.on_hand_of(central_depot, water) == 30


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to_depot_id": "FROM"}, "to_depot_id"),
        ({"from_depot_id": 987654}, "from_depot_id"),
        ({"to_depot_id": 987654}, "to_depot_id"),
        ({"item_id": 987654}, "item_id"),
        ({"quantity": 0}, "quantity"),
    ],
)
def test_a_transfer_with_bad_input_is_refused_on_its_field(
    ops, stock_in, depot, central_depot, water, change, field
):
    stock_in(central_depot, water, 40)
    body = {
        "from_depot_id": central_depot.pk,
        "to_depot_id": depot.pk,
        "item_id": water.pk,
        "quantity": 10,
    }
    body |= {k: central_depot.pk if v == "FROM" else v for k, v in change.items()}

    response = post(ops, "/transfers", body)

    assert response.status_code == 422
    assert error_fields(response) == {field}
    assert not Transfer.objects.exists()


# Supply requests --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_supply_request_is_fulfilled_by_transfers_and_its_manager_follows_each_line(
    ops, manager, stock_in, depot, other_depot, central_depot, water, rice, published
):
    stock_in(central_depot, water, 500, days=700)
    stock_in(central_depot, rice, 300, days=700)
    stock_in(other_depot, water, 100, days=30)

    created = post(
        manager,
        "/supply-requests",
        {
            "depot_id": depot.pk,
            "urgency": "urgent",
            "lines": [{"item_id": water.pk, "quantity": 100}, {"item_id": rice.pk, "quantity": 50}],
            "note": "避難者が増えています",
        },
    )
    assert created.status_code == 201
    request_id = created.json()["id"]
    water_line, rice_line = (line["id"] for line in created.json()["lines"])

    def progress() -> dict:
        response = get(manager, f"/supply-requests/{request_id}")
        assert response.status_code == 200
        body = response.json()
        lines = {
            line["item"]["code"]: (line["committed"], line["in_transit"], line["received"])
            for line in body["lines"]
        }
        return {"status": body["status"], **lines}

    def send(source: Depot, item, line: int, quantity: int, dispatch: bool = True) -> int:
        body = {
            "from_depot_id": source.pk,
            "to_depot_id": depot.pk,
            "item_id": item.pk,
            "quantity": quantity,
            "request_line_id": line,
            "dispatch": dispatch,
        }
        response = post(ops, "/transfers", body)
        assert response.status_code == 201, response.content
        assert response.json()["request_id"] == request_id
        return response.json()["id"]

    assert progress() == {"status": "requested", "water": (0, 0, 0), "alpha-rice": (0, 0, 0)}
    # Nothing is sent against a request that has not been approved.
    refused = post(
        ops,
        "/transfers",
        {
            "from_depot_id": central_depot.pk,
            "to_depot_id": depot.pk,
            "item_id": water.pk,
            "quantity": 10,
            "request_line_id": water_line,
        },
    )
    assert refused.status_code == 409
    assert post(manager, f"/supply-requests/{request_id}/approve").status_code == 403
    assert post(ops, f"/supply-requests/{request_id}/approve").json()["status"] == "approved"

    first_water = send(central_depot, water, water_line, 60)
    second_water = send(other_depot, water, water_line, 40, dispatch=False)
    rice_transfer = send(central_depot, rice, rice_line, 50)
    assert progress() == {"status": "approved", "water": (100, 60, 0), "alpha-rice": (50, 50, 0)}

    post(manager, f"/transfers/{first_water}/receive")
    post(manager, f"/transfers/{rice_transfer}/receive")
    assert progress() == {"status": "approved", "water": (100, 0, 60), "alpha-rice": (50, 0, 50)}

    post(ops, f"/transfers/{second_water}/dispatch")
    assert progress() == {"status": "approved", "water": (100, 40, 60), "alpha-rice": (50, 0, 50)}
    post(manager, f"/transfers/{second_water}/receive")

    assert progress() == {
        "status": "fulfilled",
        "water": (100, 0, 100),
        "alpha-rice": (50, 0, 50),
    }
    assert [e["status"] for e in published("supply_request.fulfilled")] == ["fulfilled"]
    assert services.on_hand_of(depot, water) == 100
    assert SupplyRequest.objects.get().status == SupplyRequest.Status.FULFILLED


@pytest.mark.django_db
def test_a_shelter_manager_cannot_ask_for_supplies_for_another_shelter(manager, other_depot, water):
    response = post(
        manager,
        "/supply-requests",
        {"depot_id": other_depot.pk, "lines": [{"item_id": water.pk, "quantity": 10}]},
    )

    assert response.status_code == 403
    assert not SupplyRequest.objects.exists()


# Derived figures --------------------------------------------------------------------------


@pytest.mark.django_db
def test_days_of_supply_is_on_hand_over_evacuees_times_the_norm(
    manager, stock_in, shelter, depot, water, rice
):
    evacuate(shelter, 250)
    stock_in(depot, water, 1500, days=400)  # 250 people × 3 L a day = 750 L a day
    stock_in(depot, rice, 2500, days=400)  # 250 × 2 meals = 500 a day

    water_line, rice_line = stock_line(manager, depot, water), stock_line(manager, depot, rice)

    assert water_line["evacuees"] == 250
    assert (water_line["days_of_supply"], water_line["hours_until_empty"]) == (2.0, 48.0)
    assert water_line["status"] == "short"  # under STOCK_SHORTAGE_DAYS (3)
    assert (rice_line["days_of_supply"], rice_line["status"]) == (5.0, "low")  # under 2 × 3


@pytest.mark.django_db
def test_expired_stock_does_not_count_towards_days_of_supply(
    manager, stock_in, found_expired, shelter, depot, water
):
    evacuate(shelter, 100)
    stock_in(depot, water, 900, days=400)
    found_expired(depot, water, 3000)

    line = stock_line(manager, depot, water)

    assert (line["on_hand"], line["expired"], line["days_of_supply"]) == (900, 3000, 3.0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("evacuees", "incident_days", "required"),
    [
        (0, None, 0),
        (1, None, 1),
        (50, None, 1),
        (101, None, 3),  # ceil(101 / 50): one toilet per 50 people at first
        (101, 6, 3),  # the incident is not long enough yet
        (101, 7, 6),  # ceil(101 / 20) once it has lasted STOCK_LONG_TERM_AFTER_DAYS
        (400, 30, 20),
    ],
)
def test_toilets_needed_are_one_per_50_people_then_one_per_20_once_the_stay_is_long(
    ops, stock_in, shelter, depot, toilets, evacuees, incident_days, required
):
    if evacuees:
        evacuate(shelter, evacuees)
    if incident_days is not None:
        Incident.objects.create(
            name="相模川 洪水",
            kind=Incident.Kind.FLOOD,
            phase=Incident.Phase.RESPONSE,
            started_at=timezone.now() - dt.timedelta(days=incident_days, minutes=1),
        )
    stock_in(depot, toilets, 3)

    line = stock_line(ops, depot, toilets)

    assert line["required_units"] == required
    assert line["status"] == ("short" if required > 3 else "ok" if required else "unrated")


@pytest.mark.django_db
def test_a_closed_incident_does_not_make_the_stay_long(ops, stock_in, shelter, depot, toilets):
    evacuate(shelter, 101)
    Incident.objects.create(
        name="昨年の地震",
        kind=Incident.Kind.EARTHQUAKE,
        phase=Incident.Phase.CLOSED,
        started_at=timezone.now() - dt.timedelta(days=400),
    )

    assert stock_line(ops, depot, toilets)["required_units"] == 3


@pytest.mark.django_db
def test_the_shortage_list_names_what_runs_out_within_the_threshold_worst_first(
    ops,
    manager,
    stock_in,
    shelter,
    other_shelter,
    depot,
    other_depot,
    central_depot,
    water,
    rice,
    toilets,
):
    evacuate(shelter, 100)  # needs 300 L of water and 200 meals a day
    evacuate(other_shelter, 100)
    stock_in(depot, water, 600, days=400)  # 2 days: short
    stock_in(depot, rice, 1000, days=400)  # 5 days: low, not short
    stock_in(depot, toilets, 2)  # 100 people need 2: enough
    stock_in(other_depot, water, 150, days=400)  # half a day: the worst
    stock_in(other_depot, rice, 2000, days=400)
    stock_in(central_depot, water, 10_000, days=400)  # nobody to supply there

    response = get(ops, "/stock/shortages")

    assert response.status_code == 200
    assert [
        (s["depot"]["id"], s["item"]["code"], s["days_of_supply"], s["hours_until_empty"])
        for s in response.json()["items"]
    ] == [
        (other_depot.pk, "toilet-units", None, None),  # none there at all
        (other_depot.pk, "water", 0.5, 12.0),
        (depot.pk, "water", 2.0, 48.0),
    ]
    assert response.json()["count"] == 3
    assert response.json()["items"][0]["required_units"] == 2
    within_a_day = get(ops, "/stock/shortages", threshold_days=1).json()["items"]
    assert [s["item"]["code"] for s in within_a_day] == ["toilet-units", "water"]
    page = get(ops, "/stock/shortages", limit=1, offset=1).json()
    assert page["count"] == 3
    assert [(s["depot"]["id"], s["item"]["code"]) for s in page["items"]] == [
        (other_depot.pk, "water")
    ]
    assert get(manager, "/stock/shortages").status_code == 403


@pytest.mark.django_db
def test_the_city_view_adds_up_every_depot(
    ops, stock_in, found_expired, shelter, other_shelter, depot, other_depot, central_depot, water
):
    evacuate(shelter, 100)
    evacuate(other_shelter, 200)
    stock_in(depot, water, 300, days=400)
    stock_in(other_depot, water, 2000, days=400)
    stock_in(central_depot, water, 1000, days=400)
    found_expired(central_depot, water, 50)
    services.plan_transfer(
        from_depot=central_depot,
        to_depot=depot,
        item=water,
        quantity=400,
        by=None,
        dispatch=True,
    )

    lines = get(ops, "/stock/city").json()["items"]
    (line,) = [line for line in lines if line["item"]["code"] == "water"]

    assert line["on_hand"] == 300 + 2000 + 600  # the 400 on the road are on no shelf
    assert (line["expired"], line["in_transit"], line["evacuees"]) == (50, 400, 300)
    assert line["days_of_supply"] == round(2900 / (300 * 3), 2)
    assert line["depots_short"] == 1  # the first shelter: 300 L for 100 people is one day


@pytest.mark.django_db
def test_expiring_lots_come_with_what_to_do_with_each(
    ops, manager, stock_in, found_expired, depot, other_depot, water, rice
):
    found_expired(depot, water, 5, days_ago=2)
    stock_in(depot, rice, 10, days=12)
    stock_in(depot, water, 20, days=60)
    stock_in(depot, water, 30, days=400)  # beyond the 90 days looked at
    stock_in(other_depot, rice, 40, days=1)

    everything = get(ops, "/stock/expiring").json()["items"]
    mine = get(manager, "/stock/expiring").json()["items"]
    soon = get(ops, "/stock/expiring", within_days=20, depot=depot.pk).json()["items"]

    assert [
        (e["depot"]["id"], e["item"]["code"], e["days_left"], e["suggestion"]) for e in everything
    ] == [
        (depot.pk, "water", -2, "dispose"),
        (other_depot.pk, "alpha-rice", 1, "use_first"),
        (depot.pk, "alpha-rice", 12, "use_first"),
        (depot.pk, "water", 60, "rotate"),
    ]
    assert [e["lot"]["on_hand"] for e in mine] == [5, 10, 20]
    assert [e["days_left"] for e in soon] == [-2, 12]
    page = get(ops, "/stock/expiring", within_days=20, limit=1, offset=1).json()
    assert (page["count"], [e["days_left"] for e in page["items"]]) == (3, [1])
    assert get(manager, "/stock/expiring", depot=other_depot.pk).status_code == 403


@pytest.fixture
def far_depot(db) -> Depot:
    """A warehouse in Shinjuku, some 30 km away."""
    return Depot.objects.create(name="都庁 備蓄倉庫", point=Point(139.6917, 35.6896, srid=4326))


@pytest.mark.django_db
def test_the_proposal_picks_the_nearest_depot_with_surplus(
    ops, stock_in, shelter, other_shelter, depot, other_depot, central_depot, far_depot, water
):
    evacuate(shelter, 100)  # 300 L a day; nothing on hand
    evacuate(other_shelter, 100)  # the nearest depot keeps 6 days for its own: 1800 L
    stock_in(other_depot, water, 1800, days=400)
    stock_in(central_depot, water, 5000, days=400)
    stock_in(far_depot, water, 9000, days=400)

    response = get(ops, "/stock/proposal", depot_id=depot.pk, item_id=water.pk)

    assert response.status_code == 200
    proposal = response.json()
    assert (proposal["from_depot"]["id"], proposal["to_depot"]["id"]) == (
        central_depot.pk,
        depot.pk,
    )
    # Enough for twice the shortage threshold: 2 × 3 days × 300 L.
    assert proposal["quantity"] == proposal["needed"] == 1800
    assert 6_000 < proposal["distance_m"] < 8_000


@pytest.mark.django_db
def test_the_proposal_offers_what_the_nearest_depot_can_spare_when_none_has_enough(
    ops, stock_in, shelter, depot, other_depot, central_depot, water
):
    evacuate(shelter, 100)
    stock_in(other_depot, water, 500, days=400)
    stock_in(central_depot, water, 700, days=400)

    proposal = get(ops, "/stock/proposal", depot_id=depot.pk, item_id=water.pk).json()

    assert (proposal["from_depot"]["id"], proposal["quantity"], proposal["needed"]) == (
        other_depot.pk,
        500,
        1800,
    )


@pytest.mark.django_db
def test_accepting_the_proposal_creates_the_transfer_in_one_action(
    ops, stock_in, shelter, depot, central_depot, water, published
):
    evacuate(shelter, 100)
    stock_in(depot, water, 300, days=400)  # one day
    stock_in(central_depot, water, 5000, days=400)

    response = post(
        ops, "/stock/proposal", {"depot_id": depot.pk, "item_id": water.pk, "dispatch": True}
    )

    assert response.status_code == 201
    transfer = response.json()
    assert (transfer["from_depot"]["id"], transfer["to_depot"]["id"]) == (
        central_depot.pk,
        depot.pk,
    )
    assert (transfer["quantity"], transfer["status"]) == (1500, "dispatched")
    assert stock_line(ops, depot, water)["incoming"] == 1500
    assert [e["transfer_id"] for e in published("transfer.dispatched")] == [transfer["id"]]
    # What is on its way counts: nothing more is proposed.
    again = get(ops, "/stock/proposal", depot_id=depot.pk, item_id=water.pk)
    assert again.status_code == 404


@pytest.mark.django_db
def test_there_is_no_proposal_where_nothing_is_short(ops, stock_in, shelter, depot, water):
    evacuate(shelter, 10)
    stock_in(depot, water, 1000)

    response = post(ops, "/stock/proposal", {"depot_id": depot.pk, "item_id": water.pk})

    assert response.status_code == 404
    assert not Transfer.objects.exists()


# Events -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_stock_change_publishes_one_stock_moved_event(
    ops, manager, stock_in, found_expired, shelter, depot, central_depot, water, published
):
    found_expired(depot, water, 4)
    post(manager, f"/depots/{depot.pk}/receipts", {"item_id": water.pk, "quantity": 50})
    post(manager, f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 20})
    post(
        manager,
        f"/depots/{depot.pk}/counts",
        {"item_id": water.pk, "counted": 29, "reason": "lost"},
    )
    post(manager, f"/depots/{depot.pk}/disposals", {"item_id": water.pk})
    stock_in(central_depot, water, 10)
    transfer = post(
        ops,
        "/transfers",
        {
            "from_depot_id": central_depot.pk,
            "to_depot_id": depot.pk,
            "item_id": water.pk,
            "quantity": 10,
            "dispatch": True,
        },
    ).json()
    post(manager, f"/transfers/{transfer['id']}/receive")

    moved = published("stock.moved")

    assert [(e["kind"], e["depot_id"], e["quantity"], e["on_hand"]) for e in moved] == [
        ("adjust", depot.pk, 4, 4),
        ("receive", depot.pk, 50, 54),
        ("issue", depot.pk, -20, 34),
        ("adjust", depot.pk, -1, 33),
        ("dispose", depot.pk, -4, 29),
        ("receive", central_depot.pk, 10, 10),
        ("transfer_out", central_depot.pk, -10, 0),
        ("transfer_in", depot.pk, 10, 39),
    ]
    assert {e["shelter_id"] for e in moved if e["depot_id"] == depot.pk} == {shelter.pk}
    assert [e["transfer_id"] for e in moved[-2:]] == [transfer["id"]] * 2
    for event in moved:
        movements = Movement.objects.filter(pk__in=event["movement_ids"])
        assert sum(m.quantity for m in movements) == event["quantity"]


@pytest.mark.django_db
def test_a_refused_write_publishes_nothing(ops, manager, stock_in, depot, other_depot, water):
    stock_in(depot, water, 5)
    events = Event.objects.count()

    post(ops, f"/depots/{depot.pk}/issues", {"item_id": water.pk, "quantity": 6})  # 409
    post(ops, f"/depots/{depot.pk}/receipts", {"item_id": water.pk, "quantity": 0})  # 422
    post(manager, f"/depots/{other_depot.pk}/receipts", {"item_id": water.pk, "quantity": 1})

    assert Event.objects.count() == events


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_a_rolled_back_write_publishes_nothing(
    depot, water, ops_user, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as broadcasts,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        services.receive_stock(depot=depot, item=water, quantity=10, expires_on=None, by=ops_user)
        raise Rollback

    assert broadcasts == []
    assert not Event.objects.exists()
    assert not Lot.objects.filter(on_hand__gt=0).exists()

    with django_capture_on_commit_callbacks() as broadcasts:
        services.receive_stock(depot=depot, item=water, quantity=10, expires_on=None, by=ops_user)

    assert len(broadcasts) == 1
    assert Event.objects.get().kind == "stock.moved"


def test_a_time_before_year_one_in_utc_is_a_clear_422_not_a_crash(api_as, ops_user):
    response = api_as(ops_user).get("/api/v1/movements?since=0001-01-01T00:00:00%2B00:01")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "since"


# Catalogue and depot lists ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_catalogue_filters_by_category_and_by_part_of_a_code_or_name(
    manager, water, rice, toilets
):
    def codes(**params) -> list[str]:
        response = get(manager, "/items", **params)
        assert response.status_code == 200, response.content
        return [item["code"] for item in response.json()["items"]]

    assert codes() == ["alpha-rice", "toilet-units", "water"]  # by category, then code
    assert codes(category="food") == ["alpha-rice"]
    assert codes(q="アルファ") == ["alpha-rice"]
    assert codes(q="TOILET") == ["toilet-units"]
    assert codes(category="water", q="rice") == []
    assert get(manager, "/items", category="sweets").status_code == 422


@pytest.mark.django_db
def test_the_depot_list_filters_by_shelter_and_central_warehouses(
    manager, shelter, depot, other_depot, central_depot
):
    def ids(**params) -> set[int]:
        response = get(manager, "/depots", **params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["items"]}

    assert ids() == {depot.pk, other_depot.pk, central_depot.pk}
    assert ids(shelter=shelter.pk) == {depot.pk}
    assert ids(central="true") == {central_depot.pk}
    assert ids(central="false") == {depot.pk, other_depot.pk}
