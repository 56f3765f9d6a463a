"""Request and response shapes of the alerts API."""

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, FilterSchema, Schema

from alerts.authoring import versions
from alerts.models import (
    Alert,
    Channel,
    Language,
    ScheduledMessage,
    SendBack,
    Subscriber,
)
from disaster.core.schemas import Moment, enum_named

AlertKind = Annotated[Alert.Kind, enum_named(Alert.Kind, "AlertKind")]
AlertStatus = Annotated[Alert.Status, enum_named(Alert.Status, "AlertStatus")]
Title = Field("", max_length=200)
Body = Field("", max_length=5000)


class AlertTexts(Schema):
    title_ja: str = Title
    body_ja: str = Body
    title_en: str = Title
    body_en: str = Body
    title_zh: str = Title
    body_zh: str = Body
    title_ko: str = Title
    body_ko: str = Body
    title_vi: str = Title
    body_vi: str = Body
    title_ja_easy: str = Title
    body_ja_easy: str = Body
    title_pt_br: str = Title
    body_pt_br: str = Body
    title_fil: str = Title
    body_fil: str = Body
    title_ne: str = Title
    body_ne: str = Body


class AlertIn(AlertTexts):
    kind: AlertKind
    channels: list[Channel] = Field(..., min_length=1, max_length=2)
    whole_city: bool = False
    district_ids: list[int] = Field(default_factory=list, max_length=500)
    area: dict[str, Any] | None = Field(None, description="GeoJSON Polygon / MultiPolygon")
    is_drill: bool = False
    hazard: Literal[
        "",
        "flood",
        "landslide",
        "storm_surge",
        "earthquake",
        "tsunami",
        "large_fire",
        "inland_flooding",
        "volcano",
    ] = ""
    incident_id: int | None = Field(None, ge=1, le=2**63 - 1)
    asks_safety: bool = False
    valid_minutes: int = Field(60, ge=5, le=24 * 60)


class FollowUpIn(AlertTexts):
    msg_type: Literal["update", "cancel"]


class SendBackOut(Schema):
    version: int
    by: str | None
    at: dt.datetime
    comment: str

    @staticmethod
    def resolve_version(send_back: SendBack) -> int:
        return send_back.version.number

    @staticmethod
    def resolve_by(send_back: SendBack) -> str | None:
        return send_back.by.get_username() if send_back.by else None


class AlertOut(AlertTexts):
    id: int
    version: int = Field(..., description="現在の版（承認は If-Match か version でこの番号を示す）")
    kind: str
    status: str
    msg_type: str
    is_drill: bool
    hazard: str
    channels: list[str]
    whole_city: bool
    district_ids: list[int]
    area: dict[str, Any] | None
    asks_safety: bool
    valid_minutes: int
    references_id: int | None
    drafted_by: str | None
    approved_by: str | None
    created_at: dt.datetime
    approved_at: dt.datetime | None
    sent_at: dt.datetime | None
    editors: list[str] = Field(..., description="版を作成・変更した職員（承認できない）")
    may_approve: bool = Field(..., description="この利用者がいまの版を承認できるか")
    send_backs: list[SendBackOut]

    @staticmethod
    def resolve_district_ids(alert: Alert) -> list[int]:
        return [d.pk for d in alert.districts.all()]

    @staticmethod
    def resolve_editors(alert: Alert) -> list[str]:
        names = {v.made_by.get_username() for v in alert.versions.all() if v.made_by}
        if alert.drafted_by:
            names.add(alert.drafted_by.get_username())
        return sorted(names)

    @staticmethod
    def resolve_may_approve(alert: Alert, context: dict) -> bool:
        return versions.may_approve(context["request"].auth, alert)

    @staticmethod
    def resolve_send_backs(alert: Alert) -> list[SendBack]:
        return [s for v in alert.versions.all() for s in v.send_backs.all()]

    @staticmethod
    def resolve_area(alert: Alert) -> dict | None:
        import json

        return json.loads(alert.area.geojson) if alert.area is not None else None

    @staticmethod
    def resolve_drafted_by(alert: Alert) -> str | None:
        return alert.drafted_by.get_username() if alert.drafted_by else None

    @staticmethod
    def resolve_approved_by(alert: Alert) -> str | None:
        return alert.approved_by.get_username() if alert.approved_by else None


