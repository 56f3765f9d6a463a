"""A night of failures, with nobody on call: an alert to a few thousand residents (fake LINE
and Twilio failing 30 % of requests) while PostgreSQL restarts, the worker is SIGKILLed and
Redis restarts, each once. Nothing is restarted by hand: the worker runs under
scripts/respawn.sh as `make run` runs it, and the test only breaks things and waits.

Every recipient gets exactly one message per channel within RECOVERY_S of the last fault,
and /healthz reports each outage while it lasts.

The test owns its PostgreSQL cluster (initdb + pg_ctl under a temporary directory, on a port
of its own) and its redis-server, so restarting them disturbs nobody; both are removed
afterwards."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.alerts.worker_process import (
    kill_worker,
    stack_env,
    supervised_worker,
    wait_for,
    worker_pid,
)

RECOVERY_S = 120  # from the last fault to the alert sent (about 50 s here)
FAULTS = 0.3  # of the fake providers' requests

SETUP = """
import json, django
django.setup()
from django.db import transaction
from alerts.lifecycle import defer_sending
from tests.alerts.delivery_helpers import city_alert, many
users, phones = many(line=1000, sms=2500, both=500)
with transaction.atomic():
    alert = city_alert()
    defer_sending(alert)
print(json.dumps({"alert": alert.pk, "users": users, "phones": phones}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A PostgreSQL cluster of the test's own, with PostGIS, under a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
        self.root, self.data, self.port = root, root / "data", free_port()
        self.data.mkdir()
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.data, "postgres")
            shutil.chown(root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "sonae", "--auth=trust", "-E", "UTF8")
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE sonae")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def url(self, name: str = "sonae") -> str:
        return f"postgres://sonae@127.0.0.1:{self.port}/{name}"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), *args
        )

    def start(self) -> None:
        self._ctl("-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")


class Redis:
    """A redis-server of the test's own, restartable on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, "redis-server started")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class Health:
    """/healthz polled five times a second in a thread: (monotonic time, status, facts)."""

    def __init__(self, url: str) -> None:
        self.url, self.samples = url, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310 (http://)
                    sample = (response.status, json.loads(response.read()))
            except urllib.error.HTTPError as answer:
                sample = (answer.code, json.loads(answer.read()))
            except (urllib.error.URLError, OSError, ValueError):
                continue  # the server itself is not up yet
            self.samples.append((time.monotonic(), *sample))

    def since(self, moment: float) -> list[tuple[int, dict]]:
        return [(status, facts) for at, status, facts in self.samples if at >= moment]

    def saw(self, moment: float, outage) -> bool:
        return any(status == 503 and outage(facts) for status, facts in self.since(moment))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def owned() -> Iterator[tuple[Postgres, Redis]]:
    root = Path(tempfile.mkdtemp(prefix="sonae-chaos-"))
    root.chmod(0o755)
    postgres = redis = None
    try:
        postgres, redis = Postgres(root), Redis()
        yield postgres, redis
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def alert_status(postgres: Postgres, alert_id: int) -> str | None:
    try:
        with psycopg.connect(postgres.url(), connect_timeout=2) as conn:
            row = conn.execute("SELECT status FROM alerts_alert WHERE id = %s", [alert_id])
            return row.fetchone()[0]
    except psycopg.OperationalError:
        return None  # restarting


@pytest.mark.timeout(600)  # a cluster made and migrated, then the night itself
def test_an_alert_reaches_everyone_exactly_once_through_a_night_of_failures(
    owned, fake_line, fake_twilio
):
    postgres, redis = owned
    # LINE multicasts of 50, so LINE has requests enough to fail too.
    # The killed worker comes back only after it counts as dead (WORKER_STALLED_AFTER_S 3 in
    # stack_env), as one on a busy host would: seconds in which /healthz must say so.
    env = stack_env(
        postgres.url(),
        fake_line,
        fake_twilio,
        REDIS_URL=redis.url,
        ALERTS_SEND_LINE_BATCH="50",
        RESPAWN_DELAY_S="8",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=settings.BASE_DIR, env=env, check=True)
    setup = subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    made = json.loads(setup.stdout.strip().splitlines()[-1])
    users, phones = made["users"], made["phones"]
    for fake in (fake_line, fake_twilio):
        fake.faults.mix(FAULTS)
    fake_twilio.latency_s = 0.1  # so the faults land while the fan-out is under way

    def sent() -> int:
        return len(fake_line.accepted()) + len(fake_twilio.accepted())

    web_port = free_port()
    web = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "disaster.asgi:application"),
            *("--port", str(web_port), "--no-access-log", "--lifespan", "off"),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    health = Health(f"http://127.0.0.1:{web_port}/healthz")
    try:
        with supervised_worker(env) as supervisor:
            # 1. PostgreSQL restarts once the first recipients were sent.
            wait_for(lambda: sent() >= 500, 120, "500 sent")
            before_restart = worker_pid(supervisor)
            moment = time.monotonic()
            postgres.stop()
            wait_for(lambda: health.saw(moment, lambda f: not f["database"]["ok"]), 30)
            postgres.start()

            # 2. The worker is SIGKILLed once sending went on after the restart.
            resumed = sent() + 500
            wait_for(lambda: sent() >= resumed, 120, "sending resumed after PostgreSQL")
            assert worker_pid(supervisor) == before_restart  # it outlived the restart
            moment = time.monotonic()
            kill_worker(supervisor)
            wait_for(
                lambda: health.saw(
                    moment,
                    lambda f: (
                        f.get("jobs", {}).get("stalled") or not f.get("workers", {}).get("alive")
                    ),
                ),
                60,
                "/healthz reporting the dead worker",
            )

            # 3. Redis restarts once sending went on after the kill.
            resumed = sent() + 500
            wait_for(lambda: sent() >= resumed, 120, "sending resumed after the kill")
            moment = time.monotonic()
            redis.stop()
            wait_for(lambda: health.saw(moment, lambda f: not f["redis"]["ok"]), 30)
            redis.start()
            last_fault = time.monotonic()

            wait_for(
                lambda: alert_status(postgres, made["alert"]) == "sent",
                RECOVERY_S,
                f"the alert sent within {RECOVERY_S} s of the last fault",
            )
            took = time.monotonic() - last_fault
            wait_for(lambda: health.samples[-1][1] == 200, 30, "/healthz ok again")
    finally:
        health.stop()
        web.terminate()
        web.wait(15)

    line = fake_line.accepted()
    assert sorted(u for u, _ in line) == sorted(users) and set(line.values()) == {1}
    sms = fake_twilio.accepted()
    assert sorted(to for to, _ in sms) == sorted(phones) and set(sms.values()) == {1}
    assert took < RECOVERY_S, took
    assert sum(fake_twilio.faults.injected.values()) > 100
    assert sum(fake_line.faults.injected.values()) > 0
    print(f"sent within {took:.0f} s of the last fault")
