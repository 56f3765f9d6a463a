"""Client mistakes answered as such (4xx with the field at fault), never as a 500: a
model's own validation (an e-mail address) and a lot filled past what it may hold."""

from __future__ import annotations

import pytest

from stockpile.models import Lot, Movement
from stockpile.services import MAX_QUANTITY

pytestmark = pytest.mark.django_db


def test_a_shelter_corrected_with_a_bad_e_mail_is_a_field_error(api_as, ops_user, shelter):
    response = api_as(ops_user).patch(
        f"/api/v1/shelters/{shelter.pk}",
        {"email": "not an address"},
        content_type="application/json",
    )

    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["email"]
    shelter.refresh_from_db()
    assert shelter.email == ""


def test_receipts_that_would_overfill_a_lot_are_refused_naming_the_quantity(
    api_as, ops_user, depot, water
):
    body = {"item_id": water.pk, "quantity": MAX_QUANTITY, "expires_on": "2030-01-01"}
    client = api_as(ops_user)
    first = client.post(
        f"/api/v1/depots/{depot.pk}/receipts", body, content_type="application/json"
    )
    answers = [
        client.post(
            f"/api/v1/depots/{depot.pk}/receipts",
            {**body, "quantity": quantity},
            content_type="application/json",
        )
        for quantity in (1, MAX_QUANTITY)
    ]

    assert first.status_code == 201
    for answer in answers:
        assert answer.status_code == 422, answer.content
        assert [e["field"] for e in answer.json()["errors"]] == ["quantity"]
    assert Lot.objects.get(depot=depot, item=water).on_hand == MAX_QUANTITY
    assert Movement.objects.filter(depot=depot, item=water).count() == 1


def test_many_receipts_never_overflow_the_on_hand_column(api_as, ops_user, depot, water):
    client = api_as(ops_user)
    statuses = set()
    for _ in range(3):
        answer = client.post(
            f"/api/v1/depots/{depot.pk}/receipts",
            {"item_id": water.pk, "quantity": MAX_QUANTITY},
            content_type="application/json",
        )
        statuses.add(answer.status_code)

    assert statuses == {201, 422}
    assert Lot.objects.get(depot=depot, item=water).on_hand == MAX_QUANTITY
