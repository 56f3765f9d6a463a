"""Stock-movement API: issues/s and p99 with 50 clients through uvicorn + PostGIS, beside
pgbench running the endpoint's own SQL.

The real stack: uvicorn serving `disaster.asgi:application` in a subprocess (DEBUG off, the
Redis channel layer, the bench database), 50 keep-alive clients posting
`POST /api/v1/depots/{id}/issues` with a bearer token and a fresh `Idempotency-Key` each,
for DURATION_S seconds after WARMUP_S of warm-up. Every answer must be 201 and, afterwards,
every lot's on-hand must equal the sum of its ledger.

The reference, in the same run: the statements one of those requests sends to PostgreSQL
are captured in-process (a real request through the same middleware and view, every
statement psycopg executes), turned into a pgbench script (fresh idempotency and movement
keys, a random depot/item/lot, the claimed row's id read back with \\gset) inside one
BEGIN … COMMIT, and run by pgbench with the same 50 clients against the same database while
the server is stopped. That is the cost of the database work alone; the target is ≥ 30 % of
it (issue 19: with 50 closed-loop clients a p99 of 100 ms would need more than 500
requests/s, which this 2-core machine cannot give, so latency is judged in the open loop).

Then, on the same server, an open-loop run: OPEN_RATE requests a second on a fixed schedule
(not waiting for answers), `open_p99_ms` counted from each request's scheduled time.
`round_trips_per_request` counts what the captured request sent PostgreSQL (statements,
BEGIN, COMMIT). The machine is shared: compare figures only with the reference of the same run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._stack import Server, cpu_snapshot, others_busy_pct, percentile, process_tree

CLIENTS = 50
WARMUP_S = 3.0
DURATION_S = 15.0
# uvicorn processes. Each serves requests on a pool of threads (disaster/asgi.py), only one
# of which holds the GIL at a time: on this 2-core machine 4 processes measured best with a
# connection pool (2 processes × 4 threads: 186 requests/s; 4 × 8: 253–258).
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
# Connections (and HTTP threads) per uvicorn process, as the README recommends for serving
# several processes (DB_POOL_SIZE).
POOL_SIZE = 8
DEPOTS = 20
LOTS_PER_PAIR = 2  # demo-like: an older and a newer lot of each item in each depot
LOT_SIZE = 1_000_000  # enough that no issue is ever short
MAX_ISSUE = 5
HTTP_NOTE = "bench-http"
TARGET_RATIO = 0.3
TARGET_ROUND_TRIPS = 8
# The open-loop run: requests sent on a fixed schedule whatever the answers (≈ 50 tablets
# writing every second), latency counted from the scheduled send, so a slow answer cannot
# hold back the next request and hide its own queueing (no coordinated omission).
OPEN_RATE = 50.0  # requests per second
OPEN_WARMUP_S = 2.0
OPEN_DURATION_S = 10.0
TARGET_OPEN_P99_MS = 100.0
USERNAME = "bench-stock"


@dataclass(frozen=True)
class Stock:
    secret: str
    user_pk: int
    depots: list[int]
    items: list[int]

    @property
    def pairs(self) -> int:
        return len(self.depots) * len(self.items)

    def pair(self, n: int) -> tuple[int, int, int]:
        """(depot id, item id, id of the lot an issue takes from) of pair n."""
        depot, item = divmod(n, len(self.items))
        return self.depots[depot], self.items[item], 1 + LOTS_PER_PAIR * n


# The bench database ---------------------------------------------------------------------


def _prepare() -> Stock:
    """Fresh stockpile tables (ids from 1, so pgbench can compute them), 20 depots, the demo
    catalogue, two big lots of everything everywhere, a user with a token."""

    from django.apps import apps
    from django.contrib.gis.geos import Point
    from django.db import connection, transaction
    from django.utils import timezone

    from disaster.core.events import flush_broadcasts
    from disaster.core.models import ApiToken, Event, IdempotentRequest, User
    from disaster.core.roles import Role
    from disaster.demo import load_catalogue
    from stockpile.models import Depot, Item, Lot
    from stockpile.services import receive_stock

    tables = [m._meta.db_table for m in apps.get_app_config("stockpile").get_models(True)]
    tables += [Event._meta.db_table, IdempotentRequest._meta.db_table]
    with connection.cursor() as cursor:
        names = ", ".join(connection.ops.quote_name(t) for t in tables)
        cursor.execute(f"TRUNCATE {names} RESTART IDENTITY")
    user, _ = User.objects.update_or_create(
        username=USERNAME, defaults={"role": Role.OPERATIONS, "is_active": True}
    )
    ApiToken.objects.filter(user=user).delete()
    _, secret = ApiToken.issue(user, "bench")

    today = timezone.localdate()
    with transaction.atomic():
        load_catalogue()
        rng = random.Random(42)
        for n in range(DEPOTS):
            Depot.objects.create(
                name=f"ベンチ備蓄倉庫 {n + 1:02d}",
                point=Point(139.37 + rng.random() * 0.07, 35.46 + rng.random() * 0.06, srid=4326),
            )
    depots = list(Depot.objects.order_by("pk"))
    items = list(Item.objects.order_by("pk"))
    for depot in depots:
        # A depot per transaction, its events sent before the next: one transaction with
        # all 640 receipts overflows the channel layer's Redis pool when it commits.
        with transaction.atomic():
            for item in items:
                for n in range(LOTS_PER_PAIR):  # the first lot expires first: issues take it
                    receive_stock(
                        depot=depot,
                        item=item,
                        quantity=LOT_SIZE,
                        expires_on=today + dt.timedelta(days=200 * (n + 1))
                        if item.shelf_life_days
                        else None,
                        source=Lot.Source.PROCURED if n == 0 else Lot.Source.DONATED,
                        by=user,
                        note="ベンチ初期在庫",
                    )
        flush_broadcasts()
    stock = Stock(secret, user.pk, [d.pk for d in depots], [i.pk for i in items])
    expected = [stock.depots, stock.items]
    if expected != [list(range(1, len(x) + 1)) for x in expected]:
        raise RuntimeError("depot and item ids are not 1…n after TRUNCATE … RESTART IDENTITY")
    for n in (0, stock.pairs - 1):
        depot, item, lot = stock.pair(n)
        first = Lot.objects.filter(depot_id=depot, item_id=item).order_by("expires_on", "pk")[0]
        if first.pk != lot:
            raise RuntimeError(f"pair {n}: first-expiring lot is {first.pk}, expected {lot}")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return stock


def _ledger_mismatches() -> int:
    """Lots whose on-hand differs from the sum of their movements (must be 0)."""
    from django.db import connection

    from stockpile.models import Lot, Movement

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FROM {Lot._meta.db_table} l
            LEFT JOIN (SELECT lot_id, sum(quantity) AS total FROM {Movement._meta.db_table}
                       GROUP BY lot_id) m ON m.lot_id = l.id
            WHERE l.on_hand <> coalesce(m.total, 0)
            """
        )
        return cursor.fetchone()[0]


