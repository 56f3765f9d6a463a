"""Alert fan-out: one alert to 100,000 recipients (half LINE, half SMS) via loopback fakes.

Through the real SDKs, beside the fakes' own maximum rate measured in the same run.

The fakes run in a process of their own (python -m alerts.providers.fakes), so they do not
share the sender's GIL. LINE goes out as multicasts of 500; SMS (Twilio has no bulk API)
as single sends from ALERTS_SEND_PROCESSES processes × ALERTS_SEND_THREADS threads, each
with its own keep-alive connection. `fake_max_rps` is what a tight aiohttp client loop gets
from the same fake Twilio in the same run: the ceiling the fan-out is measured against.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench._stack import ROOT, city_alert, only_subscribers

RECIPIENTS = int(os.environ.get("BENCH_FANOUT_RECIPIENTS", "100000"))


def run() -> dict:
    from django.conf import settings

    from alerts.delivery import fanout
    from alerts.providers.line.fake import FakeLine
    from alerts.providers.twilio.fake import FakeTwilio

    fakes = subprocess.Popen(
        [sys.executable, "-m", "alerts.providers.fakes"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = json.loads(fakes.stdout.readline())
        twilio, line = FakeTwilio(), FakeLine()
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = twilio.account_sid, "token"
        settings.TWILIO_FROM_NUMBER = "+815000000000"
        settings.TWILIO_BASE_URL = urls["twilio"]
        settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
        settings.LINE_API_BASE_URL = urls["line"]
        settings.ALERTS_SEND_PROCESSES = int(os.environ.get("ALERTS_SEND_PROCESSES", "2"))
        settings.ALERTS_SEND_THREADS = int(os.environ.get("ALERTS_SEND_THREADS", "8"))

        rate = subprocess.run(
            [sys.executable, "-m", "alerts.providers.fakes", "rate", urls["twilio"]],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        fake_max_rps = json.loads(rate.stdout)["rps"]

        def counts() -> dict:
            fakes.stdin.write("\n")
            fakes.stdin.flush()
            return json.loads(fakes.stdout.readline())

        counts()  # forget the rate probe's messages

        only_subscribers(RECIPIENTS)
        alert = city_alert()
        started = time.perf_counter()
        run = fanout.Fanout(alert)
        run.run()
        total_s = time.perf_counter() - started
        seen = counts()
    finally:
        fakes.stdin.close()
        fakes.wait(10)
    accepted = seen["twilio_distinct"] + seen["line_distinct"]
    return {
        "recipients": RECIPIENTS,
        "accepted": accepted,
        "accepted_twice": seen["twilio_accepted"] + seen["line_accepted"] - accepted,
        "total_s": round(total_s, 2),
        "per_s": round(RECIPIENTS / total_s, 1),
        "fake_max_rps": round(fake_max_rps, 1),
        "provider_requests": seen["requests"],
        **{f"step_{k}": round(v, 2) for k, v in run.timings.items()},
        "send_processes": settings.ALERTS_SEND_PROCESSES,
        "send_threads": settings.ALERTS_SEND_THREADS,
    }
