"""The operations map's feed names every kind of event in words (maps/static/maps/ops/
feed.js), so no event ever shows as its code (`alert.sent_back`) or as a blank line."""

from __future__ import annotations

import re
from pathlib import Path

from disaster.core.events import EVENT_KINDS

FEED = Path(__file__).resolve().parents[2] / "maps/static/maps/ops/feed.js"


def test_every_kind_of_event_has_a_name_and_a_description_in_the_feed():
    source = FEED.read_text(encoding="utf-8")
    named = set(re.findall(r'^\s+"(\w+\.\w+)": gettext\(', source, re.M))
    described = set(re.findall(r'^\s+case "(\w+\.\w+)":', source, re.M))
    # Kinds the description's default handles by their family.
    by_family = {
        k for k in EVENT_KINDS if k.split(".")[0] in {"transfer", "supply_request", "report"}
    }
    # And kinds whose payload has a name or a title the default shows.
    with_words = {
        kind for kind, schema in EVENT_KINDS.items() if {"name", "title"} & set(schema.model_fields)
    }

    assert sorted(set(EVENT_KINDS) - named) == []
    assert sorted(set(EVENT_KINDS) - described - by_family - with_words) == []