# What one request sends to PostgreSQL ------------------------------------------------------


@dataclass
class Capture:
    """Everything psycopg did during one request, in order."""

    # ("sql", query, params, in_tx) | ("setup", query, params, in_tx) | (op,)
    steps: list[tuple] = field(default_factory=list)

    @property
    def statements(self) -> list[tuple[str, list | None, bool]]:
        """What the request runs, not counting a new connection's own set-up."""
        return [(s[1], s[2], s[3]) for s in self.steps if s[0] == "sql"]

    def count(self, op: str) -> int:
        return sum(1 for s in self.steps if s[0] == op)


def _capture(stock: Stock, pair: int, quantity: int, key: str) -> tuple[Capture, dict]:
    """Run one issue through Django's full request path in this process and record every
    statement (Django's own and psycopg's: BEGIN, COMMIT, connection set-up)."""
    import psycopg
    from django.db import connection, connections
    from django.test import Client

    capture = Capture()
    in_setup = []
    request_thread = threading.get_ident()
    wrapper = type(connections["default"])
    django_connect = wrapper.connect

    def traced_django_connect(self):
        if threading.get_ident() != request_thread:  # the event broadcaster connecting
            return django_connect(self)
        capture.steps.append(("connect",))
        in_setup.append(True)
        try:
            return django_connect(self)
        finally:
            in_setup.pop()

    execute, commit, rollback = (
        psycopg.Cursor.execute,
        psycopg.Connection.commit,
        psycopg.Connection.rollback,
    )

    def traced_execute(self, query, params=None, **kwargs):
        if threading.get_ident() != request_thread:  # e.g. the event broadcaster's thread
            return execute(self, query, params, **kwargs)
        conn = self.connection
        in_tx = not conn.autocommit
        if in_tx and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            capture.steps.append(("begin",))
        capture.steps.append(("setup" if in_setup else "sql", query, params, in_tx))
        return execute(self, query, params, **kwargs)

    def traced_commit(self):
        capture.steps.append(("commit",))
        return commit(self)

    def traced_rollback(self):
        capture.steps.append(("rollback",))
        return rollback(self)

    depot, item, _lot = stock.pair(pair)
    # The server keeps its connections in a pool, so this process's open one stands for it.
    connection.ensure_connection()
    wrapper.connect = traced_django_connect
    psycopg.Cursor.execute = traced_execute
    psycopg.Connection.commit = traced_commit
    psycopg.Connection.rollback = traced_rollback
    try:
        response = Client(HTTP_HOST="127.0.0.1").post(
            f"/api/v1/depots/{depot}/issues",
            {"item_id": item, "quantity": quantity, "note": HTTP_NOTE},
            content_type="application/json",
            headers={"Authorization": f"Bearer {stock.secret}", "Idempotency-Key": key},
        )
    finally:
        wrapper.connect = django_connect
        psycopg.Cursor.execute = execute
        psycopg.Connection.commit = commit
        psycopg.Connection.rollback = rollback
    if response.status_code != 201:
        raise RuntimeError(f"capture request answered {response.status_code}: {response.content!r}")
    return capture, response.json()


