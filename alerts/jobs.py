"""Background work of the alerts app (Procrastinate)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app

from alerts.authoring import suggestions
from alerts.authoring.schedules import send_due
from alerts.callup import services as callup
from alerts.callup.services import SEND_CALL_UP
from alerts.delivery import fanout
from alerts.lifecycle import SEND_ALERT, mark_sending
from alerts.models import Alert
from alerts.residents.privacy import forget_stale
from disaster.warnings.services import ACT_ON_TELEGRAM


class UntilSettled(BaseRetryStrategy):
    """Retry the fan-out after 2, 4, 8 … seconds, capped at ALERTS_JOB_RETRY_MAX_S: an
    alert whose provider was down for an hour must go out as soon as it is back, not an
    hour later. The fan-out settles what is left once the alert expires, so the retries
    end with the alert's validity; ALERTS_JOB_ATTEMPTS is only a backstop."""

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
        if job.attempts >= settings.ALERTS_JOB_ATTEMPTS:
            return None
        wait = min(2 ** (job.attempts + 1), settings.ALERTS_JOB_RETRY_MAX_S)
        return RetryDecision(retry_in={"seconds": wait})


@app.task(
    name=SEND_ALERT,
    queue="alerts",
    # Unfinished deliveries (a provider down, a worker killed) are picked up by the next
    # try; the fan-out is resumable and never sends twice.
    retry=UntilSettled(),
)
def send_alert(alert_id: int) -> None:
    """Fan an approved alert out to its recipients (deferred when it is approved, with
    `alerts.lifecycle.defer_sending`)."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert_id)
        if alert.status in {Alert.Status.DRAFT, Alert.Status.CANCELLED}:
            return  # only an approved alert ever goes out
        mark_sending(alert)
    fanout.send(alert_id)


@app.periodic(cron="* * * * *")
@app.task(queue="alerts", queueing_lock="send_scheduled_messages")
def send_scheduled_messages(timestamp: int | None = None) -> int:
    """Every minute: send the scheduled information messages that are due."""
    return len(send_due())


@app.periodic(cron="*/5 * * * *")
@app.task(queue="housekeeping", queueing_lock="forget_stale_conversations")
def forget_stale_conversations(timestamp: int | None = None) -> dict[str, int]:
    """Every five minutes: residents' report pieces that made no report in time (photos
    included), handled-event ids LINE no longer redelivers, and ended rate windows."""
    return forget_stale()


@app.task(name=ACT_ON_TELEGRAM, queue="alerts")
def act_on_telegram(telegram_id: int) -> int:
    """After a JMA telegram changed the city's warnings: the suggestions its rules make or
    withdraw (never a sent alert: DESIGN decision 14). Running it twice changes nothing."""
    return len(suggestions.act_on(telegram_id))


@app.task(name=SEND_CALL_UP, queue="alerts", retry=10)
def send_call_up(call_up_id: int) -> dict[str, int]:
    """Message the staff of a call-up (deferred by alerts.callup.services.call_up)."""
    return callup.send(call_up_id)
