"""Limits at the door: who the client is (X-Forwarded-For believed from trusted proxies
only, an IPv6 /64 as one client), the public form's limit before any photo is read, and
body caps answered in the API's error format before the body is read."""

from __future__ import annotations

import asyncio
import io
import json
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from disaster.asgi import application
from disaster.core.clients import bucket, client_address, client_key
from disaster.reports.models import DamageReport

INSIDE = {"latitude": "35.49", "longitude": "139.41"}
REPORT = {"category": "fire", "severity": "2", **INSIDE}


@pytest.fixture
def city(db, settings, tmp_path, city_boundary):
    settings.MEDIA_ROOT = tmp_path
    settings.REPORT_PUBLIC_PER_HOUR = 3


def post_report(remote: str, forwarded: str | None = None, **files) -> int:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    client = Client(REMOTE_ADDR=remote, **headers)
    return client.post("/api/v1/public/reports", {**REPORT, **files}).status_code


# Who the client is


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address("127.0.0.1", "198.51.100.7") == "127.0.0.1"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    # The client wrote "6.6.6.6" itself; 198.51.100.7 is what the first proxy saw.
    assert client_address("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert client_address("192.0.2.1", "198.51.100.7") == "192.0.2.1"  # not our proxy


def test_one_ipv6_slash_64_is_one_client_and_ipv4_mapped_is_ipv4():
    assert bucket("2001:db8:1:2::1") == bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert bucket(client_address("::ffff:203.0.113.5")) == "203.0.113.5"


def test_rotating_forwarded_headers_from_one_peer_stay_one_sender(city, settings):
    settings.TRUSTED_PROXIES = []
    answers = [post_report("198.51.100.1", f"203.0.113.{n}") for n in range(5)]

    assert answers == [201, 201, 201, 429, 429]


def test_residents_behind_a_trusted_proxy_each_have_their_own_limit(city, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    answers = [post_report("10.0.0.5", f"203.0.113.{n}") for n in range(6)]
    one_resident = [post_report("10.0.0.5", "203.0.113.99") for _ in range(4)]

    assert answers == [201] * 6
    assert one_resident == [201, 201, 201, 429]


def test_addresses_of_one_ipv6_slash_64_share_a_limit(city):
    answers = [post_report(f"2001:db8:1:2::{n:x}") for n in range(1, 5)]

    assert answers == [201, 201, 201, 429]
    assert post_report("2001:db8:1:3::1") == 201


def test_a_limited_sender_is_refused_before_its_photo_is_opened(city):
    for _ in range(3):
        assert post_report("198.51.100.2") == 201
    # Not a photo at all: opening it would answer 415; the limit answers first.
    junk = SimpleUploadedFile("bomb.png", b"\x89PNG not really", content_type="image/png")

    assert post_report("198.51.100.2", photo=junk) == 429
    assert DamageReport.objects.count() == 3


def test_a_sender_of_broken_photos_is_limited_by_its_attempts(city, settings):
    settings.REPORT_PUBLIC_ATTEMPTS_PER_HOUR = 4
    junk = [SimpleUploadedFile("x.png", b"\x89PNG broken", "image/png") for _ in range(6)]
    answers = [post_report("198.51.100.7", photo=photo) for photo in junk]

    assert answers == [415, 415, 415, 415, 429, 429]
    assert not DamageReport.objects.exists()


# Body caps, in the API's error format


def test_a_json_body_over_the_cap_is_a_413_in_the_api_format(db, api_as, ops_user):
    big = json.dumps({"name": "x" * 3_000_000})
    response = api_as(ops_user).post("/api/v1/incidents", big, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_form_fields_over_djangos_memory_limit_are_a_413_in_the_api_format(city, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000  # the photo route's own cap is larger
    body = {**REPORT, "description": "x" * 20_000}
    response = Client().post("/api/v1/public/reports", body)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_a_keyed_photo_larger_than_djangos_memory_limit_is_taken_and_replayed(
    city, settings, api_as, ops_user
):
    # The idempotency middleware fingerprints the body before the view: Django's own
    # limit for an in-memory body must not refuse a photo its route accepts.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    staff = api_as(ops_user)
    report = staff.post(
        "/api/v1/reports",
        {"category": "fire", "severity": 2, **INSIDE},
        content_type="application/json",
    ).json()
    photo = big_png()
    assert len(photo) > 100_000

    def send():
        upload = SimpleUploadedFile("p.png", photo, content_type="image/png")
        return staff.post(
            f"/api/v1/reports/{report['id']}/photos",
            {"photo": upload},
            headers={"Idempotency-Key": "photo-1"},
        )

    first, again = send(), send()

    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def big_png() -> bytes:
    noise = Image.frombytes("RGB", (700, 700), random.Random(7).randbytes(700 * 700 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    return out.getvalue()


def test_the_photo_route_takes_a_photo_up_to_its_own_limit(city, settings):
    settings.REPORT_PHOTO_MAX_BYTES = 4_000_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
    data = big_png()
    assert 1_000_000 < len(data) < 4_000_000
    photo = SimpleUploadedFile("p.png", data, content_type="image/png")

    assert post_report("198.51.100.3", photo=photo) == 201


# The ASGI gate: nothing is read that will be refused


class Exchange:
    """One HTTP exchange with the ASGI application, counting the body chunks it reads."""

    def __init__(self, chunks: list[bytes]):
        self.chunks = chunks
        self.read = 0
        self.messages: list[dict] = []

    async def receive(self) -> dict:
        if self.read < len(self.chunks):
            self.read += 1
            return {
                "type": "http.request",
                "body": self.chunks[self.read - 1],
                "more_body": self.read < len(self.chunks),
            }
        await asyncio.Event().wait()  # the client waits for its answer
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.messages if m["type"] == "http.response.start")

    @property
    def body(self) -> dict:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))


def scope_of(method: str, path: str, headers: dict[str, str], client="198.51.100.4") -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"127.0.0.1")],
        "client": (client, 50000),
        "server": ("127.0.0.1", 8000),
    }


