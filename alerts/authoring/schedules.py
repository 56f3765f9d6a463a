"""Scheduled preparedness messages: staff schedule them, a periodic job sends what is due.

A run copies the schedule into an Alert of kind "information" (never an evacuation alert),
already approved — the schedule itself was the staff decision — and defers its fan-out in
the same transaction, so a run is sent once: the schedule's next time moves on in the
transaction that creates the alert.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.authoring import services, versions
from alerts.lifecycle import announce, defer_sending
from alerts.models import Alert, ScheduledMessage
from disaster.core import audit
from disaster.core.errors import Conflict, Invalid, NotFound
from disaster.core.models import User

Repeat = ScheduledMessage.Repeat


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` later, or that month's last day (31 Jan → 28 Feb)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def following(moment: dt.datetime, repeat: str) -> dt.datetime | None:
    """The run after `moment` (in Tokyo time, so "every day at 9:00" stays at 9:00)."""
    local = timezone.localtime(moment)
    if repeat == Repeat.ONCE:
        return None
    if repeat == Repeat.DAILY:
        nxt = local + dt.timedelta(days=1)
    elif repeat == Repeat.WEEKLY:
        nxt = local + dt.timedelta(weeks=1)
    elif repeat == Repeat.MONTHLY:
        nxt = _add_months(local, 1)
    else:
        nxt = _add_months(local, 12)
    return nxt


def _alert_for(schedule: ScheduledMessage, by: User | None) -> Alert:
    return Alert(
        kind=Alert.Kind.INFORMATION,
        channels=list(schedule.channels),
        whole_city=schedule.whole_city,
        drafted_by=by,
        **{name: schedule.texts.get(name, "") for name in services.TEXT_FIELDS},
    )


@transaction.atomic
def schedule_message(
    by: User,
    *,
    texts: dict[str, str],
    channels: list[str],
    whole_city: bool,
    district_ids: list[int],
    first_at: dt.datetime,
    repeat: str,
) -> ScheduledMessage:
    """Schedule an information message, checked like a draft (Japanese text, a target, an
    SMS that fits one message)."""
    if first_at <= timezone.now():
        raise Invalid(fields={"first_at": _("未来の日時を指定してください。")})
    if repeat not in Repeat.values:
        raise Invalid(fields={"repeat": _("繰り返しが正しくありません。")})
    schedule = ScheduledMessage(
        texts={name: texts.get(name, "") for name in services.TEXT_FIELDS},
        channels=list(dict.fromkeys(channels)),
        whole_city=whole_city,
        repeat=repeat,
        next_run_at=first_at,
        created_by=by,
    )
    districts = services.validate_alert(_alert_for(schedule, by), district_ids)
    schedule.save()
    schedule.districts.set(districts)
    audit.record(by, "schedule.create", schedule, after=audit.snapshot(schedule))
    return schedule


@transaction.atomic
def stop_schedule(by: User, schedule_id: int) -> ScheduledMessage:
    schedule = ScheduledMessage.objects.select_for_update().filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound()
    if not schedule.active:
        raise Conflict(_("この定期配信はすでに停止しています。"))
    schedule.active = False
    schedule.save(update_fields=["active"])
    audit.record(by, "schedule.stop", schedule, after={"active": False})
    return schedule


def send_due(now: dt.datetime | None = None) -> list[Alert]:
    """Send every schedule that is due, each in its own transaction; a run missed while
    the system was down is sent once, not once per missed period."""
    now = now or timezone.now()
    sent: list[Alert] = []
    while True:
        with transaction.atomic():
            schedule = (
                ScheduledMessage.objects.select_for_update(skip_locked=True)
                .filter(active=True, next_run_at__lte=now)
                .order_by("next_run_at", "pk")
                .first()
            )
            if schedule is None:
                return sent
            sent.append(_run(schedule, now))


def _run(schedule: ScheduledMessage, now: dt.datetime) -> Alert:
    alert = _alert_for(schedule, schedule.created_by)
    alert.status, alert.approved_at = Alert.Status.APPROVED, now
    alert.save()
    alert.districts.set(schedule.districts.all())
    versions.record(schedule.created_by, alert, "draft")  # the run's text, as the schedule says
    defer_sending(alert)
    nxt = following(schedule.next_run_at, schedule.repeat)
    while nxt is not None and nxt <= now:
        nxt = following(nxt, schedule.repeat)
    schedule.last_alert = alert
    schedule.active = nxt is not None
    schedule.next_run_at = nxt or schedule.next_run_at
    schedule.save(update_fields=["last_alert", "active", "next_run_at"])
    announce(alert, "approved")
    return alert
