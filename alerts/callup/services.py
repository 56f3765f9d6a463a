"""Calling staff up and taking their answers.

`call_up` writes one row per staff member of the teams called (a team is called from its
`called_from` level up) and defers the sending job in the same transaction; `send` (the
job) messages each through the transport of their channel with the shared retry policy,
once; `answer` records what they said through their personal link. Phone numbers and LINE
ids stay in StaffContact: rows, events and logs carry names and teams only.
"""

from __future__ import annotations

import secrets
from collections import Counter
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app

from alerts.delivery.transports import TransportError, send_with_retries, transport_for
from alerts.models import CallUp, CallUpAnswer, Channel, Suggestion
from disaster.core import audit
from disaster.core.errors import Invalid, NotFound
from disaster.core.events import publish
from disaster.core.models import StaffContact, Staffing, Team, User

SEND_CALL_UP = "alerts.jobs.send_call_up"  # the task in alerts/jobs.py


def teams_for(staffing: str) -> list[Team]:
    """The teams a staffing level calls: every team called from that level or a lower one."""
    rank = Staffing.rank(staffing)
    return [t for t in Team.objects.all() if 0 < Staffing.rank(t.called_from) <= rank]


def counts(call_up: CallUp) -> dict[str, int]:
    found = Counter(call_up.answers.values_list("answer", flat=True))
    return {answer: found.get(answer, 0) for answer in CallUpAnswer.Answer.values}


def call_up_payload(call_up: CallUp) -> dict[str, Any]:
    """A call-up as the panel and its page show it: names and teams, never a contact."""
    return {
        "id": call_up.pk,
        "staffing": call_up.staffing,
        "staffing_label": str(Staffing(call_up.staffing).label),
        "created_at": call_up.created_at.isoformat(),
        "counts": counts(call_up),
        "answers": [
            {
                "id": a.pk,
                "name": a.staff.get_full_name() or a.staff.get_username(),
                "team": a.team_name,
                "answer": a.answer,
                "sent": a.sent_at is not None,
                "failed": bool(a.failed),
                "answered_at": a.answered_at.isoformat() if a.answered_at else None,
            }
            for a in call_up.answers.select_related("staff").order_by("team_name", "pk")
        ],
    }


def _announce(call_up: CallUp) -> None:
    publish("callup.changed", call_up_payload(call_up))


def _channel(contact: StaffContact) -> str | None:
    return Channel.LINE if contact.line_user_id else Channel.SMS if contact.phone else None


@transaction.atomic
def call_up(
    by: User, staffing: str, *, suggestion: Suggestion | None = None, note: str = ""
) -> CallUp:
    """Call up the teams of `staffing`; the messages go out from the worker."""
    if staffing not in Staffing.values:
        raise Invalid(fields={"staffing": _("配備体制を選んでください。")})
    teams = teams_for(staffing)
    contacts = [
        c
        for c in StaffContact.objects.filter(team__in=teams, user__is_active=True).select_related(
            "team", "user"
        )
        if _channel(c)
    ]
    if not contacts:
        raise Invalid(fields={"staffing": _("この体制で参集する職員の連絡先がありません。")})
    label = Staffing(staffing).label
    message = _("【職員参集】%(city)sは%(level)sをとりました。参集の可否を回答してください。") % {
        "city": settings.CITY_NAME,
        "level": label,
    }
    if note:
        message += f"\n{note}"
    record = CallUp.objects.create(
        staffing=staffing, message=message, suggestion=suggestion, called_by=by
    )
    CallUpAnswer.objects.bulk_create(
        CallUpAnswer(
            call_up=record,
            staff=c.user,
            team_name=c.team.name,
            channel=_channel(c) or Channel.SMS,
            token=secrets.token_urlsafe(24),
        )
        for c in contacts
    )
    audit.record(by, "callup.create", record, after={"staffing": staffing, "staff": len(contacts)})
    app.configure_task(SEND_CALL_UP, queue="alerts", queueing_lock=f"call_up:{record.pk}").defer(
        call_up_id=record.pk
    )
    _announce(record)
    return record


def answer_link(row: CallUpAnswer) -> str:
    return settings.PUBLIC_BASE_URL + reverse("alerts:callup-answer", args=[row.token])


def send(call_up_id: int) -> dict[str, int]:
    """Message every staff member of the call-up not messaged yet (a retried job resumes)."""
    record = CallUp.objects.filter(pk=call_up_id).first()
    if record is None:
        return {"sent": 0, "failed": 0}
    sent = failed = 0
    for row in record.answers.filter(sent_at__isnull=True, failed="").select_related("staff"):
        contact = StaffContact.objects.filter(user=row.staff).first()
        address = None
        if contact is not None:
            address = contact.line_user_id if row.channel == Channel.LINE else contact.phone
        try:
            if not address:
                raise TransportError("no address", permanent=True)
            send_with_retries(
                transport_for(row.channel),
                [address],
                f"{record.message}\n{answer_link(row)}",
                idempotency_key=f"callup-{row.pk}",
                since=record.created_at,
            )
        except TransportError as error:
            CallUpAnswer.objects.filter(pk=row.pk).update(failed=error.message[:200])
            failed += 1
            continue
        CallUpAnswer.objects.filter(pk=row.pk).update(sent_at=timezone.now())
        sent += 1
    with transaction.atomic():
        _announce(record)
    return {"sent": sent, "failed": failed}


@transaction.atomic
def answer(token: str, said: str) -> CallUpAnswer:
    """Record a staff member's answer through their personal link (the link is the proof)."""
    row = CallUpAnswer.objects.select_for_update().filter(token=token).first()
    if row is None:
        raise NotFound()
    if said not in {
        CallUpAnswer.Answer.COMING,
        CallUpAnswer.Answer.CANNOT,
        CallUpAnswer.Answer.ARRIVED,
    }:
        raise Invalid(fields={"answer": _("参集する・できない・到着から選んでください。")})
    row.answer, row.answered_at = said, timezone.now()
    row.save(update_fields=["answer", "answered_at"])
    audit.record(row.staff, "callup.answer", row, after={"answer": said})
    _announce(row.call_up)
    return row


def recent(limit: int = 5) -> list[dict[str, Any]]:
    return [call_up_payload(c) for c in CallUp.objects.order_by("-created_at", "-id")[:limit]]
