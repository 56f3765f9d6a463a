"""Validating a telegram against JMA's schema (xsd/jmx.xsd, shipped with the code).

libxml2 (lxml) validates: the pure-Python `xmlschema` reads the same schema but took ~0.25 s
per telegram here (0.8 s for a prefecture's warnings), too slow for a burst of telegrams;
the tests check that both validators agree on the samples and on broken telegrams.
The parser never resolves entities, loads DTDs or touches the network.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

SCHEMA_DIR = Path(__file__).resolve().parent / "xsd"
MAX_BYTES = 5 * 1024 * 1024  # the largest JMA telegrams (a prefecture's warnings) are ~0.5 MB


class Refused(ValueError):
    """A telegram that is not one JMA would send: not XML, or not valid against the schema."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@cache
def jmx_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "jmx.xsd"), safe_parser()))


def validated(raw: bytes) -> etree._Element:
    """The telegram's root element, or `Refused` saying why (the first schema error)."""
    if len(raw) > MAX_BYTES:
        raise Refused(f"too large: {len(raw)} bytes")
    try:
        root = etree.fromstring(raw, safe_parser())
    except etree.XMLSyntaxError as error:
        raise Refused(f"not XML: {error}") from None
    schema = jmx_schema()
    if not schema.validate(root):
        # libxml2's lines read "<string>:LINE:COLUMN:ERROR:SCHEMASV:…: message"; the first.
        first = (str(schema.error_log).splitlines() or [""])[0]
        raise Refused(f"schema: {first.removeprefix('<string>:')}")
    return root
