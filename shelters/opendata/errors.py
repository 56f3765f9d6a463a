"""How an import is refused: the whole file, with every bad row, or for its size."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy

from disaster.core.errors import DomainError, Invalid

# An upload larger than this is refused: the 推奨データセット of the largest city is well under
# 1 MB, and GSI's whole-country CSV is not something to load through the API.
MAX_UPLOAD_BYTES = settings.OPENDATA_MAX_BYTES


class ImportRejected(Invalid):
    """The file was refused and nothing was imported. `rows` lists every bad row as
    {line, field, message}; the API answers 422 with them."""

    def __init__(self, message: Any, *, rows: Iterable[dict] = (), **extra):
        self.rows = list(rows)
        super().__init__(message, fields={"file": str(message)}, rows=self.rows, **extra)


class FileTooLarge(DomainError):
    status = 413
    code = "too_large"
    default_message = gettext_lazy("ファイルが大きすぎます。")


def problem(line: int, column: str, message: str) -> dict:
    """One bad row as ImportRejected reports it."""
    return {"line": line, "field": column, "message": str(message)}
