"""Staff pages about who was reached: an alert's per-recipient delivery (with its CSV) and
the "need help" answers with who has been reached. Personal data: operations staff only,
each look audited (DESIGN decision 9)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from alerts.delivery import need_help, recipients
from alerts.delivery.progress import progress_counts
from alerts.delivery.rows import Status
from alerts.models import Alert, Channel
from disaster.core import audit
from disaster.core.errors import DomainError
from disaster.core.pages import SignedInRequest, refusal_to_form, staff_page

PAGE_SIZE = 100


def _filters(request: SignedInRequest) -> dict[str, str]:
    return {
        "search": request.GET.get("q", "")[:100],
        "channel": request.GET.get("channel", ""),
        "status": request.GET.get("status", ""),
    }


@staff_page
def deliveries(request: SignedInRequest, alert_id: int) -> HttpResponse:
    """Each recipient of an alert with channel, status, provider id, attempts and last
    error, the unreached first; searchable by number or name."""
    alert = get_object_or_404(Alert, pk=alert_id)
    wanted = _filters(request)
    found = recipients.recipients(alert, **wanted)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.reach = recipients.reach_label(row.rank)
    # Who looked at whose delivery: the search itself may be a number, so only whether
    # there was one is kept.
    audit.record(
        request.user,
        "delivery.view",
        alert,
        after={"searched": bool(wanted["search"]), "page": page.number},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "alerts/ops_deliveries.html",
        {
            "alert": alert,
            "title": alert.title(get_language() or "ja"),
            "page": page,
            "figures": progress_counts(alert),
            "wanted": wanted,
            "query": query.urlencode(),
            "channels": Channel.choices,
            "statuses": [("unreached", _("届いていない人（未到達）")), *Status.choices],
        },
    )


@staff_page
def deliveries_csv(request: SignedInRequest, alert_id: int) -> HttpResponse:
    """The same rows as CSV (the filters of the page apply), audited with how many rows."""
    alert = get_object_or_404(Alert, pk=alert_id)
    wanted = _filters(request)
    rows = list(recipients.recipients(alert, **wanted))
    audit.record(
        request.user,
        "delivery.export",
        alert,
        after={
            "rows": len(rows),
            "searched": bool(wanted["search"]),
            **{k: wanted[k] for k in ("channel", "status")},
        },
    )
    response = HttpResponse(recipients.as_csv(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="alert-{alert.pk}-deliveries-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


class ReachedForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("連絡の記録"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("例: 電話で確認、消防が向かう"),
    )


def _need_help_page(request: SignedInRequest, failed: tuple[int, ReachedForm] | None = None):
    rows = []
    for answer in need_help.answers():
        form = (
            failed[1] if failed and failed[0] == answer.pk else ReachedForm(prefix=str(answer.pk))
        )
        rows.append((answer, form))
    audit.record(
        request.user, "need_help.view", target_type="alerts.safetyanswer", after={"rows": len(rows)}
    )
    return render(
        request,
        "alerts/ops_need_help.html",
        {"rows": rows, "waiting": sum(1 for a, _form in rows if a.reached_at is None)},
        status=422 if failed else 200,
    )


@staff_page
def need_help_list(request: SignedInRequest) -> HttpResponse:
    """Who answered "need help", those nobody has reached first, with how to reach them."""
    return _need_help_page(request)


@staff_page
@require_POST
def mark_reached(request: SignedInRequest, answer_id: int) -> HttpResponse:
    form = ReachedForm(request.POST, prefix=str(answer_id))
    if form.is_valid():
        try:
            need_help.mark_reached(
                answer_id=answer_id, by=request.user, note=form.cleaned_data["note"]
            )
        except DomainError as error:
            refusal_to_form(form, error)
        else:
            messages.success(request, _("連絡済みとして記録しました。"))
            return redirect("alerts-ops:need-help")
    return _need_help_page(request, failed=(answer_id, form))
