"""A flood of the public entry points, on loopback, against the server as `make run` starts
it (scripts/serve.sh: uvicorn with --no-proxy-headers): the public report form and SMS
sign-up refuse the flood (forged X-Forwarded-For headers make no sender anew), while an
operations request answered in the meantime stays fast.

Bounded: a fixed number of requests from a few threads, all to 127.0.0.1, stopping by
themselves within FLOOD_SECONDS."""

from __future__ import annotations

import io
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from PIL import Image

from alerts.models import PhoneConfirmation
from disaster.core.models import ApiToken
from disaster.reports.models import DamageReport

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(settings.BASE_DIR)
FLOODERS = 6  # threads sending the flood
FLOOD_REQUESTS = 150  # each, at most
FLOOD_SECONDS = 20
OPS_REQUESTS = 120
# The goal: 100 ms at the 95th percentile. On a busy shared machine the same request takes
# longer with no flood at all, so the bound is the goal or three times the quiet p95,
# whichever is larger: a server that decoded every photo, read every body or queued the
# operations room behind the flood (one thread runs Django's views) is far past either.
OPS_P95_GOAL_S = 0.100


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PHOTO = _photo()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(transactional_db):
    """scripts/serve.sh without the worker, on the test database; its base URL."""
    port = free_port()
    db = settings.DATABASES["default"]
    where = f"{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{where}",
        "SERVE_WORKER": "0",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALERTS_CONSOLE_DELIVERY": "1",
        "REPORT_PUBLIC_PER_HOUR": "10",
        "SMS_CODES_PER_CLIENT_PER_HOUR": "5",
        "LOG_LEVEL": "ERROR",
    }
    process = subprocess.Popen(
        ["scripts/serve.sh", "127.0.0.1", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: honcho and uvicorn stop together
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/shelters", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {process.stderr.read()[-2000:]}")
            time.sleep(0.2)  # polling a port that is not open yet; nothing to wait on
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Stop the server's process group (honcho and uvicorn), which this test started."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def ops_timings(base: str, secret: str, shelter_id: int, n: int) -> list[float]:
    """Seconds each of `n` operations requests took (a staff member opening a shelter)."""
    took = []
    with httpx.Client(
        base_url=base, timeout=10, headers={"Authorization": f"Bearer {secret}"}
    ) as ops:
        for _ in range(n):
            started = time.perf_counter()
            response = ops.get(f"/api/v1/shelters/{shelter_id}")
            took.append(time.perf_counter() - started)
            assert response.status_code == 200
            assert response.json()["occupancy"] is not None  # the staff view, not the public
    return took


def flood(base: str, n: int, stop_at: float, answers: list[int]) -> None:
    """One flooder: alternately a public report and an SMS sign-up, each with a forged
    X-Forwarded-For, as an attacker rotating addresses would send them."""
    with httpx.Client(base_url=base, timeout=10) as client:
        for i in range(FLOOD_REQUESTS):
            if time.monotonic() > stop_at:
                return
            forged = {"X-Forwarded-For": f"203.0.{n}.{i % 250}"}
            if i % 2:
                response = client.post(
                    "/api/v1/public/reports",
                    data={
                        "category": "fire",
                        "severity": "2",
                        "latitude": "35.49",
                        "longitude": "139.41",
                        "description": "偽の報告",
                    },
                    files={"photo": ("p.png", PHOTO, "image/png")},
                    headers=forged,
                )
            else:
                response = client.post(
                    "/api/v1/subscriptions/sms",
                    json={"phone": f"090-{n:04d}-{i:04d}"},
                    headers=forged,
                )
            answers.append(response.status_code)


def test_a_flood_of_public_requests_is_refused_while_operations_stay_fast(
    server, city_boundary, ops_user, shelter, capsys
):
    _, secret = ApiToken.issue(ops_user, "flood test")
    quiet = ops_timings(server, secret, shelter.pk, 40)
    answers: list[int] = []
    stop_at = time.monotonic() + FLOOD_SECONDS
    flooders = [
        threading.Thread(target=flood, args=(server, n, stop_at, answers)) for n in range(FLOODERS)
    ]
    for thread in flooders:
        thread.start()

    while len(answers) < 50:  # the flood is under way
        time.sleep(0.01)
    took = ops_timings(server, secret, shelter.pk, OPS_REQUESTS)
    for thread in flooders:
        thread.join(FLOOD_SECONDS + 30)

    p50, p95 = statistics.median(took), statistics.quantiles(took, n=20)[-1]
    quiet_p95 = statistics.quantiles(quiet, n=20)[-1]
    refused = answers.count(429)
    with capsys.disabled():
        print(
            f"\nflood: {len(answers)} public requests, {refused} refused (429), "
            f"{answers.count(201)} reports and {answers.count(202)} sign-ups accepted; "
            f"operations GET /api/v1/shelters/{{id}} during it: p50 {p50 * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms over {len(took)} (without the flood: p50 "
            f"{statistics.median(quiet) * 1000:.1f} ms, p95 {quiet_p95 * 1000:.1f} ms)"
        )
    assert len(answers) >= 200 and 500 not in answers
    assert DamageReport.objects.count() <= 10  # one sender, however it named itself
    assert PhoneConfirmation.objects.count() <= 5
    assert refused >= len(answers) - 15
    bound = max(OPS_P95_GOAL_S, 3 * quiet_p95)
    assert p95 < bound, f"p95 {p95 * 1000:.1f} ms, bound {bound * 1000:.1f} ms"
    # The median barely moves; before the door refused the flood it went up fivefold.
    median_bound = max(OPS_P95_GOAL_S / 2, 2 * statistics.median(quiet))
    assert p50 < median_bound, f"p50 {p50 * 1000:.1f} ms, bound {median_bound * 1000:.1f} ms"
