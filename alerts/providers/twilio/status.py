"""Twilio's delivery statuses: its status callback vocabulary mapped to ours, applied to
the Delivery it names."""

from __future__ import annotations

import uuid

from django.utils import timezone

from alerts.delivery.progress import progress_after_callback
from alerts.delivery.rows import RANK, Status
from alerts.models import Delivery

# Twilio's status callback vocabulary → ours. Order matters: a status never moves back.
TWILIO_STATUS = {
    "accepted": Status.SENT,
    "queued": Status.SENT,
    "sending": Status.SENT,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "undelivered": Status.UNDELIVERABLE,
    "failed": Status.FAILED,
}


def record_sms_status(sid: str, status: str, error_code: str = "", key: str = "") -> bool:
    """A Twilio status callback: move the Delivery with this SID forward, never back; a
    replay or a late "sent" after "delivered" changes nothing. True when it changed.

    Twilio may call back before we have written the SID down (the answer to our request
    and the callback race); the callback URL carries the delivery's key for that case."""
    ours = TWILIO_STATUS.get(status)
    if ours is None:
        return False
    lower = [s for s, rank in RANK.items() if rank < RANK[ours]]
    change = {
        "status": ours,
        "last_error": f"Twilio {error_code}" if error_code else "",
        "updated_at": timezone.now(),
    }
    by_sid = Delivery.objects.filter(channel="sms", provider_id=sid)
    changed = by_sid.filter(status__in=lower).update(**change)
    if not changed and not by_sid.exists() and _is_uuid(key):
        early = Delivery.objects.filter(channel="sms", retry_key=key, provider_id="")
        changed = early.filter(status__in=lower).update(provider_id=sid, **change)
    if changed:
        alert_id = by_sid.values_list("alert_id", flat=True).first()
        if alert_id:
            progress_after_callback(alert_id)
    return bool(changed)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
