"""Who an alert reached, one row per recipient and channel, for staff answering "did my
mother get the order?" and calling those it did not reach. Personal data (DESIGN decision 9):
read by operations staff only, and every look and export is written to the audit log."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.delivery.rows import Status
from alerts.delivery.transports import CONSOLE_ID_PREFIX
from alerts.models import Alert, Channel, Delivery

# Failed first (someone must call them), then not yet sent, then sent but not known to have
# arrived (an SMS without its receipt, the console), reached last.
FAILED, NOT_YET, UNCONFIRMED, REACHED = range(4)


def _rank() -> Case:
    return Case(
        When(status__in=[Status.FAILED, Status.UNDELIVERABLE], then=Value(FAILED)),
        When(status__in=[Status.QUEUED, Status.SENDING], then=Value(NOT_YET)),
        When(provider_id__startswith=CONSOLE_ID_PREFIX, then=Value(UNCONFIRMED)),
        When(status=Status.DELIVERED, then=Value(REACHED)),
        When(channel=Channel.LINE, status=Status.SENT, then=Value(REACHED)),
        default=Value(UNCONFIRMED),
        output_field=IntegerField(),
    )


def _search(text: str) -> Q:
    """A number however it is written (090-…, +81 90 …), a name, or a LINE id."""
    text = unicodedata.normalize("NFKC", text).strip()
    digits = "".join(c for c in text if c.isdigit())
    found = Q(subscriber__name__icontains=text) | Q(subscriber__line_user_id__icontains=text)
    if len(digits) >= 3:
        national = "81" + digits[1:] if digits.startswith("0") else digits
        found |= Q(subscriber__phone__contains=national)
    return found


def recipients(
    alert: Alert, *, search: str = "", channel: str = "", status: str = ""
) -> QuerySet[Delivery]:
    """The alert's deliveries, the unreached first (failed, then not yet sent, then not
    confirmed), each with `rank` set; searched by number, name or LINE id."""
    found = alert.deliveries.select_related("subscriber").annotate(rank=_rank())
    if search.strip():
        found = found.filter(_search(search))
    if channel in Channel.values:
        found = found.filter(channel=channel)
    if status == "unreached":
        found = found.filter(rank__lt=REACHED)
    elif status in Status.values:
        found = found.filter(status=status)
    return found.order_by("rank", "subscriber__name", "subscriber_id", "channel")


def reach_label(rank: int) -> str:
    return {
        FAILED: _("届いていない（失敗）"),
        NOT_YET: _("未送信"),
        UNCONFIRMED: _("到達未確認"),
        REACHED: _("到達"),
    }[rank]


CSV_HEADER = (
    "subscriber_id",
    "name",
    "phone",
    "line_user_id",
    "channel",
    "status",
    "reached",
    "provider_id",
    "attempts",
    "last_error",
    "updated_at",
)


def as_csv(rows: Iterable[Delivery]) -> str:
    """The rows as CSV (UTF-8 with a BOM, so Excel in Japan opens it as UTF-8); a cell that
    starts like a formula is written as text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        subscriber = row.subscriber
        writer.writerow(
            _text(value)
            for value in (
                subscriber.pk,
                subscriber.name,
                subscriber.phone or "",
                subscriber.line_user_id or "",
                row.channel,
                row.status,
                "yes" if getattr(row, "rank", None) == REACHED else "no",
                row.provider_id,
                row.attempts,
                row.last_error,
                timezone.localtime(row.updated_at).isoformat(),
            )
        )
    return out.getvalue()


def _text(value: object) -> str:
    text = str(value)
    # A phone number "+8190…" is data, not a formula; anything else starting = + - @ is
    # prefixed so a spreadsheet shows it as text.
    if text[:1] in ("=", "-", "@") or (text[:1] == "+" and not text[1:].isdigit()):
        return "'" + text
    return text
