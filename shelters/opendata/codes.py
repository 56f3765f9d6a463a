"""全国地方公共団体コード: check digits, the repair of damaged codes, and this city's own."""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

PREFECTURES = (  # JIS X 0401: the code of each is its position, from 01
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)


class CodeError(ValueError):
    """A 全国地方公共団体コード that is wrong, or damaged beyond a certain repair."""


def check_digit(code5: str) -> str:
    """The check digit of a five-digit 団体コード: digits weighted 6,5,4,3,2, summed mod 11,
    and the last digit of 11 minus that (総務省's rule)."""
    remainder = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True)) % 11
    return str((11 - remainder) % 10)


def is_code5(code5: str) -> bool:
    """Whether five digits can be a 団体コード without its check digit: a prefecture 01–47,
    then 000 (the prefecture itself) or a municipality, numbered from 100 (designated cities
    and their wards), 201 (cities), 300 (towns and villages)."""
    municipality = int(code5[2:])
    return 1 <= int(code5[:2]) <= 47 and (municipality == 0 or municipality >= 100)


def prefecture_code_of(text: str) -> str | None:
    """'14' for '神奈川県座間市…': the prefecture a name or an address starts with."""
    for number, name in enumerate(PREFECTURES, start=1):
        if text.startswith(name):
            return f"{number:02d}"
    return None


def repair_local_government_code(value: str, *, prefecture: str | None = None) -> str:
    """The six-digit 全国地方公共団体コード that `value` is, repairing the damage published
    files often carry: a lost leading zero ("92011" → 092011, read as a number by a
    spreadsheet), a lost check digit (the five-digit code, "14216" → 142166), or both
    ("1100" → 011002). A check digit that is there but wrong is an error, not repaired.

    A five-digit value can rarely be read both ways ("14150" is 相模原市 141500 without its
    check digit, and also a valid-looking 014150); `prefecture` ("14"), when known from the
    row, decides, and without it such a value is refused rather than guessed.
    """
    digits = unicodedata.normalize("NFKC", str(value)).strip()
    if not re.fullmatch(r"[0-9]+", digits):
        raise CodeError(_("全国地方公共団体コードは数字で記入してください。"))
    if len(digits) == 6:
        if not is_code5(digits[:5]):
            raise CodeError(_("全国地方公共団体コードではありません。"))
        if digits[5] != check_digit(digits[:5]):
            raise CodeError(
                _("全国地方公共団体コードの検査数字が誤っています（%(code)s なら %(right)s）。")
                % {"code": digits[:5], "right": digits[:5] + check_digit(digits[:5])}
            )
        return digits
    if len(digits) == 5:
        candidates = [digits] if is_code5(digits) else []  # lost its check digit
        with_zero = "0" + digits[:4]  # lost its leading zero: the last digit is the check
        if is_code5(with_zero) and digits[4] == check_digit(with_zero):
            candidates.append(with_zero)
    elif len(digits) == 4:
        candidates = ["0" + digits] if is_code5("0" + digits) else []  # lost both
    else:
        raise CodeError(_("全国地方公共団体コードは6桁です。"))
    if len(candidates) > 1 and prefecture:
        candidates = [c for c in candidates if c[:2] == prefecture] or candidates
    if not candidates:
        raise CodeError(_("全国地方公共団体コードではありません。"))
    if len(candidates) > 1:
        raise CodeError(
            _(
                "全国地方公共団体コード %(value)s は %(a)s とも %(b)s とも読めます。"
                "6桁で記入してください。"
            )
            % {
                "value": digits,
                "a": candidates[0] + check_digit(candidates[0]),
                "b": candidates[1] + check_digit(candidates[1]),
            }
        )
    return candidates[0] + check_digit(candidates[0])


def city_code() -> str:
    """This city's 全国地方公共団体コード (settings.CITY_CODE), with its check digit."""
    try:
        return repair_local_government_code(settings.CITY_CODE)
    except CodeError as e:
        raise ImproperlyConfigured(f"CITY_CODE {settings.CITY_CODE!r}: {e}") from e
