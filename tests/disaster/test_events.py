"""The event log and its broadcast (DESIGN decision 3): `publish` stores an event in the
caller's transaction, announces it to the operations room only once that commits, and a
client catching up with `?after=` reads only settled events, so it never skips one."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from pydantic import ValidationError

from disaster.core.event_kinds import IncidentEvent
from disaster.core.events import (
    OPS_GROUP,
    UnknownEventKind,
    events_after,
    flush_broadcasts,
    publish,
)
from disaster.core.models import Event
from disaster.core.roles import Role

TIMEOUT = 10  # seconds; generous, only reached when something is broken


def incident(n: int = 1, **changes) -> dict:
    return {
        "id": n,
        "name": f"訓練 {n}",
        "kind": "earthquake",
        "phase": "watch",
        "is_drill": True,
        **changes,
    }


class Rollback(Exception):
    pass


@pytest.fixture
async def ops_channel():
    """A channel in the operations room's group, as a connected WebSocket would have."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(OPS_GROUP, channel)
    yield layer, channel
    await layer.group_discard(OPS_GROUP, channel)


async def next_message(layer, channel) -> dict:
    return await asyncio.wait_for(layer.receive(channel), timeout=TIMEOUT)


@pytest.mark.django_db(transaction=True)
async def test_publish_stores_the_event_and_broadcasts_it_only_after_the_commit(ops_channel):
    layer, channel = ops_channel

    def publish_then_mark_the_group_then_commit() -> Event:
        with transaction.atomic():
            event = publish("incident.declared", incident(7))
            # Had the event been sent at publish time, it would now be queued ahead of this.
            flush_broadcasts()
            async_to_sync(layer.group_send)(OPS_GROUP, {"type": "test.before_commit"})
        flush_broadcasts()
        return event

    event = await sync_to_async(publish_then_mark_the_group_then_commit)()

    assert (await next_message(layer, channel))["type"] == "test.before_commit"
    message = await next_message(layer, channel)
    assert message["type"] == "event.message"
    assert message["event"] == {
        "id": event.id,
        "kind": "incident.declared",
        "at": event.created_at.isoformat(),
        "payload": incident(7),
    }
    stored = await database_sync_to_async(Event.objects.get)(pk=event.id)
    assert (stored.kind, stored.payload) == ("incident.declared", incident(7))


@pytest.mark.django_db(transaction=True)
async def test_a_rolled_back_event_is_neither_stored_nor_broadcast(ops_channel):
    layer, channel = ops_channel

    def publish_and_roll_back_then_publish_and_commit() -> tuple[Event, Event]:
        with pytest.raises(Rollback), transaction.atomic():
            rolled_back = publish("incident.declared", incident(1))
            raise Rollback
        with transaction.atomic():
            committed = publish("incident.declared", incident(2))
        flush_broadcasts()
        return rolled_back, committed

    rolled_back, committed = await sync_to_async(publish_and_roll_back_then_publish_and_commit)()

    # The group delivers in order: the first thing to arrive is the committed event.
    message = await next_message(layer, channel)
    assert message["event"]["id"] == committed.id
    assert message["event"]["payload"] == incident(2)
    stored = await database_sync_to_async(list)(Event.objects.values_list("id", flat=True))
    assert stored == [committed.id]
    assert rolled_back.id not in stored


@pytest.mark.django_db
def test_publishing_an_unknown_kind_is_refused_and_stores_nothing():
    with pytest.raises(UnknownEventKind, match=r"incident\.teleported"):
        publish("incident.teleported", incident())

    assert not Event.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {k: v for k, v in incident().items() if k != "phase"},
        incident(id="seven"),
        incident(is_drill="perhaps"),
    ],
    ids=["missing field", "id not a number", "is_drill not a boolean"],
)
def test_publishing_a_payload_that_does_not_match_its_schema_is_refused(payload):
    with pytest.raises(ValidationError):
        publish("incident.declared", payload)

    assert not Event.objects.exists()


@pytest.mark.django_db
def test_a_payload_may_be_given_as_its_schema():
    event = publish("incident.updated", IncidentEvent(**incident(3, phase="response")))

    assert Event.objects.get(pk=event.id).payload == incident(3, phase="response")


@pytest.mark.django_db
def test_events_after_an_id_are_the_later_ones_oldest_first(api_as, ops_user):
    events = [publish("incident.declared", incident(n)) for n in range(1, 5)]

    response = api_as(ops_user).get(f"/api/v1/events?after={events[1].id}")

    assert response.status_code == 200
    body = response.json()
    assert [e["id"] for e in body["events"]] == [events[2].id, events[3].id]
    assert [e["payload"] for e in body["events"]] == [incident(3), incident(4)]
    assert {e["kind"] for e in body["events"]} == {"incident.declared"}
    assert body["last_id"] == events[3].id
    assert body["more"] is False


