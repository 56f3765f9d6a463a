"""What makes the tablet app installable and usable offline, as the server gives it: the
service worker at the top of the app, the web app manifest, and the list of pages the
worker keeps for a manager."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


@pytest.mark.django_db
def test_the_service_worker_is_served_over_the_whole_app_to_anyone(client: Client):
    response = client.get("/shelter/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/shelter/"
    assert response["Cache-Control"] == "no-cache"
    config = json.loads(re.search(r"const CONFIG = (\{.*\});", response.content.decode())[1])
    assert config["scope"] == "/shelter/"
    assert "/static/tablet/queue.js" in config["shell"]
    assert "/jsi18n/" in config["shell"]
    for url in config["shell"]:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url


@pytest.mark.django_db
def test_a_new_version_of_a_shell_file_is_a_new_worker(client: Client, monkeypatch, tmp_path):
    """Browsers install a worker again only when its script changes: the script names the
    version of the shell, so a deploy that changes a script reaches the tablets."""

    def version() -> str:
        body = client.get("/shelter/sw.js").content.decode()
        return json.loads(re.search(r"const CONFIG = (\{.*\});", body)[1])["version"]

    before = version()
    newer = tmp_path / "queue.js"
    newer.write_text("// the next version of the queue\n")
    real_find = finders.find
    monkeypatch.setattr(
        finders,
        "find",
        lambda name, **kw: str(newer) if name == "tablet/queue.js" else real_find(name, **kw),
    )

    assert version() != before


@pytest.mark.django_db
def test_the_manifest_installs_the_app_in_japanese_with_icons(client: Client):
    response = client.get("/shelter/manifest.webmanifest")

    manifest = response.json()
    assert response["Content-Type"] == "application/manifest+json"
    assert manifest["name"] == "備え 避難所タブレット"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/shelter/",
        "/shelter/",
        "standalone",
    )
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]


def kept_pages(html: str) -> list[str]:
    return json.loads(
        re.search(r'<script id="tablet-pages" type="application/json">(.*?)</script>', html)[1]
    )


@pytest.mark.django_db
def test_a_manager_s_tablet_keeps_every_page_of_each_of_their_shelters(
    session_as, manager_user, shelter, other_shelter, ops_user
):
    other_shelter.managers.add(manager_user)

    pages = kept_pages(session_as(manager_user).get(f"/shelter/{shelter.pk}/").content.decode())
    staff_pages = kept_pages(session_as(ops_user).get(f"/shelter/{shelter.pk}/").content.decode())

    assert pages[0] == "/shelter/"
    assert f"/shelter/{other_shelter.pk}/stock/issue/" in pages
    assert len(pages) == 1 + 2 * 8
    assert staff_pages == [
        "/shelter/",
        *[p for p in pages if p.startswith(f"/shelter/{shelter.pk}/")],
    ]
