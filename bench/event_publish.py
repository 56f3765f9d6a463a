"""Event publishing: `publish()` transactions per second beside a plain INSERT of the same row.

publish() gives each event an id from its transaction id, with no lock (readers read only
settled events: see disaster/core/events.py). This measures what publishing costs beside
the bare row: the same number of threads commit one-event transactions through publish()
and, as the reference, through a bare INSERT into the same table, in the same run. The
machine is shared: only the ratio within one run means much.
"""

from __future__ import annotations

import json
import threading
import time

THREADS = 16
TRANSACTIONS_PER_THREAD = 150
PAYLOAD = {
    "id": 1,
    "name": "ベンチマーク",
    "kind": "earthquake",
    "phase": "watch",
    "is_drill": True,
}


def _in_threads(work) -> float:
    from django.db import connection

    barrier = threading.Barrier(THREADS + 1)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            for _ in range(TRANSACTIONS_PER_THREAD):
                work()
        except BaseException as e:  # reported below, never swallowed
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return THREADS * TRANSACTIONS_PER_THREAD / elapsed


def run() -> dict:
    from django.db import connection, transaction

    from disaster.core.events import publish
    from disaster.core.models import Event

    def via_publish():
        with transaction.atomic():
            publish("incident.declared", PAYLOAD)

    def via_insert():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO disaster_event (kind, payload, created_at) VALUES (%s, %s, now())",
                ["incident.declared", json.dumps(PAYLOAD)],
            )

    _in_threads(via_insert)  # warm up connections and the table
    insert_tps = _in_threads(via_insert)
    publish_tps = _in_threads(via_publish)
    Event.objects.all().delete()
    return {
        "threads": THREADS,
        "transactions": THREADS * TRANSACTIONS_PER_THREAD,
        "publish_tps": round(publish_tps),
        "reference_insert_tps": round(insert_tps),
        "ratio_to_reference": round(publish_tps / insert_tps, 2),
    }
