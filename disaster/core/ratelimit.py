"""Counting a sender's requests in fixed windows, in PostgreSQL (one upsert, so parallel
requests from one sender cannot slip past), for webhooks that anyone can call: the LINE bot
and inbound SMS. The key is a keyed hash of the sender, never the sender itself."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.db import connection
from django.utils import timezone

from disaster.core.models import RateWindow


def keyed_hash(address: str) -> str:
    """A keyed hash of a sender's address: enough to count their messages, not to find them."""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


def sender_key(channel: str, address: str) -> str:
    return f"{channel}:{keyed_hash(address)}"


def hit(key: str, window_s: int) -> int:
    """Count one request for `key` and return how many it made in the current window
    (this one included). A window starts with a sender's first request after the last one
    ended."""
    table = RateWindow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} AS w (key, started_at, count) VALUES (%s, now(), 1)
            ON CONFLICT (key) DO UPDATE SET
                started_at = CASE WHEN w.started_at < now() - make_interval(secs => %s)
                                  THEN now() ELSE w.started_at END,
                count = CASE WHEN w.started_at < now() - make_interval(secs => %s)
                             THEN 1 ELSE w.count + 1 END
            RETURNING count
            """,  # noqa: S608 (our own table name)
            [key, window_s, window_s],
        )
        return cursor.fetchone()[0]


def current(key: str, window_s: int) -> int:
    """How many requests `key` made in its current window, without counting one."""
    window = RateWindow.objects.filter(key=key).values_list("started_at", "count").first()
    if window is None:
        return 0
    started_at, count = window
    return count if started_at >= timezone.now() - dt.timedelta(seconds=window_s) else 0


def wait_after(key: str, window_s: int, limit: int) -> int | None:
    """Seconds until `key`'s current window ends if it already made `limit` requests in it
    (without counting one); None while it may make another."""
    window = RateWindow.objects.filter(key=key).values_list("started_at", "count").first()
    if window is None:
        return None
    started_at, count = window
    left = (started_at + dt.timedelta(seconds=window_s) - timezone.now()).total_seconds()
    if left <= 0 or count < limit:
        return None
    return max(1, int(left) + 1)
