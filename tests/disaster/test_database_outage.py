"""While PostgreSQL is down, a web process serving from a connection pool keeps answering:
each request that needs the database is a 503 after DB_POOL_TIMEOUT_S, and frees its
thread, so a page that needs no database is not left behind requests that wait out the
outage together (the process has only a thread per pooled connection).

The real server (uvicorn, disaster.asgi) against a PostgreSQL cluster of the test's own,
stopped for the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import pytest
from django.conf import settings

from tests.alerts.test_chaos import Postgres, free_port
from tests.alerts.worker_process import wait_for

POOL = 2  # connections, and threads serving HTTP
TIMEOUT_S = 1.0  # DB_POOL_TIMEOUT_S
WAITING = 3 * POOL  # requests needing the database, sent together while it is down


def status_and_seconds(url: str) -> tuple[int | None, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (http://)
            status = response.status
    except urllib.error.HTTPError as answer:
        status = answer.code
    except (urllib.error.URLError, OSError):
        status = None
    return status, time.monotonic() - started


@pytest.mark.timeout(180)
def test_requests_during_an_outage_are_503s_and_do_not_hold_every_thread():
    root = Path(tempfile.mkdtemp(prefix="sonae-outage-"))
    root.chmod(0o755)
    postgres = web = None
    try:
        postgres = Postgres(root)
        port = free_port()
        web = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "disaster.asgi:application"),
                *("--port", str(port), "--no-access-log", "--lifespan", "off"),
            ],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "disaster.settings",
                "DEBUG": "1",
                "SECRET_KEY": "test",
                "DATABASE_URL": postgres.url(),
                "DB_POOL_SIZE": str(POOL),
                "DB_POOL_TIMEOUT_S": str(TIMEOUT_S),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        # Up, with the database answering (the tables are not made: /healthz says so, 503).
        wait_for(lambda: status_and_seconds(f"{base}/healthz")[0] is not None, 60, "served")

        postgres.stop()
        with ThreadPoolExecutor(WAITING + 1) as clients:
            needing = [
                clients.submit(status_and_seconds, f"{base}/healthz") for _ in range(WAITING)
            ]
            # The page goes in once the server is working through them (one has been answered).
            wait(needing, return_when=FIRST_COMPLETED)
            page = clients.submit(status_and_seconds, f"{base}/no-such-page/").result()
            answers = [each.result() for each in needing]

        assert [status for status, _ in answers] == [503] * WAITING
        # Taken POOL at a time, each waiting TIMEOUT_S at most for a connection.
        assert max(seconds for _, seconds in answers) < (WAITING / POOL) * TIMEOUT_S + 3
        assert page[0] == 404 and page[1] < (WAITING / POOL) * TIMEOUT_S + 3
    finally:
        if web is not None:
            web.terminate()
            web.wait(15)
        if postgres is not None and (postgres.data / "postmaster.pid").exists():
            postgres.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
