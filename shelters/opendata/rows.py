"""One row's values, checked: text, flags, numbers, places and codes, every problem noted."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from shelters.opendata.codes import CodeError, repair_local_government_code
from shelters.opendata.errors import problem

# Japan, roughly: a point outside is a typing slip (or latitude and longitude swapped).
LATITUDE_RANGE = (20.0, 46.0)
LONGITUDE_RANGE = (122.0, 154.0)
MAX_CAPACITY = 1_000_000  # a wide-area evacuation park holds tens of thousands, not millions

TRUE_MARKS = {"1", "○", "◯", "〇", "true"}
FALSE_MARKS = {"", "0", "false", "×"}


@dataclass
class Record:
    """What one good row says about one shelter: how to find it, and the fields it sets."""

    line: int
    key: str  # the identifier stored in `key_field`
    key_field: str  # gsi_site_id, gsi_shelter_id or opendata_id
    name: str
    address: str
    point: Point
    values: dict[str, Any]  # the other fields the row sets
    local_id: str = ""  # 推奨データセット: the list's own ID


class Row:
    """One row's values, read with every problem noted instead of stopping at the first."""

    def __init__(self, line: int, values: dict[str, str], problems: list[dict]):
        self.line, self.values, self.problems = line, values, problems
        self.ok = True

    def problem(self, column: str, message: str) -> None:
        self.ok = False
        self.problems.append(problem(self.line, column, message))

    def missing(self, column: str) -> None:
        self.problem(column, _("%(column)sがありません。") % {"column": column})

    def has(self, column: str) -> bool:
        return column in self.values

    def _normalized(self, column: str) -> str:
        # Full-width digits and marks read as their half-width selves.
        return unicodedata.normalize("NFKC", self.values.get(column, "")).strip()

    def text(self, column: str, *, required: bool = False, max_length: int = 200) -> str:
        value = self.values.get(column, "")
        if required and not value:
            self.missing(column)
        elif len(value) > max_length:
            self.problem(
                column,
                _("%(column)sが長すぎます（%(max)d 文字まで）。")
                % {"column": column, "max": max_length},
            )
        return value

    def flag(self, column: str) -> bool:
        value = self._normalized(column).lower()
        if value in TRUE_MARKS:
            return True
        if value not in FALSE_MARKS:
            self.problem(
                column,
                _("%(column)sは 1 か空欄です（「%(value)s」）。")
                % {"column": column, "value": self.values[column]},
            )
        return False

    def point(self) -> Point | None:
        lat = self._number("緯度", *LATITUDE_RANGE)
        lon = self._number("経度", *LONGITUDE_RANGE)
        if lat is None or lon is None:
            return None
        return Point(lon, lat, srid=4326)

    def _number(self, column: str, low: float, high: float) -> float | None:
        raw = self._normalized(column)
        if not raw:
            self.missing(column)
            return None
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is None or not (low <= value <= high):
            swapped = column == "緯度" and _in(raw, LONGITUDE_RANGE)
            swapped |= column == "経度" and _in(raw, LATITUDE_RANGE)
            message = _(
                "%(column)s「%(value)s」は日本国内の値（%(low)g〜%(high)g）ではありません。"
            )
            if swapped:
                message += _("緯度と経度が入れ替わっていませんか。")
            self.problem(
                column, message % {"column": column, "value": raw, "low": low, "high": high}
            )
            return None
        return value

    def count(self, column: str) -> int:
        raw = self._normalized(column)
        digits = raw.replace(",", "").removesuffix("人").strip()
        if not digits:
            return 0
        if not digits.isascii() or not digits.isdigit() or int(digits) > MAX_CAPACITY:
            self.problem(
                column,
                _("%(column)sは人数（0〜%(max)d の整数）で記入してください（「%(value)s」）。")
                % {"column": column, "max": MAX_CAPACITY, "value": raw},
            )
            return 0
        return int(digits)

    def email(self, column: str) -> str:
        value = self.text(column, max_length=254)
        if value:
            try:
                validate_email(value)
            except ValidationError:
                self.problem(
                    column,
                    _("%(column)s「%(value)s」はメールアドレスではありません。")
                    % {"column": column, "value": value},
                )
        return value

    def code(self, column: str, *, prefecture: str | None) -> str:
        value = self.values.get(column, "")
        if not value:
            self.missing(column)
            return ""
        try:
            return repair_local_government_code(value, prefecture=prefecture)
        except CodeError as e:
            self.problem(column, f"{e}（「{value}」）")
            return ""


def _in(raw: str, bounds: tuple[float, float]) -> bool:
    try:
        return bounds[0] <= float(raw) <= bounds[1]
    except ValueError:
        return False
