"""The ledger under load, on the real database: many tablets issuing, receiving and sending
the same item out of the same depot at the same moment lose no update, never take stock
below zero, and refuse (409, with what is available) only what was truly not there.

Every worker thread has its own database connection and closes it when done; a barrier
starts them together.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client

from disaster.core.errors import Conflict
from disaster.core.models import ApiToken, Event
from stockpile import coverage, services
from stockpile.models import Lot, Movement, Transfer
from tests.fixtures.stockpile import in_days

TIMEOUT = 60  # seconds; only reached when something is stuck


def run_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    """Run each job on its own thread, all released at once; the errors they raised."""
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait(timeout=TIMEOUT)
            job()
        except BaseException as error:  # reported to the test, which fails on it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    return errors


def ledger_sum(depot, item) -> int:
    return Movement.objects.filter(depot=depot, item=item).aggregate(s=Sum("quantity"))["s"] or 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_receipts_and_transfers_lose_no_update(
    stock_in, depot, central_depot, water, ops_user
):
    stock_in(central_depot, water, 60, days=30)
    stock_in(central_depot, water, 40, days=300)
    initial = 100
    done = Counter()
    lock = threading.Lock()
    refusals: list[Conflict] = []

    def note(what: str, quantity: int) -> None:
        with lock:
            done[what] += quantity

    def issuer() -> None:
        for _ in range(3):
            try:
                services.issue_stock(depot=central_depot, item=water, quantity=7, by=ops_user)
                note("issued", 7)
            except Conflict as refusal:
                with lock:
                    refusals.append(refusal)

    def receiver() -> None:
        for n in range(3):
            services.receive_stock(
                depot=central_depot,
                item=water,
                quantity=4,
                expires_on=in_days(100 + n),
                by=ops_user,
            )
            note("received", 4)

    def sender() -> None:
        for _ in range(2):
            try:
                services.plan_transfer(
                    from_depot=central_depot,
                    to_depot=depot,
                    item=water,
                    quantity=9,
                    by=ops_user,
                    dispatch=True,
                )
                note("sent", 9)
            except Conflict as refusal:
                with lock:
                    refusals.append(refusal)

    # 12 × 3 × 7 = 252 asked for, against at most 100 + 6 × 3 × 4 = 172 there: many refusals.
    errors = run_together([issuer] * 12 + [receiver] * 6 + [sender] * 4)

    assert errors == []
    assert done["received"] == 72
    assert refusals, "the demand was meant to exceed the stock"
    for refusal in refusals:
        assert set(refusal.extra) == {"available"}
        assert 0 <= refusal.extra["available"] < 9
    on_hand = services.on_hand_of(central_depot, water)
    assert on_hand == initial + done["received"] - done["issued"] - done["sent"]
    assert on_hand == ledger_sum(central_depot, water)
    assert not Lot.objects.filter(on_hand__lt=0).exists()
    for lot in Lot.objects.all():
        assert lot.on_hand == lot.movements.aggregate(s=Sum("quantity"))["s"]
    dispatched = Transfer.objects.filter(status=Transfer.Status.DISPATCHED)
    assert sum(t.quantity for t in dispatched) == done["sent"]
    assert not Transfer.objects.exclude(status=Transfer.Status.DISPATCHED).exists()
    (incoming,) = coverage.levels(depots=[depot], items=[water], include_empty=True)
    assert (incoming.on_hand, incoming.incoming) == (0, done["sent"])
    actions = 2 + done["issued"] // 7 + done["received"] // 4 + done["sent"] // 9
    moved = Event.objects.filter(kind="stock.moved").values_list("payload", flat=True)
    assert len(moved) == actions  # one event per action that went through, none for refusals
    assert all(payload["on_hand"] >= 0 for payload in moved)


@pytest.mark.django_db(transaction=True)
def test_a_planned_transfer_dispatched_by_many_at_once_leaves_once(
    stock_in, depot, central_depot, water, ops_user
):
    stock_in(central_depot, water, 50, days=30)
    transfer = services.plan_transfer(
        from_depot=central_depot, to_depot=depot, item=water, quantity=20, by=ops_user
    )
    outcomes = Counter()
    lock = threading.Lock()

    def dispatch() -> None:
        try:
            services.dispatch_transfer(transfer_id=transfer.pk, by=ops_user)
            outcome = "sent"
        except Conflict as refusal:
            outcome = refusal.extra.get("status_now")
        with lock:
            outcomes[outcome] += 1

    assert run_together([dispatch] * 20) == []

    assert outcomes == {"sent": 1, Transfer.Status.DISPATCHED: 19}  # the others: 409
    assert services.on_hand_of(central_depot, water) == 30
    assert Movement.objects.filter(transfer=transfer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_sent_by_many_at_once_writes_once(depot, water, ops_user):
    _, secret = ApiToken.issue(ops_user, "tablet")
    key = str(uuid.uuid4())
    answers = []
    lock = threading.Lock()

    def send() -> None:
        client = Client(headers={"Authorization": f"Bearer {secret}"})
        response = client.post(
            f"/api/v1/depots/{depot.pk}/receipts",
            {"item_id": water.pk, "quantity": 24, "expires_on": str(in_days(365))},
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )
        with lock:
            answers.append(
                (response.status_code, response.json(), response.get("Idempotent-Replayed"))
            )

    assert run_together([send] * 10) == []

    assert len(answers) == 10
    assert {status for status, _, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body, _ in answers)
    assert sorted(str(replayed) for *_, replayed in answers) == ["None"] + ["true"] * 9
    assert Movement.objects.count() == 1
    assert services.on_hand_of(depot, water) == 24
    assert Event.objects.filter(kind="stock.moved").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_service_idempotency_key_used_by_many_at_once_writes_once(depot, water, ops_user):
    postings = []
    lock = threading.Lock()

    def receive() -> None:
        posting = services.receive_stock(
            depot=depot,
            item=water,
            quantity=24,
            expires_on=in_days(365),
            by=ops_user,
            idempotency_key="tablet-3:receipt-17",
        )
        with lock:
            postings.append(posting)

    assert run_together([receive] * 10) == []

    assert len(postings) == 10
    assert {tuple(m.pk for m in p.movements) for p in postings} == {
        tuple(Movement.objects.values_list("pk", flat=True))
    }
    assert services.on_hand_of(depot, water) == 24
    assert Event.objects.filter(kind="stock.moved").count() == 1


def issue_by_api(secret: str, depot, item, quantity: int, key: str):
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    return client.post(
        f"/api/v1/depots/{depot.pk}/issues",
        {"item_id": item.pk, "quantity": quantity},
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


@pytest.mark.django_db(transaction=True)
def test_two_issues_draining_the_same_lot_at_once_hand_it_out_once(
    stock_in, depot, water, ops_user
):
    stock_in(depot, water, 30, days=60)
    _, secret = ApiToken.issue(ops_user, "tablet")
    answers = []
    lock = threading.Lock()

    def drain(key: str) -> None:
        response = issue_by_api(secret, depot, water, 30, key)
        with lock:
            answers.append((key, response.status_code, response.json()))

    keys = [str(uuid.uuid4()), str(uuid.uuid4())]
    assert run_together([lambda k=k: drain(k) for k in keys]) == []

    assert sorted(status for _, status, _ in answers) == [201, 409]
    (refused,) = [body for _, status, body in answers if status == 409]
    assert refused["available"] == 0
    (issued,) = Movement.objects.filter(kind=Movement.Kind.ISSUE)
    assert issued.quantity == -30
    assert services.on_hand_of(depot, water) == 0 == ledger_sum(depot, water)
    # Each key keeps the answer it got: a resend of the refused one is refused again.
    for key, status, body in answers:
        again = issue_by_api(secret, depot, water, 30, key)
        assert (again.status_code, again.json()) == (status, body)
        assert again["Idempotent-Replayed"] == "true"
    assert Movement.objects.filter(kind=Movement.Kind.ISSUE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_issue_that_waited_for_a_receipt_takes_what_the_receipt_brought(depot, water, ops_user):
    """An issue that finds the lot empty when it starts, waits for its lock while a receipt
    adds to it, then takes from it: the new on-hand is computed from the lot as locked, not
    from the older version the statement started with (0 − 5, which CHECK (on_hand >= 0)
    would refuse with an error instead of the issue going through)."""

    def receive() -> None:
        services.receive_stock(
            depot=depot, item=water, quantity=5, expires_on=in_days(90), by=ops_user
        )

    receive()
    services.issue_stock(depot=depot, item=water, quantity=5, by=ops_user)  # an empty lot
    issued = Counter()
    lock = threading.Lock()

    def receiver() -> None:
        for _ in range(3):
            receive()

    def issuer() -> None:
        for _ in range(3):
            try:
                services.issue_stock(depot=depot, item=water, quantity=5, by=ops_user)
            except Conflict:
                continue  # came before the receipts: refused, rightly
            with lock:
                issued["times"] += 1

    errors = run_together([receiver] * 6 + [issuer] * 12)

    assert errors == []
    (lot,) = Lot.objects.all()
    assert lot.on_hand == 5 * 6 * 3 - 5 * issued["times"] == ledger_sum(depot, water)
