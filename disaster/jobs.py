"""Housekeeping jobs of the disaster app (Procrastinate, discovered from each app's jobs.py)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app

from disaster.core.models import Event, IdempotentRequest
from disaster.warnings.jobs import poll_jma_feeds

__all__ = ["poll_jma_feeds", "prune_logs"]  # the JMA poller is registered with this module


@app.periodic(cron="17 3 * * *")
@app.task(queue="housekeeping", queueing_lock="prune_logs")
def prune_logs(timestamp: int | None = None) -> dict[str, int]:
    """Drop events and idempotency records older than their retention period.

    Events older than EVENT_LOG_RETENTION_DAYS are past any reconnecting client's catch-up;
    the audit log, which is the record, is never pruned.
    """
    now = timezone.now()
    events, _ = Event.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.EVENT_LOG_RETENTION_DAYS)
    ).delete()
    keys, _ = IdempotentRequest.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    ).delete()
    return {"events": events, "idempotency_keys": keys}
