"""Workers' health and the recovery of stalled jobs (disaster/core/workers.py), against the
real procrastinate tables: /healthz, the stalled-job retry, a running job's heartbeat."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import Client
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob, ProcrastinateWorker
from procrastinate.worker import Worker

from disaster.core.workers import keep_heartbeat, retry_stalled_jobs
from disaster.jobs import prune_logs
from tests.alerts.delivery_helpers import city_alert, stuck_alert

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_jobs_nor_workers"),
]


def worker(silent_for_s: float = 0) -> int:
    """A registered worker whose last heartbeat was `silent_for_s` ago."""
    worker_id = async_to_sync(app.job_manager.register_worker)()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => %s)"
            " WHERE id = %s",
            [silent_for_s, worker_id],
        )
    return worker_id


def job_taken_by(worker_id: int) -> int:
    prune_logs.defer()
    job = async_to_sync(app.job_manager.fetch_job)(queues=None, worker_id=worker_id)
    return job.id


def healthz() -> tuple[int, dict]:
    response = Client().get("/healthz")
    return response.status_code, response.json()


def test_healthz_fails_while_no_worker_is_alive():
    worker(silent_for_s=120)  # a dead one does not count

    status, facts = healthz()

    assert status == 503 and facts["ok"] is False
    assert facts["database"]["ok"] is True and facts["redis"]["ok"] is True
    assert facts["workers"]["alive"] == 0 and facts["workers"]["freshest_heartbeat_s"] is None


def test_healthz_reports_a_live_worker_and_the_oldest_waiting_job():
    worker(silent_for_s=3)
    prune_logs.defer()

    status, facts = healthz()

    assert status == 200 and facts["ok"] is True
    assert facts["workers"]["alive"] == 1
    assert 3 <= facts["workers"]["freshest_heartbeat_s"] < 10
    assert facts["jobs"]["waiting"] == 1 and 0 <= facts["jobs"]["oldest_waiting_s"] < 10
    assert facts["jobs"]["stalled"] == 0
    assert facts["alerts"] == {"without_progress": 0}


def test_healthz_fails_while_redis_is_down(settings):
    worker()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    status, facts = healthz()

    assert status == 503 and facts["redis"] == {"configured": True, "ok": False}


def test_a_job_whose_worker_went_silent_is_retried_and_a_live_workers_job_is_not():
    dead, alive = worker(silent_for_s=60), worker(silent_for_s=2)
    orphan, running = job_taken_by(dead), job_taken_by(alive)

    status, facts = healthz()
    assert status == 503 and facts["jobs"]["stalled"] == 1

    assert async_to_sync(retry_stalled_jobs)(app) == [orphan]

    statuses = dict(ProcrastinateJob.objects.values_list("id", "status"))
    assert statuses == {orphan: "todo", running: "doing"}
    assert healthz()[1]["jobs"]["stalled"] == 0


def test_a_running_job_keeps_its_workers_heartbeat_when_the_worker_beats_no_more(settings):
    """Procrastinate 3.10 stops a worker's own heartbeat while it waits for its running jobs
    to finish; the job's middleware keeps beating, so the job is never taken for stalled."""
    settings.WORKER_HEARTBEAT_S = 0.1
    silent = worker(silent_for_s=60)
    running = Worker(app=app)
    running.worker_id = silent

    async def job() -> str:
        await asyncio.sleep(0.5)
        return "done"

    result = async_to_sync(keep_heartbeat)(job, None, running)

    assert result == "done"
    beat = ProcrastinateWorker.objects.get(pk=silent).last_heartbeat
    assert timezone.now() - beat < dt.timedelta(seconds=5)


def test_an_alert_that_made_no_progress_for_a_minute_is_counted():
    stuck_alert(minutes=1.5)
    city_alert()  # approved just now: its fan-out has time yet
    worker()

    assert healthz()[1]["alerts"] == {"without_progress": 1}
