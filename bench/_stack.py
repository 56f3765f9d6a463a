"""Bring up Django against a database of its own (`<name>_bench`), migrated, so benchmarks
never touch the demo city or the test database."""

from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse

import psycopg

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
