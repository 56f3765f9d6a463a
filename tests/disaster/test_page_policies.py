"""Every page carries a Content-Security-Policy with a fresh nonce and a Permissions-Policy,
and nothing in a page would be blocked by its own policy: scripts come from our files or
carry the nonce, JSON data blocks are not scripts, no inline handlers or styles, nothing
from another host. /api/docs runs from our own static files, not a CDN."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from disaster.core.roles import Role

pytestmark = pytest.mark.django_db

PAGES = [
    ("/", None),
    ("/login/", None),
    ("/map/", None),
    ("/map/report/", None),
    ("/api/docs", None),
    ("/ops/", Role.OPERATIONS),
    ("/ops/alerts/", Role.OPERATIONS),
    ("/shelter/", Role.SHELTER_MANAGER),
    ("/admin/", Role.ADMINISTRATOR),
]


def directives(header: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.parametrize(("path", "role"), PAGES, ids=[p for p, _ in PAGES])
def test_every_page_carries_a_policy_it_does_not_break(path, role, users):
    client = Client()
    if role is not None:
        client.force_login(users[role])
    response = client.get(path, follow=True)
    html = response.content.decode()

    assert response.status_code == 200, path
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    nonces = [v[len("'nonce-") : -1] for v in policy["script-src"] if v.startswith("'nonce-")]
    for tag in re.findall(r"<script\b[^>]*>", html):
        if 'type="application/json"' in tag or "src=" in tag:
            assert "src=" not in tag or re.search(r'src="/(?!/)', tag), tag  # ours only
            continue
        assert nonces and f'nonce="{nonces[0]}"' in tag, f"{path}: inline script {tag}"
    assert not re.search(r"<[^>]+\son[a-z]+=", html), f"{path}: inline event handler"
    assert not re.search(r"<[^>]+\sstyle=", html), f"{path}: inline style"
    assert not re.search(r'<link[^>]+href="(https?:)?//', html), f"{path}: foreign stylesheet"
    assert "geolocation=(self)" in response["Permissions-Policy"]
    assert "camera=()" in response["Permissions-Policy"]


def test_the_nonce_is_new_for_every_response(users):
    first, second = (Client().get("/map/")["Content-Security-Policy"] for _ in range(2))

    assert first != second and "'nonce-" in first


def test_the_api_docs_run_from_our_own_static_files():
    html = Client().get("/api/docs").content.decode()

    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui.css" in html
    assert "cdn." not in html and "//unpkg" not in html
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200
