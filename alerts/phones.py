"""Phone numbers in E.164, the form Twilio sends to and we store.

Residents type Japanese numbers as they know them (090-1234-5678, 0312345678, ＋８１…);
anything that is not a plausible Japanese mobile or landline, or an E.164 number, is
refused with a clear message rather than stored and failing at send time.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―ー()（）.]")


class BadPhoneNumber(ValueError):
    pass


def to_e164(raw: str) -> str:
    """ "090-1234-5678" → "+819012345678"; "+1 415 555 0100" → "+14155550100"."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit() or not 8 <= len(digits) <= 15 or digits[0] == "0":
            raise BadPhoneNumber(raw)
        if digits.startswith("81"):
            to_e164("0" + digits[2:])  # a Japanese number must also be valid nationally
        return "+" + digits
    if not text.isdigit() or not text.startswith("0") or text.startswith("00"):
        raise BadPhoneNumber(raw)
    # Mobiles (070/080/090) and 050 IP phones have 11 digits, landlines 10.
    expected = 11 if text[:3] in {"070", "080", "090", "050"} else 10
    if len(text) != expected:
        raise BadPhoneNumber(raw)
    return "+81" + text[1:]
