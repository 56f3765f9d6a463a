"""Photos sent with damage reports: checked by opening them, not by their name or declared
type, and re-encoded without metadata for everyone but operations staff.

A phone photo's EXIF carries where it was taken, which for a resident is often their home:
the copy shown on the map and in lists has none (not even the orientation: it is applied to
the pixels first). The original is kept for operations staff, who may need it.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from disaster.core.errors import TooLarge, UnsupportedMediaType
from disaster.reports.models import DamageReport, ReportPhoto

# MPO (multi-picture JPEG: what many phones write for HDR or depth) is a JPEG whose first
# picture every viewer shows; it is kept as sent and its stripped copy is that picture.
FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded


def photo_limit_mb() -> str:
    """REPORT_PHOTO_MAX_BYTES in MB (10^6 bytes) as the form and the refusal say it."""
    return f"{settings.REPORT_PHOTO_MAX_BYTES / 1_000_000:.1f}".removesuffix(".0")


def _read_limited(upload: UploadedFile) -> bytes:
    limit = settings.REPORT_PHOTO_MAX_BYTES
    too_large = TooLarge(_("写真は %(mb)s MB までです。") % {"mb": photo_limit_mb()})
    if upload.size is not None and upload.size > limit:
        raise too_large
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise too_large
    return data


def open_image(data: bytes) -> Image.Image:
    """The decoded image, or a 415 (not a JPEG/PNG/WebP, or broken: a truncated file passes
    `verify()` and fails only when decoded) or a 413 (too many pixels, checked from the
    header before anything is decoded)."""
    not_a_photo = UnsupportedMediaType(_("写真（JPEG・PNG・WebP）を送ってください。"))
    too_many_pixels = TooLarge(_("写真の画素数が多すぎます。"))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise not_a_photo
        if image.width * image.height > MAX_PIXELS:
            raise too_many_pixels
        image.load()
    except Image.DecompressionBombError as error:
        raise too_many_pixels from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise not_a_photo from error
    return image


def stripped(image: Image.Image) -> bytes:
    """The image re-encoded with no metadata, its EXIF orientation applied to the pixels."""
    upright = ImageOps.exif_transpose(image)
    fmt = "JPEG" if image.format == "MPO" else image.format
    if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    out = io.BytesIO()
    # Pillow writes EXIF, XMP or ICC data only when asked to: nothing is passed on here.
    options = {} if fmt == "PNG" else {"quality": 85}
    upright.save(out, format=fmt, **options)
    return out.getvalue()


def check_photo(upload: UploadedFile) -> tuple[bytes, Image.Image]:
    """The photo's bytes and image, or a 413/415 saying what is wrong."""
    data = _read_limited(upload)
    return data, open_image(data)


def attach_photo(report: DamageReport, data: bytes, image: Image.Image) -> ReportPhoto:
    assert image.format in FORMATS, "open_image admits no other format"
    photo = ReportPhoto(
        report=report,
        content_type=FORMATS[image.format],
        width=image.width,
        height=image.height,
        size=len(data),
    )
    photo.original.save("original", ContentFile(data), save=False)
    photo.public.save("public", ContentFile(stripped(image)), save=False)
    photo.save()
    return photo
