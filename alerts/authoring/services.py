"""What staff do with alerts: draft, approve (which sends), follow up, cancel.

An alert goes draft → approved → sending → sent. Every edit of a draft is a new version
(alerts/authoring/versions.py); an approval names the version its approver read and is
refused when the draft changed since, and to anyone who made any version of it (a drill
may be approved by its drafter). A reviewer may instead send the draft back with a
comment. The fan-out job is deferred inside the approving
transaction (DESIGN decision 4): if approval rolls back there is no job, and a worker that
dies mid-send is retried until every recipient has their delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.authoring import versions
from alerts.authoring.versions import TEXT_FIELDS
from alerts.delivery import messages
from alerts.lifecycle import announce, defer_sending
from alerts.models import Alert, AlertVersion, Channel, SendBack, Subscriber
from alerts.phones import BadPhoneNumber, to_e164
from disaster.core import audit
from disaster.core.areas import alert_area_from_geojson
from disaster.core.errors import Conflict, Invalid, NotFound
from disaster.core.geography import District
from disaster.core.models import User
from disaster.core.text import first_unpublishable


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
    for name in TEXT_FIELDS:
        character = first_unpublishable(getattr(alert, name))
        if character:
            errors[name] = _("制御文字（%(character)s）は使えません。") % {"character": character}
    if not alert.channels or set(alert.channels) - set(Channel.values):
        errors["channels"] = _("配信経路は line と sms から選んでください。")
    districts = list(District.objects.filter(pk__in=district_ids))
    if len(districts) != len(set(district_ids)):
        errors["district_ids"] = _("存在しない地区があります。")
    if not (alert.whole_city or alert.area is not None or district_ids):
        errors["target"] = _("対象（市内全域、地区、または区域）を指定してください。")
    if not errors and Channel.SMS in alert.channels:
        errors.update(messages.sms_too_long(alert, districts))
    if errors:
        raise Invalid(fields=errors)
    return districts


def _changed(by: User | None, alert: Alert, action: str, before: dict) -> Alert:
    audit.record(by, f"alert.{action}", alert, before=before, after=audit.snapshot(alert))
    announce(alert, alert.status)
    return alert


def _drafted(by: User | None, alert: Alert) -> Alert:
    """A new draft's first version, in the audit log and announced."""
    versions.record(by, alert, "draft")
    announce(alert, "drafted")
    return alert


