"""A real worker for the recovery tests: `manage.py run_worker` in a process of its own,
supervised by scripts/respawn.sh as `make run` runs it (started again whenever it exits),
against a given database and the fake providers. Nothing in a test restarts a job: the
tests kill and wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # the fakes come from the fake_line and fake_twilio fixtures
    from alerts.providers.line.fake import FakeLine
    from alerts.providers.twilio.fake import FakeTwilio

# Seconds, for tests: a worker beats twice a second, one silent for 3 s is dead, and dead
# workers' jobs are looked for every second (production: 5, 30, 10).
FAST_RECOVERY = {
    "WORKER_HEARTBEAT_S": "0.5",
    "WORKER_STALLED_AFTER_S": "3",
    "WORKER_RECOVERY_INTERVAL_S": "1",
}


def database_url(settings_dict: dict) -> str:
    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**settings_dict)


def stack_env(
    database: str, fake_line: FakeLine, fake_twilio: FakeTwilio, **extra: str
) -> dict[str, str]:
    """The environment of a worker or web process against `database` and the fakes."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "disaster.settings",
        "DEBUG": "1",
        "SECRET_KEY": "test",
        "DATABASE_URL": database,
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": settings.TWILIO_FROM_NUMBER,
        "TWILIO_BASE_URL": fake_twilio.url,
        "LINE_CHANNEL_ACCESS_TOKEN": fake_line.access_token,
        "LINE_API_BASE_URL": fake_line.url,
        "ALERTS_RETRY_BASE_S": "0.01",
        "ALERTS_HTTP_TIMEOUT_S": "2",
        "PYTHONUNBUFFERED": "1",
        **FAST_RECOVERY,
        **extra,
    }


@contextmanager
def supervised_worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """The worker under scripts/respawn.sh, in a process group of its own; stopped (the whole
    group) on the way out."""
    process = subprocess.Popen(
        ["scripts/respawn.sh", sys.executable, "manage.py", "run_worker"],
        cwd=settings.BASE_DIR,
        env=env,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def worker_pid(supervisor: subprocess.Popen, timeout: float = 60) -> int:
    """The running worker's pid: respawn.sh's child."""
    found: list[int] = []

    def started() -> bool:
        children = children_of(supervisor.pid)
        found[:] = children
        return bool(children)

    wait_for(started, timeout)
    return found[0]


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except FileNotFoundError:
        return []


def kill_worker(supervisor: subprocess.Popen) -> int:
    """SIGKILL the worker (not its supervisor), as the out-of-memory killer would."""
    pid = worker_pid(supervisor)
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_for(condition: Callable[[], bool], timeout: float, what: str = "condition") -> float:
    """Poll until `condition()` holds; seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started
