"""Reading the national geography files: e-Stat small areas in each form they come in
(a zipped Shift_JIS Shapefile as e-Stat ships it, GeoJSON, the statistics LOD's own
properties), and N03 boundaries."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.contrib.gis.geos import GEOSGeometry

from disaster.core.errors import Invalid
from disaster.core.geodata import read_boundary, read_small_areas
from disaster.demo import DATA

ESTAT = DATA / "estat-14150"


def square(west: float, south: float, size: float = 0.01) -> dict:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry: dict, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def estat_rows() -> list[dict]:
    """As e-Stat's boundary file has them: 下溝 in two pieces (its figures on the first, E1,
    the other carrying 0), a plain area, and a water surface (HCODE 8154)."""
    return [
        feature(
            square(139.37, 35.54),
            KEY_CODE="14153031000",
            MOJI="下溝",
            HCODE=8101,
            KIGO_E="E1",
            JINKO=11065,
            SETAI=4500,
        ),
        feature(
            square(139.40, 35.54),
            KEY_CODE="14153031000",
            MOJI="下溝",
            HCODE=8101,
            KIGO_E="E2",
            JINKO=0,
            SETAI=0,
        ),
        feature(
            square(139.38, 35.56),
            KEY_CODE="14152020002",
            MOJI="緑が丘２丁目",
            HCODE=8101,
            KIGO_E="",
            JINKO=1837,
            SETAI=705,
        ),
        feature(
            square(139.39, 35.57),
            KEY_CODE="14152999999",
            MOJI="相模湖",
            HCODE=8154,
            KIGO_E="",
            JINKO=0,
            SETAI=0,
        ),
    ]


def zipped_shapefile(tmp_path: Path, rows: list[dict]) -> bytes:
    """The rows as e-Stat ships them: a ZIP of .shp/.shx/.dbf/.prj, the DBF in Shift_JIS
    and no .cpg, written by GDAL's own ogr2ogr."""
    source = tmp_path / "rows.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": rows}))
    folder = tmp_path / "shape"
    folder.mkdir()
    subprocess.run(
        [
            shutil.which("ogr2ogr") or "ogr2ogr",
            "-f",
            "ESRI Shapefile",
            "-a_srs",
            "EPSG:4612",
            "-lco",
            "ENCODING=CP932",
            str(folder / "h27ka14150.shp"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in folder.iterdir():
            if path.suffix != ".cpg":  # e-Stat's ZIP has none: the DBF is plain Shift_JIS
                archive.write(path, path.name)
    assert "下溝".encode("cp932") in (folder / "h27ka14150.dbf").read_bytes()
    return out.getvalue()


def test_a_zipped_shift_jis_shapefile_from_e_stat_is_read_pieces_joined_water_left_out(
    tmp_path,
):
    areas = {a.code: a for a in read_small_areas(zipped_shapefile(tmp_path, estat_rows()))}

    assert sorted(areas) == ["14152020002", "14153031000"]  # the lake is not a district
    shimomizo = areas["14153031000"]
    assert (shimomizo.name, shimomizo.population, shimomizo.households) == ("下溝", 11065, 4500)
    assert len(shimomizo.pieces) == 2
    assert areas["14152020002"].name == "緑が丘２丁目"


def test_the_same_rows_as_geojson_give_the_same_areas(tmp_path):
    geojson = json.dumps({"type": "FeatureCollection", "features": estat_rows()}).encode()
    from_shapefile = read_small_areas(zipped_shapefile(tmp_path, estat_rows()))

    from_geojson = read_small_areas(geojson)

    def figures(areas):
        return [(a.code, a.name, a.population, a.households, len(a.pieces)) for a in areas]

    assert figures(from_geojson) == figures(from_shapefile)


def test_the_statistics_lod_form_names_the_code_in_the_feature_id():
    # e-Stat's LOD (as frogcat/japan-small-area has it): label, population, households, the
    # code at the end of the id; six areas whose few people were counted with a neighbour
    # have no figures at all.
    areas = read_small_areas((ESTAT / "estat-2015-chome-14150.geojson").read_bytes())

    assert len(areas) == 409
    assert sum(a.population or 0 for a in areas) == 720_780
    assert sum(a.households or 0 for a in areas) == 311_188
    without = sorted(a.name for a in areas if a.population is None)
    assert without == sorted(
        ["川尻", "宮下１丁目", "弥栄３丁目", "鵜野森（２）", "南橋本４丁目", "若松（２）２丁目"]
    )


def test_the_attribute_table_alone_gives_points_for_each_piece():
    records = (ESTAT / "estat-2015-chome-14150-h27ka-attributes.json").read_bytes()

    areas = read_small_areas(records)

    assert len(areas) == 409
    assert sum(len(a.points) for a in areas) == 427  # one per DBF row: 13 areas in pieces
    assert not any(a.pieces for a in areas)
    assert sum(a.population or 0 for a in areas) == 720_780


def test_rows_that_are_not_small_areas_are_refused_saying_what_is_missing():
    not_estat = {"type": "FeatureCollection", "features": [feature(square(139, 35), name="x")]}

    with pytest.raises(Invalid) as refused:
        read_small_areas(json.dumps(not_estat).encode())

    assert "KEY_CODE" in refused.value.fields["file"]


def test_an_n03_file_of_one_city_and_of_a_designated_citys_wards():
    zama = read_boundary((DATA / "mlit-n03-boundary-14216.geojson").read_bytes())
    sagamihara = read_boundary((ESTAT / "mlit-n03-boundary-14150.geojson").read_bytes())

    assert (zama.code5, zama.name, zama.wards) == ("14216", "座間市", [])
    assert (sagamihara.code5, sagamihara.name) == ("14150", "相模原市")
    assert sagamihara.wards == ["中央区", "南区", "緑区"]
    assert sagamihara.area.valid
    for ward in json.loads((ESTAT / "mlit-n03-boundary-14150.geojson").read_text())["features"]:
        inside = GEOSGeometry(json.dumps(ward["geometry"])).point_on_surface
        assert sagamihara.area.covers(inside), ward["properties"]["N03_004"]


def test_an_n03_file_of_two_cities_is_refused():
    two = {
        "type": "FeatureCollection",
        "features": [
            feature(square(139.40, 35.48), N03_003=None, N03_004="座間市", N03_007="14216"),
            feature(square(139.44, 35.46), N03_003=None, N03_004="海老名市", N03_007="14215"),
        ],
    }

    with pytest.raises(Invalid) as refused:
        read_boundary(json.dumps(two).encode())

    assert "14215、14216" in refused.value.fields["file"]
