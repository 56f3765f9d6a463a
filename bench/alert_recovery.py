"""Alert recovery: the worker SIGKILLed mid-send, to the last of 10,000 recipients sent.

Beside the same alert with no fault, in one run.

The worker runs as `make run` runs it (`manage.py run_worker` under scripts/respawn.sh,
production recovery settings: beat every 5 s, dead after 30 s silent, looked for every
10 s); half the recipients are on LINE, half by SMS, through the real SDKs against the
loopback fakes. The kill comes once 30 % of the recipients were sent; nothing restarts the
job but the recovery. `recovery_s` is from the SIGKILL to the last recipient accepted by a
fake provider; `clean_s` and `with_kill_s` from the alert's deferral to the same. `sent`
and `sent_twice` count (recipient, channel) pairs the fakes accepted in the killed run.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable

RECIPIENTS = int(os.environ.get("BENCH_RECOVERY_RECIPIENTS", "10000"))
KILL_AT = 0.3


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until `condition()`; the monotonic time it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic()


def run() -> dict:
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone
    from procrastinate.contrib.django.models import ProcrastinateWorker

    from alerts.lifecycle import defer_sending
    from alerts.models import Alert
    from alerts.providers.line.fake import FakeLine
    from alerts.providers.twilio.fake import FakeTwilio
    from bench._stack import Worker, city_alert, only_subscribers

    line, twilio = FakeLine().start(), FakeTwilio().start()
    with connection.cursor() as cursor:  # jobs and workers of earlier runs
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_workers")
    only_subscribers(RECIPIENTS)

    def sent() -> int:
        return len(line.accepted()) + len(twilio.accepted())

    def accepted() -> int:
        return sum(line.accepted().values()) + sum(twilio.accepted().values())

    worker = Worker(
        {
            "DEBUG": "1",  # a loopback stack: no public address for the links
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_FROM_NUMBER": "+815000000000",
            "TWILIO_BASE_URL": twilio.url,
            "LINE_CHANNEL_ACCESS_TOKEN": line.access_token,
            "LINE_API_BASE_URL": line.url,
        }
    )
    figures: dict = {"recipients": RECIPIENTS}
    try:
        _wait(
            lambda: ProcrastinateWorker.objects.filter(
                last_heartbeat__gte=timezone.now() - dt.timedelta(seconds=10)
            ).exists(),
            120,
            "a worker started",
        )
        for case in ("clean", "with_kill"):
            line.deliveries.clear()
            twilio.messages.clear()
            with transaction.atomic():
                alert = city_alert()
                defer_sending(alert)
            deferred = time.monotonic()
            if case == "with_kill":
                _wait(lambda: sent() >= KILL_AT * RECIPIENTS, 300, "30 % sent")
                worker.kill()
                killed = time.monotonic()
                figures["killed_after_sent"] = sent()
            done = _wait(lambda: sent() >= RECIPIENTS, 600, f"{case}: everyone sent")
            figures[f"{case}_s"] = round(done - deferred, 1)
            figures[f"{case}_sent_twice"] = accepted() - sent()
            _wait(
                lambda: Alert.objects.get(pk=alert.pk).status == Alert.Status.SENT,  # noqa: B023
                120,
                f"{case}: the alert marked sent",
            )
        figures.update(
            sent=sent(),
            sent_twice=figures.pop("clean_sent_twice") + figures.pop("with_kill_sent_twice"),
            recovery_s=round(done - killed, 1),
            stalled_after_s=settings.WORKER_STALLED_AFTER_S,
            recovery_interval_s=settings.WORKER_RECOVERY_INTERVAL_S,
        )
    except RuntimeError as error:
        raise RuntimeError(f"{error}\n{worker.tail()}") from error
    finally:
        worker.stop()
        line.stop()
        twilio.stop()
    return {
        key: figures[key]
        for key in (
            "recipients",
            "sent",
            "sent_twice",
            "clean_s",
            "with_kill_s",
            "recovery_s",
            "killed_after_sent",
            "stalled_after_s",
            "recovery_interval_s",
        )
    }