class ChangeOut(Schema):
    field: str
    label: str
    before: Any
    after: Any


class AlertVersionOut(Schema):
    """One version: who made it, when, all it said, and what changed from the one before."""

    number: int
    made_by: str | None
    made_at: dt.datetime
    content: dict[str, Any]
    changes: list[ChangeOut]
    send_backs: list[SendBackOut]


class ReviewIn(Schema):
    """The version its reviewer read (or an If-Match header with it)."""

    version: int | None = Field(None, ge=1, le=2**31 - 1, description="確認した版")


class SendBackIn(ReviewIn):
    comment: str = Field(..., max_length=2000, description="差し戻す理由")


class AlertFilter(FilterSchema):
    status: AlertStatus | None = None
    is_drill: bool | None = None


class RecipientCounts(Schema):
    subscribers: int
    line: int
    sms: int
    population: int = Field(description="対象人数: 対象の地区の人口（国勢調査）の合計")
    households: int = Field(description="対象世帯数: 同じく世帯数の合計")
    districts: int = Field(description="数えた地区（全部または一部が区域に含まれる）")
    districts_partial: int = Field(description="そのうち一部だけ区域に含まれる地区")
    districts_without_figures: int = Field(description="人口の分からない地区（0 として数えた）")
    population_method: str = Field(description="数え方の説明")


class SuggestedShelterOut(Schema):
    id: int
    name: str
    status: str
    capacity: int
    evacuees: int
    free: int
    days_of_supply: float | None
    distance_m: float


class MessagePreview(Schema):
    language: str
    label: str
    channel: str
    text: str
    source: Literal["template", "staff"] = Field(
        description="template: 定型文と職員の日本語; staff: 職員がこの言語で入力した文"
    )
    subscribers: int = Field(description="この言語を選んだ受信者の数")
    characters: int = Field(description="文字数（SMS は GSM-7 の septet か UCS-2 の単位）")
    encoding: Literal["GSM-7", "UCS-2"] | None
    segments: int | None = Field(description="SMS の通数（連結 SMS）")
    max_segments: int | None
    sms_limit: int | None = Field(description="max_segments 通に収まる最大の文字数")
    left_out: list[str] = Field(description="収まらず SMS から省いた部分（shelter, title）")
    warnings: list[Literal["japanese_staff_text", "unreviewed_wording", "no_wording"]] = Field(
        description="選んだ言語以外で届く部分がある・定型文が未確認"
    )


class SubscriberIn(Schema):
    """Someone staff register because they cannot do it themselves (避難行動要支援者)."""

    phone: str = Field(..., min_length=3, max_length=30, description="日本の番号または E.164")
    language: Language = Language.JAPANESE
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    district_ids: list[int] = Field(default_factory=list, max_length=50)
    needs_support: bool = True
    consent_note: str = Field(..., min_length=1, max_length=1000, description="本人の同意の記録")


class SubscriberOut(Schema):
    id: int
    phone: str | None
    line_user_id: str | None
    language: str
    latitude: float | None
    longitude: float | None
    district_ids: list[int]
    needs_support: bool
    staff_note: str
    consent_method: str
    consented_at: dt.datetime

    @staticmethod
    def resolve_latitude(s: Subscriber) -> float | None:
        return s.home.y if s.home else None

    @staticmethod
    def resolve_longitude(s: Subscriber) -> float | None:
        return s.home.x if s.home else None

    @staticmethod
    def resolve_district_ids(s: Subscriber) -> list[int]:
        return [d.pk for d in s.districts.all()]


class ScheduleIn(AlertTexts):
    channels: list[Channel] = Field(..., min_length=1, max_length=2)
    whole_city: bool = False
    district_ids: list[int] = Field(default_factory=list, max_length=500)
    first_at: Moment = Field(..., description="最初の送信日時（タイムゾーンなしは日本時間）")
    repeat: ScheduledMessage.Repeat


class ScheduleOut(Schema):
    id: int
    texts: dict[str, str]
    channels: list[str]
    whole_city: bool
    district_ids: list[int]
    repeat: str
    next_run_at: dt.datetime
    active: bool
    last_alert_id: int | None

    @staticmethod
    def resolve_district_ids(schedule: ScheduledMessage) -> list[int]:
        return [d.pk for d in schedule.districts.all()]
