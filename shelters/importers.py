"""Importing the official open data of designated shelters and emergency evacuation sites.

GSI (国土地理院) publishes two datasets per municipality: 指定避難所 (mergeFromCity_1) and
指定緊急避難場所 (mergeFromCity_2, with the eight hazard flags). Many facilities appear in
both, under different 共通ID; they become one Shelter that is both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.geos import Point
from django.db import transaction

from disaster import audit
from shelters.models import Hazard, Shelter

# GSI column → our hazard, in the official order.
GSI_HAZARD_COLUMNS = {
    "洪水": Hazard.FLOOD,
    "崖崩れ、土石流及び地滑り": Hazard.LANDSLIDE,
    "高潮": Hazard.STORM_SURGE,
    "地震": Hazard.EARTHQUAKE,
    "津波": Hazard.TSUNAMI,
    "大規模な火事": Hazard.LARGE_FIRE,
    "内水氾濫": Hazard.INLAND_FLOODING,
    "火山現象": Hazard.VOLCANO,
}


@dataclass
class ImportResult:
    created: list[Shelter] = field(default_factory=list)
    updated: list[Shelter] = field(default_factory=list)
    unchanged: int = 0


def _flag(value: object) -> bool:
    return str(value or "").strip() in {"1", "○", "◯", "true", "True"}


def gsi_dataset_of(features: list[dict]) -> str:
    """'site' for 指定緊急避難場所 (has hazard flags), 'shelter' for 指定避難所."""
    sample = features[0]["properties"] if features else {}
    return "site" if "洪水" in sample else "shelter"


@transaction.atomic
def import_gsi_geojson(path: Path | str, *, by=None) -> ImportResult:
    """Import one GSI GeoJSON file (either dataset); re-importing changes nothing."""
    features = json.loads(Path(path).read_text(encoding="utf-8-sig"))["features"]
    dataset = gsi_dataset_of(features)
    id_field = "gsi_site_id" if dataset == "site" else "gsi_shelter_id"
    result = ImportResult()
    for feature in features:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        name, address = props["施設・場所名"].strip(), props["住所"].strip()
        shelter = (
            Shelter.objects.filter(**{id_field: props["共通ID"]}).first()
            or Shelter.objects.filter(name=name, address=address).first()
        )
        before = audit.snapshot(shelter) if shelter else None
        shelter = shelter or Shelter(name=name, address=address, is_shelter=False)
        setattr(shelter, id_field, props["共通ID"])
        # The two datasets sometimes place one facility a few metres apart; the shelter's
        # own record wins, so importing them in either order gives the same point.
        if dataset == "shelter" or not shelter.gsi_shelter_id:
            shelter.point = Point(float(lon), float(lat), srid=4326)
        shelter.notes = shelter.notes or (props.get("備考") or "")
        if dataset == "site":
            shelter.is_evacuation_site = True
            shelter.hazards = [
                h.value for col, h in GSI_HAZARD_COLUMNS.items() if _flag(props.get(col))
            ]
        else:
            shelter.is_shelter = True
            shelter.target_people = props.get("受入対象者") or ""
        after = audit.snapshot(shelter)
        if before == after:
            result.unchanged += 1
            continue
        shelter.save()
        (result.updated if before else result.created).append(shelter)
        audit.record(by, "shelter.import", shelter, before=before, after=audit.snapshot(shelter))
    return result