def _pgbench_script(stock: Stock, capture: Capture, pair: int, quantity: int, key: str) -> str:
    """The captured statements as a pgbench script: one transaction per movement, with a
    random depot/item (and its lot), a random quantity and a fresh idempotency key."""
    import psycopg
    from django.db import connection

    from disaster.core.idempotency import record_key
    from disaster.core.models import IdempotentRequest

    depot, item, lot = stock.pair(pair)
    claimed = IdempotentRequest.objects.get(key=key)
    claim = claimed.pk
    # The movement carries the claimed key (unique across the ledger): fresh per transaction.
    movement_key = record_key(claimed.principal, key, claim)
    # Which parameter values stand for what. They must be told apart by value: checked here.
    meaning = {
        depot: ":depot",
        item: ":item",
        lot: ":lot",
        quantity: ":q",
        -quantity: "-:q",
        claim: ":claim_id",
    }
    if len(meaning) != 6 or set(meaning) & {stock.user_pk, 201, 0, 1}:
        raise RuntimeError(f"capture values collide: {meaning} user={stock.user_pk}")

    # Strings that must be new in every transaction: marked here, pgbench variables below.
    fresh = {key: "PGBKEYPGB", movement_key: "PGBMOVPGB"}

    connection.ensure_connection()
    mogrify = psycopg.ClientCursor(connection.connection).mogrify
    lines = [
        f"\\set pair random(0, {stock.pairs - 1})",
        f"\\set depot {stock.depots[0]} + :pair / {len(stock.items)}",
        f"\\set item {stock.items[0]} + mod(:pair, {len(stock.items)})",
        f"\\set lot 1 + {LOTS_PER_PAIR} * :pair",
        f"\\set q random(1, {MAX_ISSUE})",
        "\\set n :n + 1",
        "BEGIN;",
    ]
    for query, params, _in_tx in capture.statements:
        if not isinstance(query, str):
            query = query.as_string(connection.connection)
        if params:
            marked = [
                f"PGBVAR{n}PGBVAR"
                if isinstance(p, int) and not isinstance(p, bool) and int(p) in meaning
                else fresh.get(p, p)
                if isinstance(p, str)
                else p
                for n, p in enumerate(params)
            ]
            sql = mogrify(query, marked)
            sql = re.sub(
                r"'PGBVAR(\d+)PGBVAR'",
                lambda m, params=params: meaning[int(params[int(m.group(1))])],
                sql,
            )
            sql = sql.replace("'PGBKEYPGB'", "'pgb-:client_id-:n'")
            sql = sql.replace("'PGBMOVPGB'", "'pgbm-:client_id-:n'")
        else:
            sql = query
        sql = " ".join(sql.split())  # one line per statement
        if "ON CONFLICT (principal, key) DO NOTHING RETURNING id" in sql:
            lines.append(sql + " \\gset claim_")
        else:
            lines.append(sql + ";")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def _run_pgbench(script: str, url: str, seconds: float) -> dict:
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench is not installed (it ships with postgresql-client)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="stock_api_") as f:
        f.write(script)
        f.flush()
        done = subprocess.run(
            [
                *(pgbench, "-n", "-c", str(CLIENTS), "-j", "2", "-T", str(round(seconds))),
                *("-D", "n=0", "-f", f.name, url),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGCLIENTENCODING": "UTF8"},
            check=False,
        )
    out = done.stdout + done.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    if done.returncode != 0 or not tps or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{out[-3000:]}")
    return {
        "tps": float(tps.group(1)),
        "transactions": int(processed.group(1)) if processed else None,
        "latency_ms": float(latency.group(1)) if latency else None,
    }


# The load ----------------------------------------------------------------------------------


@dataclass
class Load:
    latencies_ms: list[float] = field(default_factory=list)  # inside the measured window
    measured: int = 0
    total: int = 0
    errors: list[str] = field(default_factory=list)
    window_s: float = 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() == "close"


async def _load(port: int, stock: Stock, run_id: str) -> Load:
    load = Load()
    loop = asyncio.get_running_loop()
    begin = loop.time()
    measure_from = begin + WARMUP_S
    measure_to = measure_from + DURATION_S

    async def client(n: int) -> None:
        rng = random.Random(n)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = 0
        try:
            while loop.time() < measure_to and len(load.errors) < 20:
                sent += 1
                request = _issue_request(port, stock, rng, f"{run_id}-{n}-{sent}")
                started = loop.time()
                writer.write(request)
                try:
                    status, answer, close = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError) as e:
                    load.errors.append(f"client {n}: {e!r}")
                    return
                ended = loop.time()
                load.total += 1
                if status != 201:
                    load.errors.append(f"{status} {answer[:300]!r}")
                elif started >= measure_from and ended <= measure_to:
                    load.measured += 1
                    load.latencies_ms.append((ended - started) * 1000)
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    load.window_s = DURATION_S
    return load


