"""The operations room's stock pages (`/ops/supplies/`, `/ops/transfers/`): deciding the
shelters' supply requests and committing them with the proposed transfer, planning transfers
to what runs short, and following what is in transit. Server-rendered forms that call the
same services as the API (stockpile/services.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from disaster.core.errors import DomainError
from disaster.core.pages import SignedInRequest, refusal_to_form, staff_page
from stockpile import coverage, services
from stockpile.models import Depot, Item, SupplyRequest, SupplyRequestLine, Transfer

PROPOSALS_SHOWN = 30
RECEIVED_SHOWN = 20


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("理由・メモ"), max_length=500, required=False, strip=True
    )


# Supply requests ---------------------------------------------------------------------------

FILTERS = {
    "requested": [SupplyRequest.Status.REQUESTED],
    "approved": [SupplyRequest.Status.APPROVED],
    "all": [s for s, _label in SupplyRequest.Status.choices],
}


def _lines_with_proposals(supply_request: SupplyRequest) -> list[dict]:
    rows = []
    for line in supply_request.lines.all():
        proposal = None
        if supply_request.status == SupplyRequest.Status.APPROVED:
            proposal = coverage.propose_for_line(line)
        rows.append(
            {
                "line": line,
                "missing": max(0, line.quantity - line.committed),
                "proposal": proposal,
                "transfers": [t for t in line.transfers.all()],
            }
        )
    return rows


def _requests(status: str) -> list[SupplyRequest]:
    lines = (
        SupplyRequestLine.objects.with_progress()
        .select_related("item", "request__depot")
        .prefetch_related(
            Prefetch("transfers", queryset=Transfer.objects.select_related("from_depot"))
        )
    )
    found = (
        SupplyRequest.objects.filter(status__in=FILTERS[status])
        .select_related("depot", "created_by", "decided_by")
        .prefetch_related(Prefetch("lines", queryset=lines))
    )
    # The most urgent first, then the oldest: the order they should be worked through.
    urgency = {"critical": 0, "urgent": 1, "routine": 2}
    return sorted(found, key=lambda r: (urgency.get(r.urgency, 3), r.created_at, r.pk))


def _requests_page(
    request: SignedInRequest, *, failed_id: int | None = None, form: DecisionForm | None = None
) -> HttpResponse:
    status = request.GET.get("status", "requested")
    if status not in FILTERS:
        status = "requested"
    rows = []
    for supply_request in _requests(status):
        bound = (
            form if supply_request.pk == failed_id else DecisionForm(prefix=str(supply_request.pk))
        )
        rows.append(
            {
                "request": supply_request,
                "lines": _lines_with_proposals(supply_request),
                "form": bound,
            }
        )
    context = {
        "rows": rows,
        "status": status,
        "filters": [
            ("requested", _("承認待ち")),
            ("approved", _("承認済み（手配中）")),
            ("all", _("すべて")),
        ],
    }
    return render(request, "stock_ops/requests.html", context, status=422 if form else 200)


@staff_page
def supply_requests(request: SignedInRequest) -> HttpResponse:
    """The shelters' supply requests, most urgent first, with what each line still lacks and
    where the nearest surplus is."""
    return _requests_page(request)


@staff_page
@require_POST
def decide_request(request: SignedInRequest, request_id: int) -> HttpResponse:
    """Approve (and commit with the proposed transfers) or reject one request."""
    supply_request = get_object_or_404(SupplyRequest, pk=request_id)
    form = DecisionForm(request.POST, prefix=str(request_id))
    action = request.POST.get("action", "")
    if not form.is_valid() or action not in {"approve", "approve_plan", "reject"}:
        return _requests_page(request, failed_id=request_id, form=form)
    note = form.cleaned_data["note"]
    try:
        if action == "reject":
            services.reject_request(request_id=request_id, by=request.user, note=note)
            messages.success(request, _("要請 #%(id)s を却下しました。") % {"id": request_id})
        elif action == "approve":
            services.approve_request(request_id=request_id, by=request.user, note=note)
            messages.success(request, _("要請 #%(id)s を承認しました。") % {"id": request_id})
        else:
            _approved, planned = services.approve_and_plan(
                request_id=request_id, by=request.user, note=note
            )
            messages.success(
                request,
                _("要請 #%(id)s を承認し、移送を %(n)s 件手配しました。")
                % {"id": request_id, "n": len(planned)},
            )
    except DomainError as error:
        refusal_to_form(form, error)
        return _requests_page(request, failed_id=supply_request.pk, form=form)
    return redirect(
        reverse("stock-ops:requests") + "?status=" + request.GET.get("status", "requested")
    )


@staff_page
@require_POST
def plan_line(request: SignedInRequest, line_id: int) -> HttpResponse:
    """Commit what one line of an approved request still lacks with the proposed transfer."""
    line = get_object_or_404(
        SupplyRequestLine.objects.with_progress().select_related("item", "request__depot"),
        pk=line_id,
    )
    try:
        transfer = services.plan_for_line(line=line, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if transfer is None:
            messages.error(request, _("送れる余剰のある倉庫がありません。"))
        else:
            messages.success(
                request,
                _("%(item)s %(n)s を %(from)s から送る移送を手配しました。")
                % {
                    "item": line.item.name,
                    "n": transfer.quantity,
                    "from": transfer.from_depot.name,
                },
            )
    return redirect(reverse("stock-ops:requests") + "?status=approved")


# Transfers ---------------------------------------------------------------------------------


def _proposals() -> list[dict]:
    """A transfer proposal for each shortage (the soonest to run out first)."""
    shown = []
    for level in coverage.shortages()[:PROPOSALS_SHOWN]:
        shown.append(
            {"level": level, "proposal": coverage.propose_transfer(level.depot, level.item)}
        )
    return shown


@staff_page
def transfers(request: SignedInRequest) -> HttpResponse:
    """Shortages with the transfer proposed for each, then transfers planned, in transit
    and lately received."""
    found = Transfer.objects.select_related(
        "from_depot",
        "to_depot",
        "item",
        "request_line",
        "created_by",
        "dispatched_by",
        "received_by",
    )
    context = {
        "proposals": _proposals(),
        "planned": found.filter(status=Transfer.Status.PLANNED).order_by("created_at", "pk"),
        "moving": found.filter(status=Transfer.Status.DISPATCHED).order_by("dispatched_at", "pk"),
        "received": found.filter(status=Transfer.Status.RECEIVED).order_by("-received_at", "-pk")[
            :RECEIVED_SHOWN
        ],
    }
    return render(request, "stock_ops/transfers.html", context)


@staff_page
@require_POST
def plan_from_proposal(request: SignedInRequest) -> HttpResponse:
    """Plan the transfer proposed for one depot's shortage of one item."""
    depot = get_object_or_404(Depot, pk=_int(request.POST.get("depot_id")))
    item = get_object_or_404(Item, pk=_int(request.POST.get("item_id")))
    proposal = coverage.propose_transfer(depot, item)
    if proposal is None:
        messages.error(request, _("送れる余剰のある倉庫がないか、不足していません。"))
        return redirect("stock-ops:transfers")
    try:
        transfer = services.plan_proposed(proposal, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("移送 #%(id)s を計画しました: %(item)s %(n)s、%(from)s → %(to)s")
            % {
                "id": transfer.pk,
                "item": item.name,
                "n": transfer.quantity,
                "from": proposal.from_depot.name,
                "to": depot.name,
            },
        )
    return redirect("stock-ops:transfers")


TRANSFER_ACTIONS: dict[str, tuple[Callable[..., Transfer], Any]] = {
    "dispatch": (
        services.dispatch_transfer,
        gettext_lazy("移送 #%(id)s を発送しました（輸送中）。"),
    ),
    "receive": (services.receive_transfer, gettext_lazy("移送 #%(id)s の受領を記録しました。")),
    "cancel": (services.cancel_transfer, gettext_lazy("移送 #%(id)s を取り消しました。")),
}


@staff_page
@require_POST
def transfer_action(request: SignedInRequest, transfer_id: int, action: str) -> HttpResponse:
    if action not in TRANSFER_ACTIONS:
        return redirect("stock-ops:transfers")
    get_object_or_404(Transfer, pk=transfer_id)
    service, done = TRANSFER_ACTIONS[action]
    try:
        service(transfer_id=transfer_id, by=request.user)
    except DomainError as error:
        messages.error(
            request, _("移送 #%(id)s: %(why)s") % {"id": transfer_id, "why": error.message}
        )
    else:
        messages.success(request, str(done) % {"id": transfer_id})
    return redirect("stock-ops:transfers")


def _int(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else 0
