"""JMA's official sample telegrams (shared/data/jma, see its PROVENANCE.md), and variants
of them that JMA would send: a later serial, a correction, a cancellation (取消)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

SAMPLES = Path(settings.SHARED_DATA_DIR) / "jma"
NAMES = sorted(p.name for p in SAMPLES.glob("*.xml"))

KANAGAWA_WARNINGS = "15_12_03_161130_VPWW54.xml"
SHIMANE_H27 = "15_17_01_250123_VPWW54.xml"
SHIMANE_R06_RAIN = "15_17_01_250630_VPWW55.xml"
SHIMANE_R06_LANDSLIDE = "15_17_01_250630_VPWW56.xml"
RIVER_CAUTION = "16_01_01_220728_VXKOii.xml"
RIVER_FLOODING = "16_04_01_220728_VXKOii.xml"
OKAYAMA_LANDSLIDE = "17_03_01_190529_VXWW50.xml"
KANAGAWA_LANDSLIDE = [
    "17_04_01_250630_VXWW50.xml",
    "17_04_02_250630_VXWW50.xml",
    "17_04_03_250630_VXWW50.xml",
]
RECORD_RAIN = "18_03_01_190412_VPOA50.xml"
QUAKE_FLASH = "32-35_04_01_100831_VXSE51.xml"
QUAKE_DETAIL = "32-35_06_04_240613_VXSE53.xml"


def sample(name: str, *replacements: tuple[str, str]) -> bytes:
    """The sample's bytes, with each (old, new) text replaced once (each must be there): a
    取消 is sample(name, ("<InfoType>発表", "<InfoType>取消"), ("<Serial>2", "<Serial>3"))."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"{old!r} is not in {name}"
        text = text.replace(old, new, 1)
    return text.encode()
