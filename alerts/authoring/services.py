"""What staff do with alerts: draft, approve (which sends), follow up, cancel.

An alert goes draft → approved → sending → sent. Approval is by a second staff member; a
drill may be approved by its drafter. The fan-out job is deferred inside the approving
transaction (DESIGN decision 4): if approval rolls back there is no job, and a worker that
dies mid-send is retried until every recipient has their delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.delivery import messages
from alerts.lifecycle import announce, defer_sending
from alerts.models import Alert, Channel, Language, Subscriber, text_field_suffix
from alerts.phones import BadPhoneNumber, to_e164
from disaster.core import audit
from disaster.core.areas import area_from_geojson
from disaster.core.errors import Conflict, Forbidden, Invalid, NotFound
from disaster.core.geography import District
from disaster.core.models import User

TEXT_FIELDS = [
    f"{part}_{text_field_suffix(language)}"
    for language in Language.values
    for part in ("title", "body")
]


@dataclass
class Draft:
    """What a drafter says about an alert; validated as a whole by `draft_alert`."""

    kind: str
    texts: dict[str, str]  # title_ja, body_ja, title_en, …
    channels: list[str]
    whole_city: bool = False
    district_ids: list[int] = field(default_factory=list)
    area: dict | None = None  # GeoJSON Polygon or MultiPolygon
    is_drill: bool = False
    hazard: str = ""
    incident_id: int | None = None
    asks_safety: bool = False
    valid_minutes: int = 60


def validate_alert(alert: Alert, district_ids: list[int]) -> list[District]:
    """The districts named, or a 422 with every field at fault."""
    errors: dict[str, str] = {}
    if alert.kind not in Alert.Kind.values:
        errors["kind"] = _("種別が正しくありません。")
    if not alert.title_ja.strip():
        errors["title_ja"] = _("日本語の件名は必須です。")
    if not alert.body_ja.strip():
        errors["body_ja"] = _("日本語の本文は必須です。")
    if not alert.channels or set(alert.channels) - set(Channel.values):
        errors["channels"] = _("配信経路は line と sms から選んでください。")
    districts = list(District.objects.filter(pk__in=district_ids))
    if len(districts) != len(set(district_ids)):
        errors["district_ids"] = _("存在しない地区があります。")
    if not (alert.whole_city or alert.area is not None or district_ids):
        errors["target"] = _("対象（市内全域、地区、または区域）を指定してください。")
    if not errors and Channel.SMS in alert.channels:
        errors.update(messages.sms_too_long(alert, [d.name for d in districts]))
    if errors:
        raise Invalid(fields=errors)
    return districts


def _changed(by: User | None, alert: Alert, action: str, before: dict | None = None) -> Alert:
    audit.record(by, f"alert.{action}", alert, before=before, after=audit.snapshot(alert))
    announce(alert, alert.status if action != "draft" else "drafted")
    return alert


@transaction.atomic
def draft_alert(by: User, draft: Draft, *, references: Alert | None = None) -> Alert:
    """Create a draft; nothing is sent until a second staff member approves it."""
    alert = Alert(
        kind=draft.kind,
        is_drill=draft.is_drill,
        hazard=draft.hazard,
        incident_id=draft.incident_id,
        channels=list(dict.fromkeys(draft.channels)),
        whole_city=draft.whole_city,
        area=area_from_geojson(draft.area),
        asks_safety=draft.asks_safety,
        valid_minutes=draft.valid_minutes,
        drafted_by=by,
        references=references,
        msg_type=Alert.MessageType.ALERT,
        **{name: draft.texts.get(name, "") for name in TEXT_FIELDS},
    )
    districts = validate_alert(alert, draft.district_ids)
    alert.save()
    alert.districts.set(districts)
    return _changed(by, alert, "draft")


def _locked(alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("避難情報 %(id)s はありません。") % {"id": alert_id})
    return alert


@transaction.atomic
def update_draft(by: User, alert_id: int, draft: Draft) -> Alert:
    """Change a draft (only a draft: what was approved is what goes out)."""
    alert = _locked(alert_id)
    if alert.status != Alert.Status.DRAFT:
        raise Conflict(_("下書きだけが変更できます。"), alert_status=alert.status)
    before = audit.snapshot(alert)
    for name in TEXT_FIELDS:
        setattr(alert, name, draft.texts.get(name, ""))
    alert.kind, alert.is_drill, alert.hazard = draft.kind, draft.is_drill, draft.hazard
    alert.channels = list(dict.fromkeys(draft.channels))
    alert.whole_city, alert.area = draft.whole_city, area_from_geojson(draft.area)
    alert.asks_safety, alert.valid_minutes = draft.asks_safety, draft.valid_minutes
    alert.incident_id = draft.incident_id
    districts = validate_alert(alert, draft.district_ids)
    alert.save()
    alert.districts.set(districts)
    audit.record(by, "alert.update", alert, before=before, after=audit.snapshot(alert))
    return alert


@transaction.atomic
def approve_alert(by: User, alert_id: int) -> Alert:
    """Approve a draft and, in the same transaction, defer its sending."""
    alert = _locked(alert_id)
    if alert.status != Alert.Status.DRAFT:
        raise Conflict(_("この避難情報は下書きではありません。"), alert_status=alert.status)
    if alert.drafted_by_id == by.pk and not alert.is_drill:
        raise Forbidden(
            _("作成者とは別の職員が承認してください（訓練を除く）。"), reason="four_eyes"
        )
    before = audit.snapshot(alert)
    alert.status = Alert.Status.APPROVED
    alert.approved_by, alert.approved_at = by, timezone.now()
    alert.save(update_fields=["status", "approved_by", "approved_at"])
    defer_sending(alert)
    return _changed(by, alert, "approve", before)


@transaction.atomic
def follow_up(by: User, alert_id: int, msg_type: str, texts: dict[str, str]) -> Alert:
    """Draft an update or a cancellation of a sent alert, to the same people, referencing it.
    It is approved and sent like any alert."""
    original = _locked(alert_id)
    if original.status not in {Alert.Status.SENDING, Alert.Status.SENT}:
        raise Conflict(
            _("送信した避難情報にだけ更新・取消を出せます。"), alert_status=original.status
        )
    if msg_type not in {Alert.MessageType.UPDATE, Alert.MessageType.CANCEL}:
        raise Invalid(fields={"msg_type": _("update か cancel にしてください。")})
    alert = Alert(
        kind=original.kind,
        is_drill=original.is_drill,
        hazard=original.hazard,
        incident_id=original.incident_id,
        channels=original.channels,
        whole_city=original.whole_city,
        area=original.area,
        drafted_by=by,
        references=original,
        msg_type=msg_type,
        **{name: texts.get(name, "") for name in TEXT_FIELDS},
    )
    districts = validate_alert(alert, list(original.districts.values_list("pk", flat=True)))
    alert.save()
    alert.districts.set(districts)
    return _changed(by, alert, "draft")


@transaction.atomic
def cancel_draft(by: User, alert_id: int) -> Alert:
    """Withdraw a draft that was never sent (a sent alert is cancelled by a follow-up)."""
    alert = _locked(alert_id)
    if alert.status != Alert.Status.DRAFT:
        raise Conflict(
            _("送信済みの避難情報は取消の電文で取り消してください。"), alert_status=alert.status
        )
    before = audit.snapshot(alert)
    alert.status, alert.cancelled_at = Alert.Status.CANCELLED, timezone.now()
    alert.save(update_fields=["status", "cancelled_at"])
    return _changed(by, alert, "cancel", before)


@transaction.atomic
def register_for(
    by: User,
    *,
    phone: str,
    language: str,
    home: tuple[float, float] | None,
    district_ids: list[int],
    needs_support: bool,
    consent_note: str,
) -> Subscriber:
    """Staff register someone who cannot do it themselves (避難行動要支援者), recording that
    the person consented and how. The number is taken as confirmed by the staff member."""
    from django.contrib.gis.geos import Point

    try:
        number = to_e164(phone)
    except BadPhoneNumber as error:
        raise Invalid(fields={"phone": _("電話番号の形式が正しくありません。")}) from error
    if Subscriber.objects.filter(phone=number).exists():
        raise Conflict(_("この電話番号はすでに登録されています。"))
    districts = list(District.objects.filter(pk__in=district_ids))
    if len(districts) != len(set(district_ids)):
        raise Invalid(fields={"district_ids": _("存在しない地区があります。")})
    point = Point(home[1], home[0], srid=4326) if home else None
    if point is None and not districts:
        raise Invalid(fields={"district_ids": _("住所の位置か地区を指定してください。")})
    now = timezone.now()
    subscriber = Subscriber.objects.create(
        phone=number,
        phone_confirmed_at=now,
        language=language,
        home=point,
        needs_support=needs_support,
        staff_note=consent_note,
        consented_at=now,
        consent_method=Subscriber.ConsentMethod.STAFF,
        registered_by=by,
    )
    subscriber.districts.set(districts)
    # The audit keeps who registered whom, not the number itself.
    audit.record(by, "subscriber.register", subscriber, after={"needs_support": needs_support})
    return subscriber
