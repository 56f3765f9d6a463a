"""Tablet pages for a shelter's stock: the stock list, receive / issue / count forms,
transfers to receive or send, supply requests, and the Excel stock sheet."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shelters.views import tablet_shelter
from stockpile import coverage
from stockpile.models import Depot, Item, Lot, Movement, SupplyRequest, Transfer

ACTIONS = {"receive", "issue", "count"}


def _page(request: HttpRequest, shelter_id: int, tab: str) -> dict:
    shelter = tablet_shelter(request, shelter_id)
    depot = Depot.objects.filter(shelter=shelter).first()
    return {"shelter": shelter, "depot": depot, "tab": tab}


def _catalogue(depot: Depot | None) -> list[dict]:
    """Items for the quick pickers, grouped by category, with what the depot holds."""
    levels = {lv.item.pk: lv for lv in coverage.levels(depots=[depot])} if depot else {}
    lots: dict[int, list[Lot]] = {}
    if depot:
        for lot in depot.lots.filter(on_hand__gt=0).order_by("expires_on", "id"):
            lots.setdefault(lot.item_id, []).append(lot)
    groups: dict[str, dict] = {}
    for item in Item.objects.all():
        group = groups.setdefault(
            item.category, {"label": item.get_category_display(), "items": []}
        )
        level = levels.get(item.pk)
        item_lots = lots.get(item.pk, [])
        group["items"].append(
            {
                "item": item,
                "on_hand": level.on_hand if level else 0,
                "lots_json": json.dumps(
                    [
                        {
                            "expires_on": lot.expires_on.isoformat() if lot.expires_on else None,
                            "source": lot.source,
                            "on_hand": lot.on_hand,
                            "label": _("%(expiry)s・%(source)s（帳簿 %(on_hand)s）")
                            % {
                                "expiry": lot.expires_on or _("期限なし"),
                                "source": lot.get_source_display(),
                                "on_hand": lot.on_hand,
                            },
                        }
                        for lot in item_lots
                    ],
                    ensure_ascii=False,
                ),
            }
        )
    return list(groups.values())


@login_required
def stock(request: HttpRequest, shelter_id: int) -> HttpResponse:
    context = _page(request, shelter_id, "stock")
    depot = context["depot"]
    levels = coverage.levels(depots=[depot], include_empty=True) if depot else []
    order = {coverage.Status.SHORT: 0, coverage.Status.LOW: 1, coverage.Status.OK: 2}
    levels.sort(key=lambda lv: (order.get(lv.status, 3), lv.item.category, lv.item.code))
    expiring = coverage.expiring(settings.STOCK_ROTATION_DAYS, [depot]) if depot else []
    return render(
        request,
        "tablet/stock.html",
        {
            **context,
            "levels": levels,
            "expiring": expiring,
            "threshold": coverage.shortage_days(),
            "evacuees": levels[0].evacuees if levels else 0,
            "elsewhere": levels[0].people.elsewhere if levels else 0,
        },
    )


@login_required
def movement_form(request: HttpRequest, shelter_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    context = _page(request, shelter_id, action)
    return render(
        request,
        "tablet/movement_form.html",
        {
            **context,
            "action": action,
            "steps": (1, 10, 100),
            "groups": _catalogue(context["depot"]),
            "sources": Lot.Source.choices,
            "reasons": Movement.Reason.choices,
        },
    )


@login_required
def transfers(request: HttpRequest, shelter_id: int) -> HttpResponse:
    context = _page(request, shelter_id, "transfers")
    depot = context["depot"]
    live = [Transfer.Status.PLANNED, Transfer.Status.DISPATCHED]
    found = (
        Transfer.objects.filter(Q(to_depot=depot) | Q(from_depot=depot))
        .select_related("from_depot", "to_depot", "item")
        .order_by("-created_at")
    )
    return render(
        request,
        "tablet/transfers.html",
        {
            **context,
            "incoming": [t for t in found.filter(to_depot=depot, status__in=live)],
            "outgoing": [t for t in found.filter(from_depot=depot, status__in=live)],
            "done": list(found.exclude(status__in=live)[:20]),
        },
    )


@login_required
def requests(request: HttpRequest, shelter_id: int) -> HttpResponse:
    context = _page(request, shelter_id, "requests")
    found = SupplyRequest.objects.filter(depot=context["depot"]).prefetch_related("lines")[:30]
    return render(
        request,
        "tablet/requests.html",
        {
            **context,
            "supply_requests": [
                (r, list(r.lines.with_progress().select_related("item"))) for r in found
            ],
            "groups": _catalogue(context["depot"]),
            "urgencies": SupplyRequest.Urgency.choices,
        },
    )


@login_required
def sheets(request: HttpRequest, shelter_id: int) -> HttpResponse:
    return render(request, "tablet/sheets.html", _page(request, shelter_id, "sheets"))
