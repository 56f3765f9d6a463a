"""The column names of the published shelter datasets: GSI's and the 推奨データセット's."""

from __future__ import annotations

from shelters.models import Hazard

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
# The 推奨データセット names the same flags 災害種別_洪水, …
HAZARD_COLUMNS = {f"災害種別_{column}": hazard for column, hazard in GSI_HAZARD_COLUMNS.items()}

# The current 推奨データセット 指定緊急避難場所一覧 header, in its official order.
RECOMMENDED_COLUMNS = (
    "全国地方公共団体コード",
    "ID",
    "名称",
    "名称_カナ",
    "名称_英字",
    "所在地_全国地方公共団体コード",
    "町字ID",
    "所在地_連結表記",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "建物名等(方書)",
    "緯度",
    "経度",
    "標高",
    "電話番号",
    "内線番号",
    "連絡先メールアドレス",
    "連絡先FormURL",
    "連絡先備考（その他、SNSなど）",
    "郵便番号",
    "市区町村コード",
    "地方公共団体名",
    *HAZARD_COLUMNS,
    "指定避難所との重複",
    "想定収容人数",
    "対象となる町会・自治会",
    "URL",
    "画像",
    "画像_ライセンス",
    "備考",
)
# The older header names a row by NO within the municipality given (usually) in its first
# column; the rest is much the same with 住所 for the address. Files of that time vary in
# their optional columns, so only the columns read here are listed.
OLD_CODE_COLUMN = "都道府県コード又は市区町村コード"
