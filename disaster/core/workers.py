"""Workers that outlive a database restart, jobs that outlive their worker, and the health
facts about both (DESIGN decision 10: nothing depends on a person noticing a failure).

- **Staying up** (`serve`, run by `manage.py run_worker`): Procrastinate's worker stops
  itself when one of its side tasks hits a database error (its LISTEN connection cannot
  reconnect while PostgreSQL restarts, a heartbeat or a job fetch fails). The worker
  polls instead of listening (PROCRASTINATE_WORKER_DEFAULTS in settings: nothing to
  reconnect), its connection pool waits out a short outage, and when the worker stops
  anyway, `serve` waits for the database and starts a new one in the same process.
- **Looking alive only while alive** (`keep_heartbeat`, a worker middleware): a running
  job keeps its worker's heartbeat going, through a database error and through a
  graceful shutdown (Procrastinate 3.10 stops beating before it waits for running jobs),
  so no job is ever retried while its process still runs it.
- **Recovering** (`retry_stalled_jobs`, every WORKER_RECOVERY_INTERVAL_S in every worker):
  a job left "doing" by a worker whose heartbeat is older than WORKER_STALLED_AFTER_S (a
  SIGKILL, a lost host) is retried through Procrastinate's stalled-job API. A worker-side
  loop rather than a periodic job, so recovery never waits for a free job slot behind a
  long fan-out. The jobs themselves are safe to run again (the fan-out resumes).
- **Telling** (`health`): the database, Redis, live workers and the freshest heartbeat,
  the oldest waiting job and the stalled ones, for /healthz and the operations map.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone
from procrastinate import App, JobContext, exceptions
from procrastinate.contrib.django.models import ProcrastinateJob, ProcrastinateWorker
from procrastinate.worker import Worker

log = logging.getLogger(__name__)


async def keep_heartbeat(
    call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker
) -> Any:
    """Worker middleware: beat for the worker while this job runs (see the module doc)."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(settings.WORKER_HEARTBEAT_S)
            if worker.worker_id is None:
                continue
            try:
                await worker.app.job_manager.update_heartbeat(worker.worker_id)
            except Exception as error:  # the database is away: beat again next time
                log.warning("heartbeat of worker %s failed: %s", worker.worker_id, error)

    beating = asyncio.create_task(beat(), name="job heartbeat")
    try:
        return await call_next()
    finally:
        beating.cancel()


def on_app_ready(app: App) -> None:
    """PROCRASTINATE_ON_APP_READY: every worker of this project keeps the heartbeat of the
    jobs it runs, however it was started."""
    middleware = list(app.worker_defaults.get("worker_middleware") or [])
    app.worker_defaults["worker_middleware"] = [keep_heartbeat, *middleware]


async def retry_stalled_jobs(app: App) -> list[int]:
    """Put back in the queue the jobs whose worker stopped beating; their ids."""
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.WORKER_STALLED_AFTER_S
    )
    retried: list[int] = []
    for job in stalled:
        assert job.id is not None  # a job read back from the database has its id
        try:
            await app.job_manager.retry_job(job)
        except exceptions.ConnectorException:
            continue  # another worker retried it first, or it just finished
        log.warning("retried job %s (%s): its worker stopped", job.id, job.task_name)
        retried.append(job.id)
    return retried


async def _recover(app: App) -> None:
    while True:
        try:
            await retry_stalled_jobs(app)
        except Exception as error:  # the database is away: try again next time
            log.warning("looking for stalled jobs failed: %s", error)
        await asyncio.sleep(settings.WORKER_RECOVERY_INTERVAL_S)


async def _database_back(app: App) -> None:
    while True:
        try:
            await app.job_manager.check_connection_async()
            return
        except Exception as error:
            log.warning("waiting for the database: %s", error)
            await asyncio.sleep(1)


async def serve(app: App, **options: Any) -> None:
    """Run Procrastinate's worker until SIGTERM or SIGINT (then it finishes its running jobs,
    as Procrastinate does; a second signal ends the process at once). Whenever the worker
    stops by itself, wait for the database and run a new one. Beside it, retry stalled
    jobs. `options` are Procrastinate's worker options (queues, concurrency, …)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)  # the next one kills, as with Procrastinate
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    recovering = asyncio.create_task(_recover(app), name="stalled-job recovery")
    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            running = asyncio.create_task(
                app.run_worker_async(install_signal_handlers=False, **options)
            )
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                running.cancel()  # Procrastinate's graceful stop: running jobs finish
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                return
            error = running.exception()
            cause = error and (error.__cause__ or error)
            log.warning("the worker stopped (%r); starting a new one", cause)
            await _database_back(app)
    finally:
        recovering.cancel()
        stopping.cancel()


async def run(app: App, **options: Any) -> None:
    """Open the app's connection pool and `serve`. A database that is down at start is
    waited for: the pool stays open and keeps trying, and `serve` starts the worker again
    once the database answers."""
    try:
        await app.connector.open_async()
    except Exception as error:
        log.warning("the database is not there yet: %s", error)
    try:
        await serve(app, **options)
    finally:
        await app.connector.close_async()


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _redis() -> dict[str, bool]:
    if not settings.REDIS_URL:  # the in-process channel layer of a single dev process
        return {"configured": False, "ok": True}
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return {"configured": True, "ok": bool(client.ping())}
    except redis.RedisError:
        return {"configured": True, "ok": False}
    finally:
        client.close()


def _age(since: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if since is None else round((now - since).total_seconds(), 1)


# Due and not taken: waiting since its retry time, else since it was deferred.
WAITING = """
    SELECT count(*), min(coalesce(j.scheduled_at, e.at))
      FROM procrastinate_jobs j
      LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
     WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
"""


def _workers_and_jobs(now: dt.datetime) -> dict[str, Any]:
    alive_since = now - dt.timedelta(seconds=settings.WORKER_STALLED_AFTER_S)
    workers = ProcrastinateWorker.objects.filter(last_heartbeat__gte=alive_since)
    freshest = max(workers.values_list("last_heartbeat", flat=True), default=None)
    with connection.cursor() as cursor:
        cursor.execute(WAITING)
        waiting, oldest = cursor.fetchone()
    # Procrastinate's own rule for a stalled job (select_stalled_jobs_by_heartbeat).
    stalled = (
        ProcrastinateJob.objects.filter(status="doing")
        .filter(Q(worker__isnull=True) | Q(worker__last_heartbeat__lt=alive_since))
        .count()
    )
    return {
        "workers": {"alive": workers.count(), "freshest_heartbeat_s": _age(freshest, now)},
        "jobs": {"waiting": waiting, "oldest_waiting_s": _age(oldest, now), "stalled": stalled},
    }


def health() -> dict[str, Any]:
    """What /healthz answers (no personal data): `ok` is false, and /healthz a 503, when the
    database or Redis is down, no worker is alive or a job is stalled (waiting for
    recovery)."""
    now = timezone.now()
    facts: dict[str, Any] = {"database": {"ok": _database()}, "redis": _redis()}
    if facts["database"]["ok"]:
        try:
            facts.update(_workers_and_jobs(now))
        except DatabaseError:
            facts["database"]["ok"] = False
    facts["ok"] = bool(
        facts["database"]["ok"]
        and facts["redis"]["ok"]
        and facts.get("workers", {}).get("alive")
        and not facts.get("jobs", {}).get("stalled")
    )
    return facts
