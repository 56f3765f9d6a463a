"""Every role is led from the home page to its work, and a page it may not use says so
kindly, in the page's language, with a way back."""

from __future__ import annotations

import pytest

from disaster.core.roles import Role

pytestmark = pytest.mark.django_db


def links_of(html: str) -> set[str]:
    import re

    return set(re.findall(r'href="(/[^"]*)"', html))


def test_operations_staff_are_led_to_every_page_of_their_work(session_as, ops_user):
    page = session_as(ops_user).get("/").content.decode()

    for path in (
        "/ops/",
        "/ops/alerts/",
        "/ops/supplies/",
        "/ops/transfers/",
        "/ops/residents/",
        "/ops/need-help/",
        "/account/tokens/",
        "/map/",
    ):
        assert path in links_of(page), path
    assert "/admin/" not in links_of(page)
    assert "/map/report/" in links_of(page)


def test_an_administrator_also_gets_the_admin_site(session_as, admin_user):
    page = session_as(admin_user).get("/").content.decode()

    assert {"/admin/", "/ops/", "/ops/alerts/"} <= links_of(page)


def test_a_shelter_manager_is_led_to_their_own_shelter_and_never_to_ops(
    session_as, manager_user, shelter, other_shelter
):
    page = session_as(manager_user).get("/").content.decode()

    assert f"/shelter/{shelter.pk}/" in links_of(page)
    assert f"/shelter/{other_shelter.pk}/" not in links_of(page)
    assert "/shelter/" in links_of(page)
    assert not {p for p in links_of(page) if p.startswith("/ops/")}


def test_residents_are_led_to_the_public_map_and_the_report_form(client, db):
    page = client.get("/").content.decode()

    assert {"/map/", "/map/report/", "/login/"} <= links_of(page)
    assert not {p for p in links_of(page) if p.startswith("/ops/")}


def test_a_manager_opening_ops_gets_a_japanese_page_with_a_way_to_their_work(
    session_as, manager_user
):
    response = session_as(manager_user).get("/ops/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "この画面は使えません" in page
    assert "/shelter/" in links_of(page)
    assert "/" in links_of(page)
    assert "Forbidden" not in page


def test_the_403_page_speaks_english_to_an_english_reader(session_as, manager_user):
    client = session_as(manager_user)
    client.cookies["django_language"] = "en"

    page = client.get("/ops/supplies/").content.decode()

    assert "You cannot use this page" in page
    assert "この画面" not in page


def test_an_unknown_page_is_a_friendly_404_with_the_way_home(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "ページが見つかりません" in page
    assert {"/", "/map/"} <= links_of(page)


def test_the_brand_is_not_said_twice_in_english(client, db):
    client.cookies["django_language"] = "en"

    page = client.get("/").content.decode()

    assert "Sonae Sonae" not in page
    assert "Sonae" in page


@pytest.mark.parametrize("role", [Role.OPERATIONS, Role.ADMINISTRATOR])
def test_the_header_marks_the_section_of_the_page(session_as, make_user, role):
    user = make_user("someone", role)

    page = session_as(user).get("/ops/transfers/").content.decode()

    assert 'href="/ops/transfers/" aria-current="page"' in page
