"""`manage.py run_worker`: the Procrastinate worker as production and `make run` run it."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from disaster.core import workers


class Command(BaseCommand):
    help = (
        "Run a Procrastinate worker that outlives database restarts and retries the jobs "
        "of workers that died (disaster/core/workers.py)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-q", "--queues", help="comma-separated queues (default: all)")
        parser.add_argument("-c", "--concurrency", type=int, help="jobs at once (default 1)")
        parser.add_argument("-n", "--name", help="the worker's name in logs")

    def handle(self, *args: Any, **options: Any) -> None:
        worker: dict[str, Any] = {}
        if options["queues"]:
            worker["queues"] = [q.strip() for q in options["queues"].split(",") if q.strip()]
        if options["concurrency"]:
            worker["concurrency"] = options["concurrency"]
        if options["name"]:
            worker["name"] = options["name"]
        # As `manage.py procrastinate worker` does: Django's connector cannot run a worker.
        connector = app.connector
        if isinstance(connector, DjangoConnector):
            connector = connector.get_worker_connector()
        with app.replace_connector(connector):
            asyncio.run(workers.run(app, **worker))