def call(path: str, chunks: list[bytes], headers: dict[str, str], client="198.51.100.4"):
    exchange = Exchange(chunks)
    scope = scope_of("POST", path, headers, client)
    asyncio.run(asyncio.wait_for(application(scope, exchange.receive, exchange.send), 30))
    return exchange


def test_a_declared_300_mb_upload_is_refused_before_any_of_it_is_read(transactional_db):
    chunks = [b"x" * 1_000_000] * 300
    exchange = call(
        "/api/v1/public/reports",
        chunks,
        {"content-type": "multipart/form-data; boundary=b", "content-length": "300000000"},
    )

    assert exchange.status == 413 and exchange.body["code"] == "too_large"
    assert exchange.read == 0


def test_a_streamed_upload_without_a_length_is_cut_off_at_the_cap(transactional_db, settings):
    settings.REPORT_PHOTO_MAX_BYTES = 1_000_000
    exchange = call(
        "/api/v1/public/reports",
        [b"x" * 100_000] * 300,
        {"content-type": "multipart/form-data; boundary=b", "transfer-encoding": "chunked"},
    )

    assert exchange.status == 413
    assert exchange.read <= 12  # 1 MB + the multipart slack, and not one chunk more


def test_a_limited_sender_is_answered_before_its_body_is_read(transactional_db, city):
    key_client = "198.51.100.5"
    for _ in range(3):
        assert post_report(key_client) == 201
    exchange = call(
        "/api/v1/public/reports",
        [b"x" * 1_000_000] * 5,
        {"content-type": "multipart/form-data; boundary=b", "content-length": "5000000"},
        client=key_client,
    )

    assert exchange.status == 429 and exchange.body["code"] == "rate_limited"
    assert int(dict(exchange.messages[0]["headers"])[b"retry-after"]) > 0
    assert exchange.read == 0


class SlowUpload(Exchange):
    """A client that sends the first part of its photo and then nothing more for now."""

    async def receive(self) -> dict:
        if self.read == 0:
            self.read = 1
            return {"type": "http.request", "body": self.chunks[0], "more_body": True}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}


def test_slow_uploads_hold_none_of_the_threads_the_views_run_on(transactional_db, settings):
    # More unfinished uploads than the process has threads for its views: were a thread
    # taken before the body arrived, the page asked for after them would never be answered.
    uploads = [SlowUpload([b"x" * 10_000]) for _ in range(settings.HTTP_THREADS + 2)]
    page = Exchange([b""])
    upload_headers = {"content-type": "multipart/form-data; boundary=b", "content-length": "99999"}

    async def scenario() -> None:
        waiting = [
            asyncio.create_task(
                application(
                    # A staff route: no client limit to check before the body is received.
                    scope_of("POST", "/api/v1/reports/1/photos", upload_headers),
                    upload.receive,
                    upload.send,
                )
            )
            for upload in uploads
        ]
        await asyncio.sleep(0)  # every upload has begun
        await asyncio.wait_for(
            application(scope_of("GET", "/no-such-page/", {}), page.receive, page.send), 20
        )
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    asyncio.run(scenario())

    assert page.status == 404
    assert all(upload.read == 1 and not upload.messages for upload in uploads)
