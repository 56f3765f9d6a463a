"""The admin page that sets the city up (/admin/setup-city/): the same steps as
`manage.py setup_city`, from uploaded files, a trial run first. 座間市's files, whose
small areas are published without shapes, so its districts are derived from the points."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from disaster.core.geography import CityBoundary, District
from disaster.core.models import User
from disaster.demo import DATA
from shelters.models import Shelter
from stockpile.models import Depot

pytestmark = pytest.mark.django_db

URL = "/admin/setup-city/"


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (DATA / name).read_bytes())


def form(dry_run: bool, boundary: str = "mlit-n03-boundary-14216.geojson") -> dict:
    fields = {
        "boundary": upload(boundary),
        "shelters": [
            upload("gsi-evacuation-142166.geojson"),
            upload("gsi-emergency-142166.geojson"),
        ],
        "small_areas": upload("estat-h27-chome-attributes-14216.csv"),
        "admin_username": "city-admin",
    }
    return fields | ({"dry_run": "on"} if dry_run else {})


def report(html: str) -> dict[str, list[str]]:
    """The report's rows: step → [created, updated, unchanged]."""
    rows = re.findall(
        r'<tr><th scope="row">(.*?)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>', html
    )
    return {step: [created, updated, unchanged] for step, created, updated, unchanged in rows}


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_only_administrators_reach_the_page(admin_client, ops_user):
    ops = Client()
    ops.force_login(ops_user)

    for client in (Client(), ops):
        response = client.post(URL, form(dry_run=False))
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert not Shelter.objects.exists()
    assert 'href="/admin/setup-city/"' in admin_client.get("/admin/").content.decode()


def test_a_trial_run_shows_what_would_change_and_writes_nothing(admin_client):
    response = admin_client.post(URL, form(dry_run=True))

    html = response.content.decode()
    assert response.status_code == 200
    assert "試行の結果（何も書き込んでいません）" in html
    steps = report(html)
    assert steps["市区町村境界"] == ["1", "0", "0"]
    assert steps["地区（推定）"] == ["64", "0", "0"]
    assert steps["備蓄倉庫（指定避難所ごと）"] == ["35", "0", "0"]
    assert "128,737" in html
    assert (CityBoundary.objects.count(), Shelter.objects.count(), District.objects.count()) == (
        0,
        0,
        0,
    )
    assert not User.objects.filter(username="city-admin").exists()
    assert 'id="admin-password"' not in html


def test_a_run_sets_the_city_up_shows_the_new_password_once_then_changes_nothing(
    admin_client,
):
    first = admin_client.post(URL, form(dry_run=False)).content.decode()

    assert report(first)["地区（推定）"] == ["64", "0", "0"]
    assert District.objects.filter(is_derived=True).count() == 64
    assert Depot.objects.count() == Shelter.objects.filter(is_shelter=True).count() == 35
    [password] = re.findall(r'id="admin-password">.*?<code>(.*?)</code>', first)
    assert User.objects.get(username="city-admin").check_password(password)

    again = admin_client.post(URL, form(dry_run=False)).content.decode()

    steps = report(again)
    assert all(created == updated == "0" for created, updated, _ in steps.values()), steps
    assert 'id="admin-password"' not in again


def test_a_file_of_another_city_is_refused_with_what_to_set(admin_client):
    response = admin_client.post(
        URL, form(dry_run=False, boundary="estat-14150/mlit-n03-boundary-14150.geojson")
    )

    html = response.content.decode()
    assert 'id="setup-error"' in html
    assert "CITY_CODE=141500 CITY_NAME=相模原市" in html
    assert not Shelter.objects.exists() and not CityBoundary.objects.exists()
