"""Head-counts mean what the manager meant: a figure left out keeps its last value (never
reset to 0), a count carries the time it was observed and is ordered by it, and people fed
from the shelter while sleeping elsewhere (在宅避難者・車中泊) are counted apart."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from shelters import services
from shelters.models import HeadCount, Shelter

API = "/api/v1"
NEEDS_BEFORE = {
    "elderly": 80,
    "infants": 12,
    "pregnant": 3,
    "disabled": 9,
    "care_needed": 7,
    "medical_care": 2,
    "language_support": 5,
    "women": 150,
    "pets": 4,
    "supported_at_home": 40,
    "supported_in_cars": 25,
}


def post(client, shelter: Shelter, body: dict):
    return client.post(
        f"{API}/shelters/{shelter.pk}/headcounts", body, content_type="application/json"
    )


def error_messages(response) -> dict[str, str]:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@pytest.fixture
def counted(api_as, manager_user, shelter):
    """A shelter whose last count has every figure set."""
    response = post(api_as(manager_user), shelter, {"total": 300, **NEEDS_BEFORE})
    assert response.status_code == 201, response.content
    return shelter


@pytest.mark.django_db
def test_a_total_only_update_keeps_every_other_figure(api_as, manager_user, counted):
    response = post(api_as(manager_user), counted, {"total": 320})

    assert response.status_code == 201
    answer = response.json()
    assert {name: answer[name] for name in NEEDS_BEFORE} == NEEDS_BEFORE
    assert answer["total"] == 320
    assert answer["care_needs"] == 80 + 12 + 3 + 9 + 7 + 2 + 5
    assert answer["is_current"] is True
    latest = HeadCount.objects.filter(shelter=counted).first()
    assert (latest.total, latest.elderly, latest.supported_in_cars) == (320, 80, 25)


@pytest.mark.django_db
def test_a_figure_sent_as_zero_is_zero_and_null_keeps_it(api_as, manager_user, counted):
    answer = post(api_as(manager_user), counted, {"total": 300, "pets": 0, "infants": None}).json()

    assert (answer["pets"], answer["infants"]) == (0, 12)


@pytest.mark.django_db
def test_a_kept_value_larger_than_the_new_total_is_refused_not_dropped(
    api_as, manager_user, counted
):
    response = post(api_as(manager_user), counted, {"total": 50})

    assert response.status_code == 422
    messages = error_messages(response)
    assert set(messages) == {"elderly", "women"}
    assert "前回の値（80）" in messages["elderly"]
    assert HeadCount.objects.filter(shelter=counted).count() == 1


@pytest.mark.django_db
def test_households_are_unknown_until_counted_then_kept_like_the_needs(
    api_as, manager_user, shelter
):
    client = api_as(manager_user)

    assert post(client, shelter, {"total": 300}).json()["households"] is None
    assert post(client, shelter, {"total": 300, "households": 130}).json()["households"] == 130
    kept = post(client, shelter, {"total": 320})
    assert kept.status_code == 201 and kept.json()["households"] == 130


@pytest.mark.django_db
def test_more_households_than_people_is_refused_at_the_field(api_as, manager_user, shelter):
    client = api_as(manager_user)
    post(client, shelter, {"total": 300, "households": 130})

    too_many = post(client, shelter, {"total": 20, "households": 21})
    kept_too_many = post(client, shelter, {"total": 100})

    assert too_many.status_code == 422 and "households" in error_messages(too_many)
    assert kept_too_many.status_code == 422 and "households" in error_messages(kept_too_many)
    # A kept value is said to be the previous count's, as for the needs.
    assert "130" in error_messages(kept_too_many)["households"]
    assert HeadCount.objects.count() == 1


@pytest.mark.django_db
def test_people_staying_elsewhere_are_not_part_of_the_total(api_as, manager_user, shelter):
    body = {"total": 10, "supported_at_home": 400, "supported_in_cars": 120}
    client = api_as(manager_user)

    response = post(client, shelter, body)

    assert response.status_code == 201
    (row,) = [s for s in client.get(f"{API}/shelters").json()["items"] if s["id"] == shelter.pk]
    assert row["occupancy"] == 10


@pytest.mark.django_db
def test_a_count_observed_earlier_is_history_and_never_the_current_one(
    api_as, manager_user, shelter, published
):
    client = api_as(manager_user)
    now = timezone.now()
    post(client, shelter, {"total": 200, "elderly": 40, "observed_at": now.isoformat()})

    # The paper record of the first night, typed in afterwards.
    night = (now - dt.timedelta(hours=10)).replace(microsecond=0)
    response = post(client, shelter, {"total": 90, "observed_at": night.isoformat()})

    assert response.status_code == 201
    assert response.json()["is_current"] is False
    assert response.json()["elderly"] == 0  # nothing was known before it
    history = client.get(f"{API}/shelters/{shelter.pk}/headcounts").json()["items"]
    assert [(h["total"], h["is_current"]) for h in history] == [(200, True), (90, False)]
    assert dt.datetime.fromisoformat(history[1]["observed_at"]) == night
    assert dt.datetime.fromisoformat(history[1]["at"]) > night  # recorded later
    (row,) = [s for s in client.get(f"{API}/shelters").json()["items"] if s["id"] == shelter.pk]
    assert row["occupancy"] == 200
    assert [e["is_current"] for e in published("shelter.headcount")] == [True, False]


@pytest.mark.django_db
def test_a_count_sent_late_keeps_the_time_it_was_taken(api_as, manager_user, shelter):
    """Counted at 10:00 offline, sent when the connection returned at 14:00: the count is
    the 10:00 one, and a count taken at 12:00 but sent first stays the current one."""
    client = api_as(manager_user)
    now = timezone.now()
    post(client, shelter, {"total": 150, "observed_at": (now - dt.timedelta(hours=2)).isoformat()})
    late = post(
        client, shelter, {"total": 120, "observed_at": (now - dt.timedelta(hours=4)).isoformat()}
    )

    assert late.json()["is_current"] is False
    assert HeadCount.objects.filter(shelter=shelter).first().total == 150


@pytest.mark.django_db
def test_missing_figures_of_a_late_count_come_from_the_count_before_it(
    api_as, manager_user, shelter
):
    client = api_as(manager_user)
    now = timezone.now()
    post(
        client,
        shelter,
        {"total": 100, "elderly": 10, "observed_at": (now - dt.timedelta(hours=5)).isoformat()},
    )
    post(client, shelter, {"total": 100, "elderly": 30, "observed_at": now.isoformat()})

    between = post(
        client, shelter, {"total": 100, "observed_at": (now - dt.timedelta(hours=1)).isoformat()}
    )

    assert between.json()["elderly"] == 10


@pytest.mark.django_db
def test_a_small_clock_difference_is_accepted_a_count_from_the_future_is_not(
    api_as, manager_user, shelter, settings
):
    settings.HEADCOUNT_CLOCK_SKEW_S = 300
    client = api_as(manager_user)
    now = timezone.now()

    ahead = post(
        client, shelter, {"total": 5, "observed_at": (now + dt.timedelta(minutes=2)).isoformat()}
    )
    future = post(
        client, shelter, {"total": 5, "observed_at": (now + dt.timedelta(hours=1)).isoformat()}
    )

    assert ahead.status_code == 201
    assert future.status_code == 422
    assert set(error_messages(future)) == {"observed_at"}
    assert "未来" in error_messages(future)["observed_at"]
    assert HeadCount.objects.count() == 1


@pytest.mark.django_db
def test_a_count_before_the_shelter_opened_or_too_old_is_refused(
    api_as, manager_user, ops_user, shelter, settings
):
    settings.HEADCOUNT_MAX_AGE_DAYS = 30
    client = api_as(manager_user)
    now = timezone.now()
    old = post(
        client, shelter, {"total": 5, "observed_at": (now - dt.timedelta(days=31)).isoformat()}
    )
    services.change_status(shelter.pk, status=Shelter.Status.OPEN, by=ops_user)
    shelter.refresh_from_db()

    before_opening = post(
        client, shelter, {"total": 5, "observed_at": (now - dt.timedelta(hours=1)).isoformat()}
    )
    after_opening = post(client, shelter, {"total": 5})

    assert old.status_code == 422
    assert "古すぎます" in error_messages(old)["observed_at"]
    assert before_opening.status_code == 422
    assert "開設" in error_messages(before_opening)["observed_at"]
    assert after_opening.status_code == 201
    assert shelter.opened_at is not None


@pytest.mark.django_db
def test_opening_sets_the_opening_time_and_filling_up_keeps_it(ops_user, shelter):
    services.change_status(shelter.pk, status=Shelter.Status.OPEN, by=ops_user)
    opened = Shelter.objects.get(pk=shelter.pk).opened_at

    services.change_status(shelter.pk, status=Shelter.Status.FULL, by=ops_user)

    assert opened is not None
    assert Shelter.objects.get(pk=shelter.pk).opened_at == opened


@pytest.mark.django_db
def test_the_tablet_form_starts_from_the_last_value_of_every_figure(
    session_as, manager_user, counted
):
    page = session_as(manager_user).get(f"/shelter/{counted.pk}/").content.decode()

    assert 'name="total" type="number"' in page
    assert 'value="300"' in page
    for name, value in NEEDS_BEFORE.items():
        assert (
            f'name="{name}" type="number" inputmode="numeric" min="0" max="20000" value="{value}"'
            in page
        )
    households = 'name="households" type="number" inputmode="numeric" min="0" max="20000"'
    assert f'{households} value=""' in page  # not counted yet: empty, not 0
    assert 'id="now-supported_at_home">40<' in page
    assert 'id="now-supported_in_cars">25<' in page


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_counts_the_time_they_were_recorded():
    executor = MigrationExecutor(connection)
    executor.migrate([("shelters", "0003_shelter_opendata_id")])
    old = executor.loader.project_state([("shelters", "0003_shelter_opendata_id")]).apps
    recorded = dt.datetime(2025, 9, 1, 21, 30, tzinfo=dt.UTC)
    place = old.get_model("shelters", "Shelter").objects.create(
        name="旧",
        address="座間市",
        point="POINT(139.4 35.5)",
        status="open",
        status_changed_at=recorded,
    )
    old.get_model("shelters", "HeadCount").objects.create(shelter=place, total=7, at=recorded)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    count = HeadCount.objects.get(shelter_id=place.pk)
    assert count.observed_at == recorded == count.at
    assert Shelter.objects.get(pk=place.pk).opened_at == recorded


@pytest.mark.django_db
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:00Z", "0001-01-01T00:00:00+09:00"])
def test_a_count_at_the_ends_of_the_calendar_is_refused_not_a_server_error(
    api_as, manager_user, shelter, moment
):
    response = post(api_as(manager_user), shelter, {"total": 5, "observed_at": moment})

    assert response.status_code == 422
    assert "observed_at" in error_messages(response)
