"""The "need help" answers to safety checks, as staff work through them: who asked, how to
reach them, and whether someone has (DESIGN decision 9: staff only, every look audited)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import SafetyAnswer
from disaster.core import audit
from disaster.core.errors import Invalid, NotFound
from disaster.core.models import User


def answers(*, hours: int | None = None) -> QuerySet[SafetyAnswer]:
    """Every "need help" answer given within `hours` (the safety-check window by default),
    those nobody has reached first, oldest first: the order they should be called."""
    since = timezone.now() - dt.timedelta(hours=hours or settings.SAFETY_ANSWER_HOURS)
    return (
        SafetyAnswer.objects.filter(answer=SafetyAnswer.Answer.NEED_HELP, at__gte=since)
        .select_related("alert", "subscriber", "reached_by")
        .prefetch_related("subscriber__districts")
        .order_by(F("reached_at").asc(nulls_first=True), "at", "pk")
    )


def waiting() -> QuerySet[SafetyAnswer]:
    """The answers nobody has reached yet."""
    return answers().filter(reached_at__isnull=True)


@transaction.atomic
def mark_reached(*, answer_id: int, by: User, note: str) -> SafetyAnswer:
    """Record that staff reached the person (by phone, in person) and what was agreed."""
    note = note.strip()
    if not note:
        raise Invalid(fields={"note": _("どう連絡が取れたかを書いてください。")})
    answer = (
        SafetyAnswer.objects.select_for_update()
        .filter(pk=answer_id, answer=SafetyAnswer.Answer.NEED_HELP)
        .first()
    )
    if answer is None:
        raise NotFound()
    before = audit.snapshot(answer, ["reached_at", "reached_by_id", "reach_note"])
    answer.reached_at = timezone.now()
    answer.reached_by = by
    answer.reach_note = note[:500]
    answer.save(update_fields=["reached_at", "reached_by", "reach_note"])
    audit.record(
        by,
        "safety_answer.reached",
        answer,
        before=before,
        after=audit.snapshot(answer, ["reached_at", "reached_by_id", "reach_note"]),
    )
    return answer
