"""The operations room's stock pages: a shelter's supply request decided from a page and
committed with the proposed transfer; shortages planned from their proposal; transfers
followed from planned to received; each write audited."""

from __future__ import annotations

import pytest

from disaster.core.models import AuditEntry
from shelters.services import record_headcount
from stockpile import services
from stockpile.models import SupplyRequest, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(manager_user, depot, water, rice) -> SupplyRequest:
    """The manager's shelter asks for 600 L of water and 200 meals, urgently."""
    return services.request_supplies(
        depot=depot, lines=[(water, 600), (rice, 200)], urgency="urgent", by=manager_user
    )


def test_staff_see_the_waiting_request_with_its_lines(session_as, ops_user, asked):
    page = session_as(ops_user).get("/ops/supplies/").content.decode()

    assert f'data-request="{asked.pk}"' in page
    assert "飲料水（長期保存）" in page and "アルファ化米" in page
    assert "承認して移送を手配" in page and "却下" in page


def test_approving_with_transfers_commits_each_line_from_the_nearest_surplus(
    session_as, ops_user, asked, stock_in, central_depot, other_depot, water, rice
):
    stock_in(central_depot, water, 5000, days=400)
    stock_in(other_depot, rice, 1000, days=400)

    response = session_as(ops_user).post(
        f"/ops/supplies/{asked.pk}/decide", {f"{asked.pk}-note": "", "action": "approve_plan"}
    )

    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == SupplyRequest.Status.APPROVED
    planned = {
        (t.item_id, t.from_depot_id, t.quantity)
        for t in Transfer.objects.filter(request_line__request=asked)
    }
    assert planned == {(water.pk, central_depot.pk, 600), (rice.pk, other_depot.pk, 200)}
    assert AuditEntry.objects.filter(action="transfer.plan").count() == 2


def test_rejecting_without_a_reason_says_so_at_the_reason_field(session_as, ops_user, asked):
    response = session_as(ops_user).post(
        f"/ops/supplies/{asked.pk}/decide", {f"{asked.pk}-note": "  ", "action": "reject"}
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert f'id="id_{asked.pk}-note-error"' in page
    assert "却下の理由を書いてください。" in page
    asked.refresh_from_db()
    assert asked.status == SupplyRequest.Status.REQUESTED


def test_a_rejected_request_keeps_its_reason(session_as, ops_user, asked):
    session_as(ops_user).post(
        f"/ops/supplies/{asked.pk}/decide",
        {f"{asked.pk}-note": "在庫は明朝届く", "action": "reject"},
    )

    asked.refresh_from_db()
    assert (asked.status, asked.decision_note) == (SupplyRequest.Status.REJECTED, "在庫は明朝届く")


def test_an_approved_line_without_transfer_is_committed_from_its_proposal(
    session_as, ops_user, asked, stock_in, central_depot, water
):
    services.approve_request(request_id=asked.pk, by=ops_user)
    stock_in(central_depot, water, 5000, days=400)
    line = asked.lines.get(item=water)
    client = session_as(ops_user)

    page = client.get("/ops/supplies/?status=approved").content.decode()
    assert "座間市中央備蓄倉庫 から 600" in page

    client.post(f"/ops/supplies/lines/{line.pk}/plan")

    transfer = Transfer.objects.get(request_line=line)
    assert (transfer.from_depot_id, transfer.quantity) == (central_depot.pk, 600)


def test_a_shortage_is_planned_from_its_proposal_and_followed_to_receipt(
    session_as, ops_user, shelter, depot, central_depot, stock_in, water
):
    record_headcount(shelter.pk, total=100, by=None)  # 300 L a day, nothing on hand
    stock_in(central_depot, water, 5000, days=400)
    client = session_as(ops_user)

    page = client.get("/ops/transfers/").content.decode()
    assert f'data-depot="{depot.pk}" data-item="{water.pk}"' in page

    client.post("/ops/transfers/propose", {"depot_id": depot.pk, "item_id": water.pk})
    transfer = Transfer.objects.get(to_depot=depot)
    assert (transfer.from_depot_id, transfer.quantity, transfer.status) == (
        central_depot.pk,
        1800,
        Transfer.Status.PLANNED,
    )

    client.post(f"/ops/transfers/{transfer.pk}/dispatch")
    page = client.get("/ops/transfers/").content.decode()
    assert f'data-transfer="{transfer.pk}" data-status="dispatched"' in page

    client.post(f"/ops/transfers/{transfer.pk}/receive")
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.RECEIVED
    # Dispatch and receipt are in the audit log, with who and the status before and after.
    entries = AuditEntry.objects.filter(target_id=str(transfer.pk)).order_by("id")
    assert [e.action for e in entries] == ["transfer.plan", "transfer.dispatch", "transfer.receive"]
    assert entries[2].before["status"] == "dispatched" and entries[2].after["status"] == "received"
    assert entries[2].actor_name == ops_user.username


def test_a_dispatch_that_cannot_happen_says_why_on_the_page(
    session_as, ops_user, depot, central_depot, water
):
    transfer = services.plan_transfer(
        from_depot=central_depot, to_depot=depot, item=water, quantity=10, by=ops_user
    )
    client = session_as(ops_user)

    response = client.post(f"/ops/transfers/{transfer.pk}/dispatch", follow=True)

    assert f"移送 #{transfer.pk}:" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.PLANNED


def test_shelter_managers_cannot_use_the_stock_pages(session_as, manager_user, asked):
    client = session_as(manager_user)

    assert client.get("/ops/supplies/").status_code == 403
    assert client.post(f"/ops/supplies/{asked.pk}/decide", {"action": "approve"}).status_code == 403
    asked.refresh_from_db()
    assert asked.status == SupplyRequest.Status.REQUESTED