@pytest.mark.django_db
def test_a_client_that_is_caught_up_gets_no_events_and_keeps_its_cursor(api_as, ops_user):
    last = publish("incident.declared", incident())

    body = api_as(ops_user).get(f"/api/v1/events?after={last.id}").json()

    assert body == {"events": [], "last_id": last.id, "more": False}


@pytest.mark.django_db
def test_a_long_backlog_comes_in_pages_that_say_there_is_more(api_as, ops_user):
    Event.objects.bulk_create(
        Event(kind="incident.declared", payload=incident(n)) for n in range(1, 502)
    )
    ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    client = api_as(ops_user)

    first = client.get("/api/v1/events?after=0").json()
    second = client.get(f"/api/v1/events?after={first['last_id']}").json()

    assert [e["id"] for e in first["events"]] == ids[:500]
    assert (first["last_id"], first["more"]) == (ids[499], True)
    assert [e["id"] for e in second["events"]] == ids[500:]
    assert (second["last_id"], second["more"]) == (ids[500], False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.OPERATIONS, 200),
        (Role.SHELTER_MANAGER, 403),
        (None, 401),
    ],
)
def test_the_event_log_is_for_staff_only(api_as, users, role, status):
    publish("incident.declared", incident())

    response = api_as(users.get(role)).get("/api/v1/events?after=0")

    assert response.status_code == status
    if status != 200:
        assert "events" not in response.json()


def in_thread(body, errors: list[BaseException]) -> threading.Thread:
    """`body` on its own thread (and database connection); what it raises goes to `errors`."""

    def run():
        try:
            body()
        except BaseException as e:
            errors.append(e)
        finally:
            connection.close()

    return threading.Thread(target=run, daemon=True)


@pytest.mark.django_db(transaction=True)
def test_a_reader_does_not_pass_an_older_transaction_that_commits_after_a_younger_one():
    old_published, old_may_commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    results: dict[str, Event] = {}

    def older():
        with transaction.atomic():
            results["older"] = publish("incident.declared", incident(1))
            old_published.set()
            if not old_may_commit.wait(TIMEOUT):
                raise TimeoutError("never told to commit")

    thread = in_thread(older, errors)
    thread.start()
    try:
        assert old_published.wait(TIMEOUT), errors
        with transaction.atomic():
            younger = publish("incident.declared", incident(2))
        assert younger.id > results["older"].id  # ids follow transaction order, not commits

        # The younger one has committed, the older one not yet: a reader must wait.
        while_older_runs = events_after(0)
    finally:
        old_may_commit.set()
        thread.join(TIMEOUT)
    assert errors == []
    once_it_committed = events_after(0)

    assert while_older_runs == []
    assert [e.id for e in once_it_committed] == [results["older"].id, younger.id]


WRITERS, TRANSACTIONS_EACH, READERS, READ_PAGE = 8, 25, 4, 7


@pytest.mark.django_db(transaction=True)
def test_racing_writers_and_catching_up_readers_see_every_event_once_in_order():
    """Writers whose transactions take their ids early and commit late, others quickly;
    readers page through the log meanwhile. Every reader must end with every committed
    event, once each, in id order: a cursor never passes an event that is yet to commit."""
    errors: list[BaseException] = []
    committed: list[list[int]] = [[] for _ in range(WRITERS)]
    writers_done = threading.Event()
    read: list[list[int]] = [[] for _ in range(READERS)]

    def writer(n: int):
        for t in range(TRANSACTIONS_EACH):
            with transaction.atomic():
                ids = [publish("incident.declared", incident(n)).id for _ in range(1 + t % 3)]
                if (n + t) % 3 == 0:
                    # Commit late: other, younger transactions commit in the meantime.
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM generate_series(1, 200000)")
                if t % 5 == 4:
                    with transaction.atomic():
                        publish("incident.declared", incident(n))
                        transaction.set_rollback(True)  # a gap that stays a gap
            committed[n].extend(ids)

    def reader(n: int):
        cursor = 0
        while True:
            done = writers_done.is_set()
            page = events_after(cursor, READ_PAGE)
            read[n].extend(e.id for e in page)
            if page:
                cursor = page[-1].id
            elif done:
                return

    writers = [in_thread(lambda n=n: writer(n), errors) for n in range(WRITERS)]
    readers = [in_thread(lambda n=n: reader(n), errors) for n in range(READERS)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    writers_done.set()
    for thread in readers:
        thread.join(120)

    assert errors == []
    assert not any(t.is_alive() for t in writers + readers)
    everything = sorted(i for ids in committed for i in ids)
    assert len(everything) == WRITERS * sum(1 + t % 3 for t in range(TRANSACTIONS_EACH))
    assert list(Event.objects.values_list("id", flat=True)) == everything
    for ids in read:
        assert ids == everything
