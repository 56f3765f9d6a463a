"""Applying an import: matching rows to shelters and writing them, with audit and events."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from disaster.core import audit
from disaster.core.events import publish
from shelters.models import Shelter
from shelters.opendata.errors import ImportRejected, problem
from shelters.opendata.formats import parse
from shelters.opendata.rows import Record

_IMPORT_LOCK = zlib.crc32(b"shelters.opendata.import")  # one import at a time


@dataclass
class Change:
    """One shelter the import created or updated, and the row that did it."""

    line: int
    action: str  # "created" or "updated"
    shelter_id: int | None
    name: str
    fields: list[str]


@dataclass
class ImportResult:
    """What an import did (or, with dry_run, would have done)."""

    format: str = ""
    format_label: str = ""
    dry_run: bool = False
    created: list[Shelter] = field(default_factory=list)
    updated: list[Shelter] = field(default_factory=list)
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)


def import_file(
    source: bytes | Path | IO[bytes], *, by=None, dry_run: bool = False
) -> ImportResult:
    """Import one file of shelter open data (any of formats.FORMATS, found from its content).

    All or nothing: a bad row anywhere raises ImportRejected and nothing is written. With
    `dry_run`, the import runs and is rolled back, so the result says exactly what it would do.
    """
    if isinstance(source, Path):
        data = source.read_bytes()
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        data = source.read()
    fmt, records = parse(data)
    result = ImportResult(format=fmt.name, format_label=fmt.label, dry_run=dry_run)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])
        apply = _apply_gsi if fmt.name.startswith("gsi") else _apply_recommended
        for record in records:
            shelter, before = apply(record)
            _save(shelter, before, record, by, result)
        if dry_run:
            transaction.set_rollback(True)
            for change in result.changes:
                if change.action == "created":
                    change.shelter_id = None
        else:
            # Master data changed, never status: the same event as a correction by hand.
            for change in result.changes:
                if change.action == "updated":
                    publish(
                        "shelter.corrected",
                        {"shelter_id": change.shelter_id, "fields": change.fields},
                    )
    return result


def import_gsi_geojson(path: Path | str, *, by=None) -> ImportResult:
    """Import one GSI GeoJSON file (either dataset); re-importing changes nothing."""
    return import_file(Path(path), by=by)


def _locked():
    return Shelter.objects.select_for_update()


def _apply_gsi(record: Record) -> tuple[Shelter, dict | None]:
    id_field = record.key_field
    shelter = (
        _locked().filter(**{id_field: record.key}).first()
        or _locked()
        .filter(name=record.name, address=record.address, **{f"{id_field}__isnull": True})
        .first()
    )
    before = audit.snapshot(shelter) if shelter else None
    shelter = shelter or Shelter(name=record.name, address=record.address, is_shelter=False)
    setattr(shelter, id_field, record.key)
    # The two datasets sometimes place one facility a few metres apart; the shelter's own
    # record wins, so importing them in either order gives the same point.
    if id_field == "gsi_shelter_id" or not shelter.gsi_shelter_id:
        shelter.point = record.point
    shelter.notes = shelter.notes or record.values["notes"]
    if id_field == "gsi_site_id":
        shelter.is_evacuation_site = True
        shelter.hazards = record.values["hazards"]
    else:
        shelter.is_shelter = True
        shelter.target_people = record.values["target_people"]
    return shelter, before


def _apply_recommended(record: Record) -> tuple[Shelter, dict | None]:
    # Found by the list's own ID; else by GSI's 共通ID, which many cities use as their ID
    # (and which our export writes for shelters that have no ID of their own); else by name
    # and address, among shelters not yet tied to a list.
    shelter = (
        _locked().filter(opendata_id=record.key).first()
        or _locked()
        .filter(Q(gsi_site_id=record.local_id) | Q(gsi_shelter_id=record.local_id))
        .first()
        or _locked()
        .filter(name=record.name, address=record.address, opendata_id__isnull=True)
        .first()
    )
    before = audit.snapshot(shelter) if shelter else None
    shelter = shelter or Shelter()
    shelter.opendata_id = shelter.opendata_id or record.key
    shelter.name, shelter.address, shelter.point = record.name, record.address, record.point
    for name, value in record.values.items():
        setattr(shelter, name, value)
    return shelter, before


def _save(shelter: Shelter, before: dict | None, record: Record, by, result: ImportResult) -> None:
    after = audit.snapshot(shelter)
    if before == after:
        result.unchanged += 1
        return
    try:
        # The rows were checked already; this is the model's own word, in case it knows more.
        shelter.full_clean(
            exclude=["status_changed_by", "managers"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as e:
        raise ImportRejected(
            _("%(line)d 行目を取り込めません。") % {"line": record.line},
            rows=[
                problem(record.line, name, " ".join(messages))
                for name, messages in e.message_dict.items()
            ],
        ) from e
    if before is None:
        shelter.save()
        result.created.append(shelter)
        result.changes.append(Change(record.line, "created", shelter.pk, shelter.name, []))
    else:
        # Only what the file changed is written, so an import can never touch status.
        changed = [name for name, value in after.items() if before.get(name) != value]
        shelter.save(update_fields=changed)
        result.updated.append(shelter)
        result.changes.append(Change(record.line, "updated", shelter.pk, shelter.name, changed))
    audit.record(by, "shelter.import", shelter, before=before, after=audit.snapshot(shelter))
