"""Text that has to survive every format it is published in.

An alert's words go into XML (CAP, the Atom feed), JSON, SMS and LINE. XML 1.0 cannot carry
control characters other than tab and line breaks: one vertical tab (what Excel puts for a
line break inside a cell) makes a CAP document, and the whole feed it is embedded in,
unreadable to every aggregator. So such characters are refused where text comes in, and
dropped where text goes out (for anything stored before the rule).
"""

from __future__ import annotations

import re

# C0 controls but tab, LF and CR; DEL and the C1 controls; UTF-16 surrogates (a lone one
# cannot be encoded at all); the two non-characters XML excludes.
UNPUBLISHABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def first_unpublishable(text: str) -> str | None:
    """The first character of `text` that cannot be published, as U+XXXX; None if none."""
    found = UNPUBLISHABLE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def publishable(text: str) -> str:
    """`text` without the characters no feed can carry."""
    return UNPUBLISHABLE.sub("", text)
