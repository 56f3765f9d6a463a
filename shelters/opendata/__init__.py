"""The official open data of shelters: importing it and publishing ours.

Four formats are read, told apart by their header (CSV) or properties (GeoJSON):

- GSI (国土地理院) 指定緊急避難場所 (mergeFromCity_2, with the eight hazard flags) and
  指定避難所 (mergeFromCity_1), as CSV or GeoJSON. Many facilities appear in both, under
  different 共通ID; they become one Shelter that is both.
- デジタル庁 推奨データセット 指定緊急避難場所一覧, in its current header (全国地方公共団体コード,
  ID, 名称, …, 所在地_連結表記, …) and in the older 自治体標準オープンデータセット header
  (都道府県コード又は市区町村コード, NO, 都道府県名, 市区町村名, 名称, …, 住所, 方書, …).

CSV may be UTF-8 (with or without BOM) or Shift_JIS (cp932), as city files often are.

Every import is all or nothing: the whole file is read and checked first, and one bad row
means nothing is imported and every bad row is reported with the line a person sees in a
spreadsheet (the header is line 1; for GeoJSON, the feature's position). Importing the same
file again changes nothing, each created or changed shelter is written to the audit log, and
an import never touches a shelter's status (opening a shelter is not master data).

We publish the 推奨データセット CSV (current header, UTF-8 with BOM, CRLF) and the same rows as
GeoJSON, so what we export can be imported again, here or anywhere.

The package, from the bottom up: `columns` and `codes` (the datasets' column names, and
全国地方公共団体コード), `errors`, `reading` (bytes → rows), `rows` (one row's values, checked),
`formats` (which format, and what each row says), `applying` (rows → shelters) and `export`.
Other apps use only what is imported here.
"""

from shelters.opendata.applying import ImportResult, import_file, import_gsi_geojson
from shelters.opendata.errors import MAX_UPLOAD_BYTES, FileTooLarge, ImportRejected
from shelters.opendata.export import export_csv, export_filename, export_geojson

__all__ = [
    "MAX_UPLOAD_BYTES",
    "FileTooLarge",
    "ImportRejected",
    "ImportResult",
    "export_csv",
    "export_filename",
    "export_geojson",
    "import_file",
    "import_gsi_geojson",
]