def _issue_request(port: int, stock: Stock, rng: random.Random, key: str) -> bytes:
    depot, item, _lot = stock.pair(rng.randrange(stock.pairs))
    body = json.dumps(
        {"item_id": item, "quantity": rng.randint(1, MAX_ISSUE), "note": HTTP_NOTE}
    ).encode()
    return (
        f"POST /api/v1/depots/{depot}/issues HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {stock.secret}\r\n"
        f"Idempotency-Key: {key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _open_load(port: int, stock: Stock, run_id: str) -> Load:
    """OPEN_RATE requests a second on a fixed schedule, each on an idle keep-alive
    connection or a new one; latency from the scheduled time to the answer."""
    load = Load()
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    begin = loop.time() + 0.1
    total = round(OPEN_RATE * (OPEN_WARMUP_S + OPEN_DURATION_S))
    measured_from = round(OPEN_RATE * OPEN_WARMUP_S)

    async def one(n: int, due: float) -> None:
        request = _issue_request(port, stock, rng, f"{run_id}-open-{n}")
        await asyncio.sleep(max(0.0, due - loop.time()))  # the schedule, not a race fix
        if idle:
            reader, writer = idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        try:
            status, answer, close = await _read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            load.total += 1
            load.errors.append(f"open request {n}: {e!r}")
            writer.close()
            return
        ended = loop.time()
        load.total += 1
        if status != 201:
            load.errors.append(f"{status} {answer[:300]!r}")
        elif n >= measured_from:
            load.measured += 1
            load.latencies_ms.append((ended - due) * 1000)
        if close:
            writer.close()
        else:
            idle.append((reader, writer))

    await asyncio.gather(*(one(n, begin + n / OPEN_RATE) for n in range(total)))
    for _reader, writer in idle:
        writer.close()
    load.window_s = OPEN_DURATION_S
    return load


def _drive(port: int, stock: Stock, run_id: str, open_loop: bool = False) -> Load:
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover (uvicorn[standard] brings it)
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run((_open_load if open_loop else _load)(port, stock, run_id))


# The benchmark -----------------------------------------------------------------------------


def run() -> dict:
    from django.db import connection

    from stockpile.models import Movement

    stock = _prepare()

    # One request to settle the token's last-use stamp and this process's caches, then the
    # one whose statements become the reference.
    pair = stock.pairs - 1
    _capture(stock, pair, 4243, "bench-capture-warm")
    capture_key = "bench-capture"
    capture, _answer = _capture(stock, pair, 4243, capture_key)
    script = _pgbench_script(stock, capture, pair, 4243, capture_key)
    (Path(__file__).parent / "results").mkdir(exist_ok=True)
    (Path(__file__).parent / "results" / "stock_api.pgbench.sql").write_text(script)
    statements = capture.statements
    outside = sum(1 for _q, _p, in_tx in statements if not in_tx)
    round_trips = len(statements) + capture.count("begin") + capture.count("commit")
    connection.close()

    busy_before = others_busy_pct()
    server = Server(WORKERS, pool_size=POOL_SIZE)
    try:
        ready_s = server.wait_ready()
        run_id = f"b{int(time.time())}"
        tree = process_tree(server.process.pid) if Path("/proc").is_dir() else []
        cpu_before = cpu_snapshot(tree)
        load = _drive(server.port, stock, run_id)
        cpu_after = cpu_snapshot(tree)
        open_load = _drive(server.port, stock, run_id, open_loop=True)
        server_log = server.tail(80)
    finally:
        server.stop()
    if load.errors:
        raise RuntimeError(
            f"{len(load.errors)} failed requests (of {load.total}); first: {load.errors[:3]}\n"
            f"server log:\n{server_log}"
        )
    # A server that cannot keep up with the schedule answers some requests with errors (its
    # connection pool times out): counted and reported, not hidden; none of them wrote.
    open_failed = len(open_load.errors)
    answered = load.total + open_load.total - open_failed
    posted = Movement.objects.filter(kind=Movement.Kind.ISSUE, note=HTTP_NOTE).count()
    if posted != answered + 2:  # + the two captured requests
        raise RuntimeError(f"{answered} requests answered 201 but {posted - 2} issues posted")
    if mismatches := _ledger_mismatches():
        raise RuntimeError(f"after the API run {mismatches} lots differ from their ledger")

    reference = _run_pgbench(script, os.environ["DATABASE_URL"], DURATION_S)
    if mismatches := _ledger_mismatches():
        raise RuntimeError(f"after pgbench {mismatches} lots differ from their ledger")

    cpu_ms = [None] * 3
    if cpu_before and cpu_after:
        cpu_ms = [1000 * (a - b) / load.total for a, b in zip(cpu_after, cpu_before, strict=True)]
    rps = load.measured / load.window_s
    p99 = percentile(load.latencies_ms, 99)
    ratio = rps / reference["tps"]
    return {
        "rps": round(rps, 1),
        "p50_ms": round(percentile(load.latencies_ms, 50), 1),
        "p99_ms": round(p99, 1),
        "errors": len(load.errors),
        "clients": CLIENTS,
        "duration_s": DURATION_S,
        "workers": WORKERS,
        "reference_tps": round(reference["tps"], 1),
        "reference_statements": len(statements),
        "ratio_to_reference": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_round_trips": TARGET_ROUND_TRIPS,
        "meets_target": ratio >= TARGET_RATIO
        and round_trips <= TARGET_ROUND_TRIPS
        and percentile(open_load.latencies_ms, 99) <= TARGET_OPEN_P99_MS,
        "requests": load.total,
        "p90_ms": round(percentile(load.latencies_ms, 90), 1),
        "max_ms": round(max(load.latencies_ms), 1),
        "reference_latency_ms": reference["latency_ms"],
        "statements_outside_transaction": outside,
        "round_trips_per_request": round_trips,
        "connects_per_request": capture.count("connect"),
        "setup_statements_per_connect": capture.count("setup"),
        "server_db_pool_size": int(server.env["DB_POOL_SIZE"]),
        "server_ready_s": round(ready_s, 2),
        # CPU per request during the load (warm-up included): the uvicorn processes, this
        # process (the load generator), and the whole machine (PostgreSQL, Redis, the kernel,
        # and anyone else's work).
        "server_cpu_ms_per_request": cpu_ms[0] and round(cpu_ms[0], 1),
        "loadgen_cpu_ms_per_request": cpu_ms[1] and round(cpu_ms[1], 2),
        "machine_cpu_ms_per_request": cpu_ms[2] and round(cpu_ms[2], 1),
        "open_rate_per_s": OPEN_RATE,
        "open_requests": open_load.measured,
        "open_errors": open_failed,
        "open_first_error": open_load.errors[0][:120] if open_load.errors else None,
        "open_p50_ms": round(percentile(open_load.latencies_ms, 50), 1),
        "open_p99_ms": round(percentile(open_load.latencies_ms, 99), 1),
        "target_open_p99_ms": TARGET_OPEN_P99_MS,
        "host_busy_pct_before": None if busy_before is None else round(busy_before, 1),
        "host_cpus": os.cpu_count(),
    }
