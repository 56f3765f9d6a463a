"""Whether alerts can go out now, for /healthz and the operations map alike: the database,
Redis, workers and jobs (disaster/core/workers.py) and the alerts whose sending made no
progress for a minute. Counts only, no personal data."""

from __future__ import annotations

from typing import Any

from alerts.delivery.progress import without_progress
from disaster.core import workers


def health() -> dict[str, Any]:
    """`ok` is false when the database or Redis is down, no worker is alive or a job waits
    for recovery; `alerts.without_progress` counts what the operations map warns of."""
    facts = workers.health()
    if facts["database"]["ok"]:
        facts["alerts"] = {"without_progress": len(without_progress())}
    return facts
