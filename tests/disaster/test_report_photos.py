"""Report photos as phones send them: multi-picture JPEGs (MPO) are JPEGs, and the public
form promises exactly the size the server takes, naming every format it takes."""

from __future__ import annotations

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from disaster.reports.models import ReportPhoto

pytestmark = pytest.mark.django_db

INSIDE = {"latitude": "35.49", "longitude": "139.41"}


@pytest.fixture(autouse=True)
def city(settings, tmp_path, city_boundary):
    settings.MEDIA_ROOT = tmp_path


def mpo() -> bytes:
    """Two pictures in one file, as a phone writes for HDR or depth."""
    first, second = Image.new("RGB", (64, 48), (200, 30, 30)), Image.new("RGB", (64, 48), "blue")
    exif = Image.Exif()
    exif[0x010F] = "SonaePhone"
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second], exif=exif)
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"
    return out.getvalue()


def post(photo: bytes, name: str, content_type: str):
    upload = SimpleUploadedFile(name, photo, content_type=content_type)
    return Client(REMOTE_ADDR="198.51.100.60").post(
        "/api/v1/public/reports", {"category": "fire", "severity": "3", "photo": upload, **INSIDE}
    )


def test_a_multi_picture_jpeg_is_taken_as_a_jpeg_without_its_metadata():
    response = post(mpo(), "IMG_0001.JPG", "image/jpeg")

    assert response.status_code == 201, response.content
    photo = ReportPhoto.objects.get()
    public = photo.public.read()
    assert photo.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(public)).format == "JPEG"
    assert b"SonaePhone" not in public


def test_the_form_promises_the_servers_own_limit_and_names_webp(settings):
    settings.REPORT_PHOTO_MAX_BYTES = 3_500_000
    page = Client().get("/map/report/").content.decode()

    assert "JPEG・PNG・WebP、3.5 MB まで" in page
    assert 'data-max-bytes="3500000"' in page


def test_a_photo_as_large_as_the_form_promises_by_default_is_taken(settings):
    page = Client().get("/map/report/").content.decode()
    assert "10 MB まで" in page
    noise = Image.frombytes("RGB", (1700, 1700), random.Random(3).randbytes(1700 * 1700 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=0)
    assert 8_000_000 < len(out.getvalue()) < settings.REPORT_PHOTO_MAX_BYTES

    assert post(out.getvalue(), "big.png", "image/png").status_code == 201
