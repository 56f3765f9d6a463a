"""The national geography files a city is built from, read and written into its geography.

- 国土数値情報 N03 (行政区域): the boundary. A feature per polygon, each naming its
  municipality (N03_007, the five-digit code; N03_004 the city, ward, town or village). A
  政令市 comes as its wards (N03_003 the city, N03_004 the ward), which are joined.
- e-Stat 小地域 (町丁・字等): districts with their census population and households, as
  published (KEY_CODE; MOJI in 2015, S_NAME from 2020; JINKO, SETAI; X_CODE/Y_CODE the
  representative point; HCODE 8154 a water surface, skipped), in GeoJSON, a zipped
  Shapefile (Shift_JIS, as e-Stat ships it), or as the statistics LOD has it (the code at
  the end of the feature id; label, population, households). An area in several pieces
  (飛び地: several rows of one KEY_CODE) is one district; its statistics are on the first
  piece and the others carry 0, so they are added up.
- Where only the attribute table is published (CSV, or JSON records), districts are
  derived: the Voronoi cells of the representative points, clipped to the boundary, and
  labelled derived.

Coordinates are stored as they come, in EPSG:4326: JGD2000 and JGD2011 differ from it by far
less than a metre here. Everything is idempotent: a district is found by its code (or, the
first time, by its name among districts without one), and written only when it changed.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.gis.gdal import DataSource, GDALException
from django.contrib.gis.geos import (
    GeometryCollection,
    GEOSException,
    GEOSGeometry,
    MultiPolygon,
    Point,
    Polygon,
)
from django.db import connection, transaction
from django.utils.translation import gettext as _

from disaster.core.errors import Invalid
from disaster.core.geography import CityBoundary, District

WATER_SURFACE = "8154"  # HCODE of a 水面調査区: a lake or river, nobody lives there
N03_SOURCE = "国土数値情報（行政区域データ）国土交通省"
ESTAT_SOURCE = "政府統計の総合窓口(e-Stat) 国勢調査 小地域（町丁・字等）境界データ"
DERIVED_SOURCE = (
    "推定: e-Stat 小地域の代表点のボロノイ領域を市境界で切り取り（公式の町丁・字界ではない）"
)


@dataclass
class StepReport:
    """What one step of setting a city up did: counts, and notes worth reading."""

    step: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def line(self) -> str:
        figures = _("新規 %(created)d・更新 %(updated)d・変更なし %(unchanged)d") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }
        return f"{self.step}: {figures}"


# Reading ---------------------------------------------------------------------------------


def _valid(geometry: GEOSGeometry) -> bool:
    """Whether it is valid, without GEOS's notice in the log: pieces that overlap (wards of
    a coarse outline, simplified neighbours) are expected here, and are mended."""
    log = logging.getLogger("django.contrib.gis")
    level, log.level = log.level, logging.ERROR
    try:
        return geometry.valid
    finally:
        log.level = level


def _multi(geometry: GEOSGeometry) -> MultiPolygon:
    """Any polygonal geometry as a valid MultiPolygon in EPSG:4326."""
    geometry.srid = 4326
    if not _valid(geometry):
        geometry = geometry.make_valid()  # type: ignore[attr-defined]  # Django ≥ 4.1, not stubbed
    if isinstance(geometry, Polygon):
        return MultiPolygon(geometry, srid=4326)
    if isinstance(geometry, MultiPolygon):
        return geometry
    polygons = [g for g in _parts(geometry) if isinstance(g, Polygon) and not g.empty]
    if not polygons:
        raise Invalid(fields={"file": _("多角形（Polygon / MultiPolygon）ではありません。")})
    return MultiPolygon(*polygons, srid=4326)


def _parts(geometry: GEOSGeometry) -> Iterable[GEOSGeometry]:
    if isinstance(geometry, GeometryCollection):  # multi-geometries too
        for part in geometry:
            yield from _parts(part)
    else:
        yield geometry


def _joined(pieces: list[GEOSGeometry]) -> MultiPolygon:
    """The pieces of one area as one MultiPolygon: collected as they are where they are
    apart (an official shape stays exactly as published), unioned where they overlap."""
    polygons = [p for piece in pieces for p in _parts(_multi(piece))]
    joined = MultiPolygon(*polygons, srid=4326)
    return joined if _valid(joined) else _multi(joined.unary_union)


def _features(data: bytes) -> list[dict[str, Any]] | None:
    """GeoJSON features as {properties, geometry (GEOS or None), id}, or None when the
    bytes are not GeoJSON."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise Invalid(fields={"file": _("JSON として読めません: %(e)s") % {"e": e}}) from e
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        # An attribute table dumped as JSON: rows without geometry.
        return [{"properties": r, "geometry": None, "id": ""} for r in document["records"]]
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        raise Invalid(fields={"file": _("GeoJSON の FeatureCollection ではありません。")})
    features = []
    for number, feature in enumerate(document["features"], start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        try:
            geos = GEOSGeometry(json.dumps(geometry), srid=4326) if geometry else None
        except (ValueError, TypeError, GEOSException, GDALException) as e:
            raise Invalid(
                fields={"file": _("%(n)d 番目の地物の形が読めません。") % {"n": number}}
            ) from e
        features.append(
            {
                "properties": feature.get("properties") or {},
                "geometry": geos,
                "id": str(feature.get("id") or ""),
            }
        )
    return features


# A zipped Shapefile larger than this unpacked is not a city's small areas.
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024


def _shapefile_features(data: bytes) -> list[dict[str, Any]] | None:
    """The features of a zipped Shapefile (e-Stat's download), read by GDAL. e-Stat's DBF is
    Shift_JIS; a file GDAL knows to be in another encoding (a .cpg, or the DBF's own mark)
    comes out as UTF-8: UTF-8 is tried first, then Shift_JIS."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        shapes = [m.filename for m in members if m.filename.lower().endswith(".shp")]
        if not shapes:
            raise Invalid(fields={"file": _("ZIP の中に .shp がありません。")})
        stem = shapes[0][:-4]
        wanted = [m for m in members if m.filename[:-4] == stem and len(m.filename) > 4]
        if sum(m.file_size for m in wanted) > MAX_UNZIPPED_BYTES:
            raise Invalid(fields={"file": _("ZIP の中身が大きすぎます。")})
        with tempfile.TemporaryDirectory() as folder:
            for member in wanted:  # under fixed names: nothing in the ZIP names a path here
                Path(folder, "areas" + member.filename[-4:].lower()).write_bytes(
                    archive.read(member)
                )
            for encoding in ("utf-8", "cp932"):
                try:
                    return _read_layer(str(Path(folder, "areas.shp")), encoding)
                except UnicodeDecodeError:
                    continue
    raise Invalid(fields={"file": _("文字コードが UTF-8 でも Shift_JIS でもありません。")})


def _read_layer(path: str, encoding: str) -> list[dict[str, Any]]:
    try:
        layer = DataSource(path, encoding=encoding)[0]
        features = []
        for feature in layer:
            geometry = feature.geom
            if geometry.srid not in (None, 4326, 4612, 6668):  # lon/lat on WGS84, JGD2000/2011
                geometry = geometry.transform(4326, clone=True)
            properties = {name: feature.get(name) for name in layer.fields}
            features.append({"properties": properties, "geometry": geometry.geos, "id": ""})
    except GDALException as e:
        raise Invalid(fields={"file": _("Shapefile として読めません: %(e)s") % {"e": e}}) from e
    return features


def _csv_rows(data: bytes) -> list[dict[str, Any]]:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid(fields={"file": _("文字コードが UTF-8 でも Shift_JIS でもありません。")})
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows:
        raise Invalid(fields={"file": _("行がありません。")})
    return [{"properties": row, "geometry": None, "id": ""} for row in rows]


def read_features(data: bytes) -> list[dict[str, Any]]:
    """Any of the forms above as features: GeoJSON, JSON records, zipped Shapefile, CSV."""
    if not data.strip():
        raise Invalid(fields={"file": _("ファイルが空です。")})
    features = _shapefile_features(data)
    if features is None:
        features = _features(data)
    if features is None:
        features = _csv_rows(data)
    return features


# The boundary ----------------------------------------------------------------------------


@dataclass
class Boundary:
    code5: str  # the municipality's five-digit code (without its check digit)
    name: str
    area: MultiPolygon
    wards: list[str]


def read_boundary(data: bytes) -> Boundary:
    """The municipality an N03 file outlines: its pieces (and wards) joined into one."""
    features = [f for f in read_features(data) if f["geometry"] is not None]
    if not features:
        raise Invalid(fields={"file": _("境界の多角形がありません。")})
    codes = sorted({str(f["properties"].get("N03_007") or "") for f in features} - {""})
    if not codes:
        raise Invalid(
            fields={"file": _("N03_007（行政区域コード）がありません。N03 のファイルですか。")}
        )
    cities = {f["properties"].get("N03_003") for f in features}
    wards = {str(f["properties"].get("N03_004") or "") for f in features}
    if len(codes) == 1:
        props = features[0]["properties"]
        code5, name = codes[0], props.get("N03_004") or props.get("N03_003") or ""
        wards = set()
    elif len(cities) == 1 and None not in cities and all(w.endswith("区") for w in wards):
        # A 政令市 in its wards: the city's code is one less than its first ward's.
        code5 = f"{int(codes[0]) - 1:05d}"
        name = str(cities.pop())
    else:
        raise Invalid(
            fields={
                "file": _("複数の市区町村（%(codes)s）の境界です。1つの市の分だけにしてください。")
                % {"codes": "、".join(codes)}
            }
        )
    try:
        area = _joined([f["geometry"] for f in features])
    except (GEOSException, ValueError) as e:
        raise Invalid(fields={"file": _("境界の多角形が正しくありません。")}) from e
    return Boundary(code5=code5, name=name, area=area, wards=sorted(wards))


def save_boundary(boundary: Boundary, code: str, name: str) -> tuple[CityBoundary, StepReport]:
    """Create or update the city's boundary (by its code); unchanged when the same."""
    report = StepReport(_("市区町村境界"))
    existing = CityBoundary.objects.filter(code=code).first()
    same = existing is not None and (existing.name, existing.source) == (name, N03_SOURCE)
    if existing is not None and same and existing.area.equals_exact(boundary.area, 0):
        report.unchanged = 1
        return existing, report
    city, created = CityBoundary.objects.update_or_create(
        code=code, defaults={"name": name, "area": boundary.area, "source": N03_SOURCE}
    )
    report.created, report.updated = (1, 0) if created else (0, 1)
    if boundary.wards:
        report.notes.append(_("区を結合: %(wards)s") % {"wards": "、".join(boundary.wards)})
    return city, report


# Small areas ----------------------------------------------------------------------------


@dataclass
class SmallArea:
    """One e-Stat 小地域, its pieces joined."""

    code: str
    name: str
    population: int | None
    households: int | None
    pieces: list[GEOSGeometry] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().upper()


def _prop(props: dict[str, Any], *names: str) -> Any:
    keys = {_key(str(k)): v for k, v in props.items()}
    for name in names:
        value = keys.get(_key(name))
        if value not in (None, ""):
            return value
    return None


def _count(value: Any, code: str, column: str) -> int | None:
    if value in (None, "", "-", "X", "x"):  # e-Stat writes "-" or "X" for none or secret
        return None
    text = unicodedata.normalize("NFKC", str(value)).replace(",", "").strip()
    try:
        number = float(text)
    except ValueError as e:
        raise Invalid(
            fields={
                "file": _("%(code)s の %(column)s が数ではありません: %(value)s")
                % {"code": code, "column": column, "value": value}
            }
        ) from e
    if number < 0 or number != int(number):
        raise Invalid(
            fields={
                "file": _("%(code)s の %(column)s が正しくありません: %(value)s")
                % {"code": code, "column": column, "value": value}
            }
        )
    return int(number)


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def read_small_areas(data: bytes) -> list[SmallArea]:
    """The file's 小地域 by code, pieces joined and their figures added up (water skipped)."""
    areas: dict[str, SmallArea] = {}
    for number, feature in enumerate(read_features(data), start=1):
        props = feature["properties"]
        if str(_prop(props, "HCODE") or "") == WATER_SURFACE:
            continue
        code = _prop(props, "KEY_CODE")
        if code is None:
            found = re.search(r"S?([0-9]{9,11})$", feature["id"])
            code = found.group(1) if found else None
        name = _prop(props, "S_NAME", "MOJI", "label")
        if code is None or name is None:
            raise Invalid(
                fields={
                    "file": _(
                        "%(n)d 番目に KEY_CODE（地域コード）か S_NAME / MOJI（町丁・字名）が"
                        "ありません。e-Stat の小地域データですか。"
                    )
                    % {"n": number}
                }
            )
        code = unicodedata.normalize("NFKC", str(code)).strip()
        population = _count(_prop(props, "JINKO", "population"), code, "JINKO")
        households = _count(_prop(props, "SETAI", "households"), code, "SETAI")
        area = areas.setdefault(code, SmallArea(code, str(name).strip(), None, None))
        area.population = _add(area.population, population)
        area.households = _add(area.households, households)
        if feature["geometry"] is not None:
            area.pieces.append(feature["geometry"])
        x, y = _prop(props, "X_CODE"), _prop(props, "Y_CODE")
        if x is not None and y is not None:
            area.points.append(Point(float(x), float(y), srid=4326))
    if not areas:
        raise Invalid(fields={"file": _("小地域がありません。")})
    with_shape = sum(1 for a in areas.values() if a.pieces)
    if with_shape and with_shape < len(areas):
        raise Invalid(fields={"file": _("形のある地域とない地域が混じっています。")})
    if not with_shape and not all(a.points for a in areas.values()):
        missing = next(a.code for a in areas.values() if not a.points)
        raise Invalid(
            fields={
                "file": _("%(code)s に形も代表点（X_CODE, Y_CODE）もありません。")
                % {"code": missing}
            }
        )
    return sorted(areas.values(), key=lambda a: a.code)


def unique_names(areas: list[SmallArea]) -> dict[str, str]:
    """code → district name: the 町丁・字名, with its code where two areas share it (e-Stat
    has e.g. 下溝 14153031000 and 下溝 14153031001, both plain 下溝)."""
    counts: dict[str, int] = {}
    for area in areas:
        counts[area.name] = counts.get(area.name, 0) + 1
    return {a.code: a.name if counts[a.name] == 1 else f"{a.name}（{a.code}）" for a in areas}


def derived_cells(areas: list[SmallArea], boundary: CityBoundary) -> dict[str, MultiPolygon]:
    """code → the Voronoi cells of its representative points clipped to the boundary and
    joined (an area in pieces has a point per piece). Areas whose cells fall outside the
    boundary entirely are left out."""
    points = [(area.code, p) for area in areas for p in area.points]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH pts AS (
                SELECT code, ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom
                FROM unnest(%s::text[], %s::float8[], %s::float8[]) AS t(code, x, y)
            ),
            cells AS (
                SELECT (ST_Dump(ST_VoronoiPolygons(
                    (SELECT ST_Collect(geom) FROM pts), 0.0, %s::geometry))).geom AS geom
            )
            SELECT pts.code, ST_AsEWKB(ST_Multi(ST_CollectionExtract(
                ST_Intersection(ST_Union(cells.geom), %s::geometry), 3)))
            FROM cells JOIN pts ON ST_Intersects(cells.geom, pts.geom)
            GROUP BY pts.code
            """,
            [
                [code for code, _ in points],
                [p.x for _, p in points],
                [p.y for _, p in points],
                bytes(boundary.area.ewkb),
                bytes(boundary.area.ewkb),
            ],
        )
        cells = {code: GEOSGeometry(memoryview(bytes(wkb))) for code, wkb in cursor.fetchall()}
    return {code: _multi(cell) for code, cell in cells.items() if not cell.empty}


@transaction.atomic
def save_districts(
    areas: list[SmallArea], *, boundary: CityBoundary | None, source: str = ""
) -> StepReport:
    """Create or update a district per small area, found by code (the first time, by name
    among districts without one). Derived from the points when the file has no shapes."""
    derived = not any(area.pieces for area in areas)
    report = StepReport(_("地区（推定）") if derived else _("地区"))
    if derived:
        if boundary is None:
            raise Invalid(
                fields={"file": _("代表点から地区を作るには、先に市区町村境界が要ります。")}
            )
        shapes = derived_cells(areas, boundary)
        source = DERIVED_SOURCE
    else:
        shapes = {area.code: _joined(area.pieces) for area in areas}
        source = source or ESTAT_SOURCE
    names = unique_names(areas)
    by_code = {d.code: d for d in District.objects.filter(code__in=names)}
    by_name = {d.name: d for d in District.objects.filter(code=None, name__in=names.values())}
    for area in areas:
        shape = shapes.get(area.code)
        if shape is None:
            report.notes.append(
                _("%(name)s（%(code)s）は市の境界の外です。")
                % {"name": area.name, "code": area.code}
            )
            continue
        values = {
            "name": names[area.code],
            "code": area.code,
            "population": area.population,
            "households": area.households,
            "is_derived": derived,
            "source": source,
        }
        district = by_code.get(area.code) or by_name.get(names[area.code])
        if district is None:
            District.objects.create(area=shape, **values)
            report.created += 1
            continue
        same = all(getattr(district, k) == v for k, v in values.items())
        if same and district.area.equals_exact(shape, 0):
            report.unchanged += 1
            continue
        for name, value in values.items():
            setattr(district, name, value)
        district.area = shape
        district.save()
        report.updated += 1
    population = sum(a.population or 0 for a in areas)
    households = sum(a.households or 0 for a in areas)
    report.notes.append(
        _("%(n)d 地域、人口 %(population)s 人、%(households)s 世帯")
        % {"n": len(areas), "population": f"{population:,}", "households": f"{households:,}"}
    )
    unknown = [a.name for a in areas if a.population is None]
    if unknown:
        report.notes.append(
            _("人口の記載がない地域 %(n)d（秘匿または隣接地域に合算）: %(names)s")
            % {"n": len(unknown), "names": "、".join(unknown)}
        )
    return report
