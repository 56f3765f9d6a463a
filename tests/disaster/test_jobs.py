"""Housekeeping jobs: deferred in the caller's transaction (Procrastinate's Django connector
uses Django's connection) and run by a real worker against the same PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from disaster.core.models import Event, IdempotentRequest
from disaster.jobs import prune_logs

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    pass


@pytest.fixture(autouse=True)
def empty_job_queue(transactional_db):
    # Procrastinate's tables are not managed by Django, so the flush after each
    # transactional test leaves their rows behind.
    def empty():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs")

    empty()
    yield
    empty()


def prune_jobs():
    return ProcrastinateJob.objects.filter(task_name=prune_logs.name)


def run_worker_until_the_queue_is_empty() -> None:
    """What `manage.py procrastinate worker --one-shot --queue housekeeping` does.

    The Django connector runs on Django's own connection and cannot listen for jobs, so a
    worker gets a connector of its own to the same database, as the management command does.
    """
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(wait=False, queues=["housekeeping"], install_signal_handlers=False)


def test_a_job_deferred_in_a_transaction_that_rolls_back_is_never_queued():
    with pytest.raises(Rollback), transaction.atomic():
        prune_logs.defer()
        raise Rollback

    assert not prune_jobs().exists()


def test_a_job_deferred_in_a_transaction_that_commits_is_queued_for_housekeeping():
    with transaction.atomic():
        job_id = prune_logs.defer()

    job = prune_jobs().get()
    assert (job.id, job.queue_name, job.status) == (job_id, "housekeeping", "todo")


def test_a_worker_prunes_old_events_and_idempotency_records_and_keeps_recent_ones():
    now = timezone.now()
    event_retention = dt.timedelta(days=settings.EVENT_LOG_RETENTION_DAYS)
    key_retention = dt.timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    hour = dt.timedelta(hours=1)
    payload = {"id": 1, "name": "訓練", "kind": "flood", "phase": "watch", "is_drill": True}
    old_event = Event.objects.create(
        kind="incident.declared", payload=payload, created_at=now - event_retention - hour
    )
    recent_event = Event.objects.create(
        kind="incident.declared", payload=payload, created_at=now - event_retention + hour
    )
    old_key, recent_key = (
        IdempotentRequest.objects.create(
            principal="user:1", key=key, fingerprint="0" * 64, status=201, created_at=created_at
        )
        for key, created_at in [
            ("old", now - key_retention - hour),
            ("recent", now - key_retention + hour),
        ]
    )
    job_id = prune_logs.defer()

    run_worker_until_the_queue_is_empty()

    assert ProcrastinateJob.objects.get(id=job_id).status == "succeeded"
    assert list(Event.objects.values_list("id", flat=True)) == [recent_event.id]
    assert list(IdempotentRequest.objects.values_list("id", flat=True)) == [recent_key.id]
    assert not Event.objects.filter(id=old_event.id).exists()
    assert not IdempotentRequest.objects.filter(id=old_key.id).exists()


def test_prune_logs_is_discovered_from_the_apps_jobs_module_and_runs_nightly():
    app.perform_import_paths()

    assert app.tasks[prune_logs.name] is prune_logs
    assert prune_logs.queue == "housekeeping"
    assert [
        p.cron for p in app.periodic_registry.periodic_tasks.values() if p.task is prune_logs
    ] == ["17 3 * * *"]
