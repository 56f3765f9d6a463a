"""The JMA poller as a Procrastinate periodic task (imported by disaster/jobs.py, which
Procrastinate discovers)."""

from __future__ import annotations

from procrastinate.contrib.django import app

from disaster.warnings import feed


@app.periodic(cron="* * * * *")
@app.task(queue="warnings", queueing_lock="poll_jma_feeds")
def poll_jma_feeds(timestamp: int | None = None) -> dict[str, int]:
    """Every minute: poll JMA's feeds (each no more often than JMA_POLL_INTERVAL_S)."""
    polled = feed.poll_all()
    return {
        "feeds": sum(1 for p in polled if p.status is not None),
        "telegrams": sum(len(p.fetched) for p in polled),
        "failed": sum(p.failed for p in polled),
    }