@transaction.atomic
def draft_alert(by: User | None, draft: Draft, *, references: Alert | None = None) -> Alert:
    """Create a draft; nothing is sent until a second staff member approves it. A draft by
    nobody (`by=None`: the machine's, from a JMA telegram) must first be adopted by one
    staff member (`adopt_draft`) and then approved by another."""
    alert = Alert(
        kind=draft.kind,
        is_drill=draft.is_drill,
        hazard=draft.hazard,
        incident_id=draft.incident_id,
        channels=list(dict.fromkeys(draft.channels)),
        whole_city=draft.whole_city,
        area=alert_area_from_geojson(draft.area),
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
    return _drafted(by, alert)


def _locked(alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("避難情報 %(id)s はありません。") % {"id": alert_id})
    return alert


@transaction.atomic
def update_draft(by: User, alert_id: int, draft: Draft, *, based_on: int | None = None) -> Alert:
    """Change a draft (only a draft: what was approved is what goes out), as its next
    version, made by `by`, who may then no longer approve it. `based_on`, when given, is the
    version the editor started from: a draft changed since is refused (409), not overwritten."""
    alert = _locked(alert_id)
    if alert.status != Alert.Status.DRAFT:
        raise Conflict(_("下書きだけが変更できます。"), alert_status=alert.status)
    if based_on is not None:
        versions.current(alert, based_on)
    for name in TEXT_FIELDS:
        setattr(alert, name, draft.texts.get(name, ""))
    alert.kind, alert.is_drill, alert.hazard = draft.kind, draft.is_drill, draft.hazard
    alert.channels = list(dict.fromkeys(draft.channels))
    alert.whole_city, alert.area = draft.whole_city, alert_area_from_geojson(draft.area)
    alert.asks_safety, alert.valid_minutes = draft.asks_safety, draft.valid_minutes
    alert.incident_id = draft.incident_id
    districts = validate_alert(alert, draft.district_ids)
    alert.save()
    alert.districts.set(districts)
    versions.record(by, alert, "update")
    return alert


def _reviewable(by: User, alert: Alert, version: int | None, refusal: str | None) -> AlertVersion:
    """The version reviewed, unless `alert` is no draft or `version` is not the one it is
    at; or, with a `refusal` (why not, for the action at hand), `by` made any version."""
    if alert.status != Alert.Status.DRAFT:
        raise Conflict(_("この避難情報は下書きではありません。"), alert_status=alert.status)
    reviewed = versions.current(alert, version)
    if refusal is not None and by.pk in versions.editor_ids(alert):
        raise versions.FourEyes(refusal, reason="four_eyes")
    return reviewed


@transaction.atomic
def approve_alert(by: User, alert_id: int, version: int | None) -> Alert:
    """Approve the draft at `version` (the one its approver read) and, in the same
    transaction, defer its sending. Refused if the draft changed since, or to anyone who
    made any of its versions; a drill may be approved by the one who drafted it."""
    alert = _locked(alert_id)
    refusal = _("この下書きを作成・変更した職員は承認できません。別の職員が承認してください。")
    _reviewable(by, alert, version, None if alert.is_drill else refusal)
    if not alert.is_drill and not versions.editor_ids(alert):
        raise versions.FourEyes(
            _(
                "自動で作成された下書きです。まず職員が内容を確認して引き受け、"
                "別の職員が承認してください。"
            ),
            reason="needs_adoption",
        )
    before = audit.snapshot(alert)
    alert.status = Alert.Status.APPROVED
    alert.approved_by, alert.approved_at = by, timezone.now()
    alert.save(update_fields=["status", "approved_by", "approved_at"])
    defer_sending(alert)
    return _changed(by, alert, "approve", before)


@transaction.atomic
def adopt_draft(by: User, alert_id: int, version: int | None) -> Alert:
    """A staff member takes a draft nobody made (the machine's) as theirs, having read
    `version`: they become its drafter, so the approval must come from someone else."""
    alert = _locked(alert_id)
    _reviewable(by, alert, version, None)
    if alert.drafted_by_id is not None or versions.editor_ids(alert):
        raise Conflict(_("この下書きはすでに職員が作成・引き受けています。"))
    before = audit.snapshot(alert)
    alert.drafted_by = by
    alert.save(update_fields=["drafted_by"])
    audit.record(by, "alert.adopt", alert, before=before, after=audit.snapshot(alert))
    announce(alert, "drafted")  # a draft again, now with a drafter
    return alert


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
    return _drafted(by, alert)


@transaction.atomic
def send_back(by: User, alert_id: int, version: int | None, comment: str) -> Alert:
    """A reviewer's 差し戻し of the draft at `version`: it stays a draft, the comment is kept
    with that version for the drafter, written to the audit log and announced."""
    comment = comment.strip()
    if not comment:
        raise Invalid(fields={"comment": _("差し戻す理由を書いてください。")})
    alert = _locked(alert_id)
    read = _reviewable(by, alert, version, _("自分で作成・変更した下書きは差し戻せません。"))
    SendBack.objects.create(version=read, by=by, comment=comment)
    audit.record(by, "alert.send_back", alert, after={"version": read.number, "comment": comment})
    announce(alert, "sent_back")
    return alert


@transaction.atomic
def cancel_draft(by: User | None, alert_id: int) -> Alert:
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
    try:
        with transaction.atomic():  # a savepoint: two staff registering the same person
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
    except IntegrityError:
        # `from None`: the database's message names the number, and must reach no log.
        raise Conflict(_("この電話番号はすでに登録されています。")) from None
    subscriber.districts.set(districts)
    # The audit keeps who registered whom, not the number itself.
    audit.record(by, "subscriber.register", subscriber, after={"needs_support": needs_support})
    return subscriber
