"""The administrators' pages: a manager given shelters from the user's page, hazards ticked
by their Japanese names, shelter open data imported after a preview, and an audit log that
names people and things and shows each change readably."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from disaster.core.models import AuditEntry, User
from disaster.core.roles import Role
from shelters.models import Shelter

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_a_manager_for_one_shelter_from_the_users_page(
    session_as, admin_user, shelter, other_shelter
):
    client = session_as(admin_user)

    response = client.post(
        "/admin/disaster/user/add/",
        {
            "username": "kurihara-mgr",
            "role": Role.SHELTER_MANAGER,
            "password1": "a long enough pass phrase 42",
            "password2": "a long enough pass phrase 42",
            "usable_password": "true",
            "shelters": [other_shelter.pk],
            "_save": "1",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    manager = User.objects.get(username="kurihara-mgr")
    assert list(manager.managed_shelters.all()) == [other_shelter]
    entry = AuditEntry.objects.get(action="user.shelters", target_id=str(manager.pk))
    # The audit log shows the shelter's name, not {"managed_shelters": [5]}.
    page = client.get(f"/admin/disaster/auditentry/{entry.pk}/change/").content.decode()
    assert "座間市立栗原小学校" in page
    assert "managed_shelters" not in page


def test_the_shelters_a_user_runs_are_shown_and_changed_on_the_users_page(
    session_as, admin_user, manager_user, shelter
):
    page = session_as(admin_user).get(f"/admin/disaster/user/{manager_user.pk}/change/")

    assert f'<option value="{shelter.pk}" selected>' in page.content.decode()


def test_hazards_are_boxes_with_their_japanese_names(session_as, admin_user, shelter):
    page = (
        session_as(admin_user).get(f"/admin/shelters/shelter/{shelter.pk}/change/").content.decode()
    )

    assert 'type="checkbox" name="hazards" value="flood"' in page
    assert "洪水" in page and "大規模な火事" in page
    # Ticked as stored.
    assert 'value="earthquake" id="id_hazards_3" checked' in page or (
        'value="earthquake"' in page and "checked" in page
    )


SITES = Path(settings.SHARED_DATA_DIR) / "gsi-emergency-142166.geojson"  # GSI's own file


def geojson(first: int) -> tuple[bytes, str]:
    """Two of 座間市's sites from GSI's own file, starting at `first`; and the first name."""
    collection = json.loads(SITES.read_text(encoding="utf-8-sig"))
    features = collection["features"][first : first + 2]
    collection["features"] = features
    return json.dumps(collection, ensure_ascii=False).encode(), features[0]["properties"][
        "施設・場所名"
    ]


def test_open_data_is_previewed_and_only_the_previewed_file_is_imported(session_as, admin_user, db):
    client = session_as(admin_user)
    url = "/admin/shelters/shelter/opendata/"
    content, name = geojson(0)

    preview = client.post(url, {"file": SimpleUploadedFile("shelters.geojson", content)})

    page = preview.content.decode()
    assert 'data-dry-run="true"' in page, page[-3000:]
    assert name in page
    assert not Shelter.objects.exists()
    digest = page.split('name="previewed" value="')[1].split('"')[0]

    other = client.post(
        url,
        {"file": SimpleUploadedFile("x.geojson", geojson(2)[0]), "previewed": digest, "apply": "1"},
    )
    assert 'data-dry-run="true"' in other.content.decode()
    assert not Shelter.objects.exists()

    applied = client.post(
        url,
        {
            "file": SimpleUploadedFile("shelters.geojson", content),
            "previewed": digest,
            "apply": "1",
        },
    )
    assert 'data-dry-run="false"' in applied.content.decode()
    assert Shelter.objects.filter(name=name).exists() and Shelter.objects.count() == 2


def test_the_audit_log_lists_names_and_readable_changes(session_as, admin_user, shelter):
    from shelters.services import change_status

    change_status(shelter.pk, status=Shelter.Status.OPEN, by=admin_user)

    page = session_as(admin_user).get("/admin/disaster/auditentry/").content.decode()

    assert "避難所の開設状況" in page  # the action in words
    assert "座間市立相模が丘小学校" in page  # the shelter by name
    assert "開設" in page  # the status by its label, not "open"


def test_head_counts_and_count_sheets_are_in_the_audit_log(admin_user, shelter):
    from shelters.services import record_headcount

    record_headcount(shelter.pk, total=42, by=admin_user)

    entry = AuditEntry.objects.get(action="headcount.record")
    assert (entry.actor_name, entry.after["total"], entry.after["shelter_id"]) == (
        admin_user.username,
        42,
        shelter.pk,
    )


def test_the_audit_log_filters_by_action_in_words_and_leaves_out_empty_changes(
    session_as, admin_user, shelter
):
    from disaster.core import audit, audit_display
    from shelters.services import change_status

    change_status(shelter.pk, status=Shelter.Status.OPEN, by=admin_user)
    empty = audit.record(admin_user, "user.relations", admin_user, before={}, after={"groups": []})

    page = session_as(admin_user).get("/admin/disaster/auditentry/").content.decode()

    assert "?action=shelter.status" in page and "避難所の開設状況" in page
    assert audit_display.changes(empty) == []
