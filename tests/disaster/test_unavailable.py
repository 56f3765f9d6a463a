"""The database going away under a request (restarted, its pool exhausted): the request
is answered 503 with Retry-After — never a 500 — and the same request sent again once
PostgreSQL is back does what it asked, once.

The connection is really cut (`pg_terminate_backend` from a second session), as a restart
of PostgreSQL cuts it. At the end of such a request Django closes the broken connection
(`close_old_connections` on request_finished); the test client leaves that signal out to
keep its connection, so the tests close it as the server would, before the retry.
"""

import uuid

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client

from disaster.core.models import Incident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _reconnect_after():
    yield
    connection.close()  # whatever the test left cut: the flush after it needs a live one


def as_the_server_does_after_a_request() -> None:
    close_old_connections()


def cut_the_connection() -> None:
    """End the session Django's next query will use, from a session of our own."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_an_api_read_gets_503_with_retry_after_then_works(shelter):
    client = Client(raise_request_exception=False)
    cut_the_connection()

    refused = client.get("/api/v1/map/public/shelters.geojson")

    assert refused.status_code == 503
    assert refused["Retry-After"] == "5"
    assert refused.json()["code"] == "unavailable"
    as_the_server_does_after_a_request()
    assert client.get("/api/v1/map/public/shelters.geojson").status_code == 200


def test_a_write_cut_in_the_middleware_is_a_503_and_its_retry_is_done_once(api_as, ops_user):
    client = api_as(ops_user)
    client.raise_request_exception = False
    key = str(uuid.uuid4())
    body = {"name": "座間市 震度6弱", "kind": "earthquake"}

    def declare():
        return client.post(
            "/api/v1/incidents",
            body,
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )

    cut_the_connection()
    refused = declare()
    assert refused.status_code == 503 and refused.json()["code"] == "unavailable"
    assert refused["Retry-After"] == "5"
    as_the_server_does_after_a_request()
    assert Incident.objects.count() == 0

    assert declare().status_code == 201
    assert declare().status_code == 201
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("language", "heading"), [("ja", "一時的に使えません"), ("en", "Temporarily unavailable")]
)
def test_a_page_says_so_in_the_readers_language_and_offers_119(shelter, language, heading):
    client = Client(raise_request_exception=False, headers={"accept-language": language})
    cut_the_connection()

    page = client.get("/")

    assert page.status_code == 503
    assert page["Retry-After"] == "5"
    text = page.content.decode()
    assert f"<h1>{heading}</h1>" in text
    assert "119" in text
    assert "Traceback" not in text
    as_the_server_does_after_a_request()
    assert client.get("/").status_code == 200


def test_other_errors_stay_500(shelter, monkeypatch):
    """Only the database being away is a 503: a bug is still a server error."""
    client = Client(raise_request_exception=False)
    monkeypatch.setattr("disaster.views.render", lambda *args, **kwargs: 1 / 0)

    assert client.get("/").status_code == 500
