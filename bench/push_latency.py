"""Push latency: from an API write's event to its receipt by each of 200 WebSocket clients on
/ws/ops/, p50/p99, beside a Redis PUBLISH→receive round trip measured in the same run.

The real stack: uvicorn serving `disaster.asgi:application` in a subprocess (DEBUG off, the
Redis channel layer, the bench database; `bench._stack.Server`), CLIENTS WebSocket clients
connected to `/ws/ops/` with an operations user's bearer token (`disaster.core.ws_auth`), all
connected before the first write. Then WRITES head-counts are recorded one after another
through `POST /api/v1/shelters/{id}/headcounts` (bearer token, fresh Idempotency-Key), GAP_S
apart so one write's fan-out is over before the next begins.

What is measured, per (write, client) pair:
- start: the event's `created_at`, read from the pushed message's `at`. `publish()` stamps
  it with PostgreSQL's `now()`, the start of the write's transaction, so it comes a little
  *before* the commit: the figure is an upper bound of commit→receipt (it includes the rest
  of the transaction, a few ms at most). PostgreSQL and this process read the same host clock.
- end: `time.time()` in the client as soon as the frame is read, before JSON parsing.
All clients run in this one process on one event loop (uvloop), so the figure includes the
load generator reading 200 sockets one after another: the last client of a fan-out waits for
the other 199 to be read (see `client_spread_p50_ms`). The load generator's own garbage
collector is paused during the run (its 60 ms full collections are not the server's latency);
the server's is not (disaster/asgi.py freezes the start-up objects instead, which took its
full collections from 80–100 ms to 10–15 ms and the p99 from ~105 ms to under 50 ms).
Also reported: `answer_to_receipt_p50_ms`, measured from the moment the API's answer was read
(after the commit; a push can beat the answer, so this can be below zero).

`BENCH_PUSH_CLIENTS` and `BENCH_PUSH_WORKERS` (uvicorn processes, default 2: on two cores 1
and 4 measured worse) change the set-up for diagnosis.

The reference: one redis-py subscriber and one publisher on the same Redis, REFERENCE_ROUNDS
PUBLISHes of the send time, receipt time minus send time; `reference_ms` is its median (the
floor any Redis-carried push pays once).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
import urllib.request
import uuid
from dataclasses import dataclass, field

from bench._stack import Server, others_busy_pct, percentile

CLIENTS = int(os.environ.get("BENCH_PUSH_CLIENTS", "200"))
WRITES = 50
GAP_S = 0.2
WARMUP_WRITES = 3
REFERENCE_ROUNDS = 500
TARGET_P99_MS = 50.0
WORKERS = int(os.environ.get("BENCH_PUSH_WORKERS", "2"))
USERNAME = "bench-push"
SHELTER_NAME = "ベンチ用避難所（プッシュ遅延）"


@dataclass
class Run:
    sent: dict[int, float] = field(default_factory=dict)  # headcount id → answer read (wall)
    received: dict[int, list[tuple[float, float]]] = field(default_factory=dict)


def _prepare() -> tuple[str, int]:
    """An operations user with a bearer token and an open shelter; (token, shelter id)."""
    from django.contrib.gis.geos import Point

    from disaster.core.models import ApiToken, User
    from disaster.core.roles import Role
    from shelters.models import Shelter

    user, _ = User.objects.update_or_create(
        username=USERNAME, defaults={"role": Role.OPERATIONS, "is_active": True}
    )
    ApiToken.objects.filter(user=user).delete()
    _, secret = ApiToken.issue(user, "bench")
    shelter, _ = Shelter.objects.get_or_create(
        name=SHELTER_NAME,
        defaults={
            "address": "神奈川県座間市",
            "point": Point(139.4074, 35.4887, srid=4326),
            "capacity": 10_000,
            "status": Shelter.Status.OPEN,
        },
    )
    return secret, shelter.pk


def _post_headcount(port: int, secret: str, shelter_id: int, total: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/shelters/{shelter_id}/headcounts",
        data=json.dumps({"total": total}).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http only)
        if response.status != 201:
            raise RuntimeError(f"head-count answered {response.status}")
        return json.loads(response.read())["id"]


async def _client(port: int, secret: str, run: Run, ready: asyncio.Event, n: int, done) -> None:
    from websockets.asyncio.client import connect

    async with connect(
        f"ws://127.0.0.1:{port}/ws/ops/",
        additional_headers={"Authorization": f"Bearer {secret}"},
        origin=f"http://127.0.0.1:{port}",
        open_timeout=30,
        max_queue=None,
    ) as socket:
        done(n)
        await ready.wait()
        async for frame in socket:
            at = time.time()
            message = json.loads(frame)
            if message.get("kind") != "shelter.headcount":
                continue
            created = _timestamp(message["at"])
            run.received.setdefault(message["payload"]["headcount_id"], []).append((created, at))


def _timestamp(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp()


async def _push(port: int, secret: str, shelter_id: int) -> Run:
    run = Run()
    connected: set[int] = set()
    ready = asyncio.Event()
    tasks = [
        asyncio.create_task(_client(port, secret, run, ready, n, connected.add))
        for n in range(CLIENTS)
    ]
    deadline = time.monotonic() + 60
    while len(connected) < CLIENTS:
        failed = [t for t in tasks if t.done()]
        if failed:
            raise RuntimeError(f"a client failed to connect: {failed[0].exception()!r}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(connected)} of {CLIENTS} clients connected")
        await asyncio.sleep(0.05)
    ready.set()

    warmup: list[int] = []
    for n in range(WARMUP_WRITES + WRITES):
        headcount = await asyncio.to_thread(_post_headcount, port, secret, shelter_id, n)
        if n < WARMUP_WRITES:
            warmup.append(headcount)
        else:
            run.sent[headcount] = time.time()
        await asyncio.sleep(GAP_S)
    # Wait for the last fan-out to finish (bounded: a lost push shows as missing below).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        len(run.received.get(h, [])) < CLIENTS for h in run.sent
    ):
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for headcount in warmup:
        run.received.pop(headcount, None)
    return run


async def _reference() -> list[float]:
    import redis.asyncio as redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    channel = f"{os.environ.get('CHANNEL_PREFIX', 'sonae-bench')}:push-latency-reference"
    publisher = redis.from_url(url)
    subscriber = redis.from_url(url)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=5)  # the subscribe confirmation
    samples = []
    try:
        for _ in range(REFERENCE_ROUNDS):
            await publisher.publish(channel, repr(time.time()))
            message = None
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            samples.append((time.time() - float(message["data"])) * 1000)
    finally:
        await pubsub.unsubscribe(channel)
        await pubsub.aclose()
        await publisher.aclose()
        await subscriber.aclose()
    return samples


def _in_loop(coroutine):
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover (uvicorn[standard] brings it)
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


def run() -> dict:
    from django.db import connection

    secret, shelter_id = _prepare()
    connection.close()
    # The load generator's own full collections (60 ms with 200 sockets' objects) would be
    # measured as push latency; the server's are not hidden (see disaster/asgi.py).
    gc.collect()
    gc.freeze()
    gc.disable()
    # Two shared cores: anyone else's work shows up directly in the tail, so say how busy
    # the machine was.
    busy_before = others_busy_pct()
    server = Server(WORKERS)
    try:
        server.wait_ready()
        try:
            run = _in_loop(_push(server.port, secret, shelter_id))
        except Exception as error:
            raise RuntimeError(f"{error}\nserver log:\n{server.tail(4000)}") from error
        reference = _in_loop(_reference())
    finally:
        server.stop()
        gc.enable()
        gc.unfreeze()

    latencies, after_answer, spread, first, last = [], [], [], [], []
    for headcount, answered in run.sent.items():
        receipts = run.received.get(headcount, [])
        latencies += [(at - created) * 1000 for created, at in receipts]
        after_answer += [(at - answered) * 1000 for _created, at in receipts]
        if receipts:
            times = [at for _created, at in receipts]
            spread.append((max(times) - min(times)) * 1000)
            first.append((min(times) - receipts[0][0]) * 1000)
            last.append((max(times) - receipts[0][0]) * 1000)
    expected = len(run.sent) * CLIENTS
    p99 = percentile(latencies, 99)
    return {
        "clients": CLIENTS,
        "writes": len(run.sent),
        "pairs": len(latencies),
        "missing": expected - len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "reference_ms": round(percentile(reference, 50), 3),
        "reference_p99_ms": round(percentile(reference, 99), 3),
        "answer_to_receipt_p50_ms": round(percentile(after_answer, 50), 1),
        "client_spread_p50_ms": round(percentile(spread, 50), 1),
        "first_client_p50_ms": round(percentile(first, 50), 1),
        "first_client_max_ms": round(max(first), 1) if first else None,
        "last_client_p50_ms": round(percentile(last, 50), 1),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": p99 <= TARGET_P99_MS and expected == len(latencies),
        "workers": WORKERS,
        "host_busy_pct_before": None if busy_before is None else round(busy_before, 1),
        "host_cpus": os.cpu_count(),
        "start": "event created_at (PostgreSQL now(): start of the write's transaction)",
    }
