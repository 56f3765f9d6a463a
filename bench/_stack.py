"""The harness every benchmark shares, so a benchmark imports only this and the apps:
Django against a database of its own (`<name>_bench`), migrated, so benchmarks never touch
the demo city or the test database; the real server (uvicorn) in a subprocess; where the CPU
goes and how busy the host already is; percentiles; an alert to send."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse, urlunparse

import psycopg

if TYPE_CHECKING:
    from alerts.models import Alert

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://sonae:sonae@127.0.0.1:5432/sonae"


def bench_database_url() -> str:
    parts = urlparse(os.environ.get("DATABASE_URL", DEFAULT_URL))
    return urlunparse(parts._replace(path=parts.path.rstrip("/") + "_bench"))


def setup_django() -> None:
    url = bench_database_url()
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin_url = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template1')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    # A loopback stack: channels without a fake provider go to the console, on purpose.
    os.environ.setdefault("ALERTS_CONSOLE_DELIVERY", "1")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("CHANNEL_PREFIX", "sonae-bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disaster.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def city_alert(channels: tuple[str, ...] = ("line", "sms")) -> Alert:
    """An approved evacuation order to the whole city, ready to send."""
    from alerts.models import Alert  # Django is set up at run time, by setup_django()

    return Alert.objects.create(
        kind=Alert.Kind.EVACUATION_4,
        title_ja="避難指示（ベンチ）",
        body_ja="直ちに避難してください",
        whole_city=True,
        channels=list(channels),
        status=Alert.Status.APPROVED,
    )


def only_subscribers(count: int) -> None:
    """The bench database with no alert and `count` subscribers in the whole city, the first
    half on LINE, the rest by SMS (statistics refreshed for the planner)."""
    from django.db import connection
    from django.utils import timezone

    from alerts.models import Alert, Delivery, Subscriber  # Django is set up by setup_django()

    Delivery.objects.all().delete()
    Alert.objects.all().delete()
    Subscriber.objects.all().delete()
    now = timezone.now()
    half = count // 2
    rows = [
        Subscriber(
            line_user_id=f"U{i:032x}" if i < half else None,
            phone=f"+8190{i:08d}" if i >= half else None,
            phone_confirmed_at=now if i >= half else None,
            language="ja",
            consent_method=Subscriber.ConsentMethod.STAFF,
        )
        for i in range(count)
    ]
    Subscriber.objects.bulk_create(rows, batch_size=10000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def spread_reports(count: int, west: float, south: float, east: float, north: float) -> None:
    """Exactly `count` open damage reports spread at random over the box, made in SQL (the
    table emptied first), every category and severity, one a second back from now."""
    from django.db import connection

    from disaster.reports.models import DamageReport  # Django is set up by setup_django()

    table = DamageReport._meta.db_table
    categories = ", ".join(f"'{c}'" for c in DamageReport.Category.values)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
        cursor.execute(
            f"""
            INSERT INTO {table} (point, address, category, severity, description, source,
                                 reporter_contact, status, team, reporters, client_key,
                                 created_at, updated_at)
            SELECT ST_SetSRID(ST_MakePoint({west} + random() * {east - west},
                                           {south} + random() * {north - south}), 4326),
                   '', (ARRAY[{categories}])[1 + (i %% 12)], 1 + (i %% 5), 'bench', 'staff',
                   '', (ARRAY['new','verified','assigned'])[1 + (i %% 3)], '', 1, '',
                   now() - (i || ' seconds')::interval, now()
            FROM generate_series(1, %s) AS i
            """,
            [count],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")


# Where the CPU goes (Linux /proc; the figures are left out elsewhere) ----------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def process_tree(root: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (FileNotFoundError, IndexError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle (everyone's work, ours and others')."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


def cpu_snapshot(tree: list[int]) -> tuple[float, float, float] | None:
    """CPU seconds so far of the server's processes, this process, and the whole machine."""
    if not Path("/proc/stat").exists():
        return None
    return _cpu_seconds(tree), _cpu_seconds([os.getpid()]), _machine_busy_seconds()


def others_busy_pct(seconds: float = 1.0) -> float | None:
    """How busy the machine is before we start (other people's work skews everything)."""
    if not Path("/proc/stat").exists():
        return None
    before, started = _machine_busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (
        100 * (_machine_busy_seconds() - before) / (time.perf_counter() - started) / os.cpu_count()
    )


# The server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving the ASGI app in a subprocess, as scripts/serve.sh does."""

    def __init__(self, workers: int, pool_size: int = 4):
        self.workers = workers
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by stop())
            "w+", prefix="bench_uvicorn_", suffix=".log"
        )
        self.env = env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": os.environ["DATABASE_URL"],  # the bench database (setup_django)
            "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            "DB_POOL_SIZE": os.environ.get("DB_POOL_SIZE") or str(pool_size),
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "disaster.asgi:application"),
                *("--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)),
                *("--no-access-log", "--lifespan", "off"),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Poll /healthz until it answers (200, or 503 for want of a worker); seconds it took."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except urllib.error.HTTPError as answer:
                if answer.code == 503:  # serving; /healthz finds no worker beside a bench server
                    return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"uvicorn not ready after {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# The worker -------------------------------------------------------------------------------


class Worker:
    """`manage.py run_worker` under scripts/respawn.sh, as `make run` runs it (started again
    whenever it exits), in a process group of its own; `env` is added to ours."""

    def __init__(self, env: dict[str, str]):
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by stop())
            "w+", prefix="bench_worker_", suffix=".log"
        )
        self.process = subprocess.Popen(
            ["scripts/respawn.sh", sys.executable, "manage.py", "run_worker"],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pid(self) -> int | None:
        """The running worker's pid (respawn.sh's child), None between two."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        children = path.read_text().split() if path.exists() else []
        return int(children[0]) if children else None

    def kill(self) -> int:
        """SIGKILL the worker, not its supervisor, as the out-of-memory killer would."""
        while (pid := self.pid()) is None:
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """SIGTERM to the group (the worker finishes its jobs), SIGKILL after 30 s."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        self.log.close()

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])
