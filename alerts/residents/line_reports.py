"""Damage reports sent to the LINE bot: a photo and/or a few words, and a place.

The pieces come as separate webhook events, in any order: a photo, then the location within
RESIDENT_PIECES_MINUTES, or the location first, then a photo or a description. They wait in
the sender's LineConversation until there is a place and something to report, and then
become one report (source LINE, the sender linked privately as its contact). A photo or
words sent within the window after that are added to the same report.

The photo is fetched from LINE's content API before the event's transaction starts
(`fetch_photo`), so no database transaction waits on the network.
"""

from __future__ import annotations

import datetime as dt

import urllib3
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.translation import gettext as _
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    CameraAction,
    CameraRollAction,
    Configuration,
    LocationAction,
    MessagingApiBlob,
    PostbackAction,
    QuickReplyItem,
)

from alerts.models import LineConversation, PendingPhoto, Subscriber
from alerts.residents import shelter_finder
from alerts.residents.replies import Answer
from disaster.core.errors import DomainError, RateLimited, TooLarge
from disaster.reports import services as reports
from disaster.reports.models import DamageReport
from disaster.reports.photos import attach_photo, open_image

Category = DamageReport.Category

# Words that say what kind of damage a description is about; the resident can change it
# with one tap, and operations staff triage it anyway.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    Category.PEOPLE: ("閉じ込め", "下敷き", "けが", "怪我", "負傷", "trapped", "injured"),
    Category.FIRE: ("火事", "火災", "燃え", "煙", "fire", "smoke"),
    Category.FLOODING: ("浸水", "冠水", "水没", "あふれ", "溢れ", "flood"),
    Category.LANDSLIDE: ("土砂", "がけ崩れ", "崖崩れ", "landslide"),
    Category.BRIDGE: ("橋", "bridge"),
    Category.ROAD_BLOCKED: ("通行止", "倒木", "陥没", "道路", "道が", "ふさが", "road"),
    Category.BUILDING: ("倒壊", "建物", "家屋", "屋根", "ブロック塀", "collapsed", "building"),
    Category.POWER: ("停電", "power"),
    Category.WATER: ("断水", "water"),
    Category.GAS: ("ガス", "gas"),
    Category.TELECOM: ("通信", "電話がつながらない", "telecom"),
}
# People in danger first; the rest is for staff to weigh.
SEVERITY: dict[str, int] = {Category.PEOPLE: 5, Category.FIRE: 4}
DEFAULT_SEVERITY = 3
# Photos kept waiting for a place; more than a report needs is a flood, not a report.
PENDING_PHOTOS_MAX = 10


def contact(user_id: str) -> str:
    """How a LINE sender is recorded on their report: seen by operations staff only."""
    return f"LINE:{user_id}"


def guess_category(text: str) -> str:
    lowered = text.lower()
    for category, words in CATEGORY_WORDS.items():
        if any(word in lowered for word in words):
            return category
    return Category.OTHER


def fetch_photo(message_id: str) -> bytes:
    """A photo a resident sent, from LINE's content API (LINE_DATA_BASE_URL when set):
    TooLarge beyond REPORT_PHOTO_MAX_BYTES, DomainError when LINE cannot give it (no
    longer kept, unreachable). LINE itself caps what a user can send, so the body is read
    whole."""
    configuration = Configuration(
        host=settings.LINE_DATA_BASE_URL or None, access_token=settings.LINE_CHANNEL_ACCESS_TOKEN
    )
    configuration.retries = False
    try:
        with ApiClient(configuration) as client:
            data = MessagingApiBlob(client).get_message_content(
                message_id, _request_timeout=settings.ALERTS_HTTP_TIMEOUT_S
            )
    except (ApiException, urllib3.exceptions.HTTPError) as error:
        raise DomainError(_("写真を受け取れませんでした。もう一度送ってください。")) from error
    if len(data) > settings.REPORT_PHOTO_MAX_BYTES:
        raise TooLarge(
            _("写真が大きすぎます（%(mb)s MB まで）。小さくして送ってください。")
            % {"mb": settings.REPORT_PHOTO_MAX_BYTES // 1_000_000}
        )
    return bytes(data)


def _conversation(user_id: str) -> LineConversation:
    """The sender's conversation, locked; pieces older than the window are forgotten, and
    so is the report they made once its own window (from when it was made) has passed."""
    conversation, _created = LineConversation.objects.select_for_update().get_or_create(
        line_user_id=user_id
    )
    now = timezone.now()
    window = dt.timedelta(minutes=settings.RESIDENT_PIECES_MINUTES)
    if conversation.updated_at < now - window:
        _forget_pieces(conversation)
        conversation.awaiting = ""
    elif conversation.report is not None and conversation.report.created_at < now - window:
        conversation.report = None
    return conversation


def _forget_pieces(conversation: LineConversation) -> None:
    conversation.point, conversation.address = None, ""
    conversation.text, conversation.report = "", None
    conversation.photos.all().delete()


def _save(conversation: LineConversation) -> None:
    conversation.updated_at = timezone.now()
    conversation.save()


def place_choices() -> list[QuickReplyItem]:
    return [QuickReplyItem(action=LocationAction(label=_("位置情報を送る")))]


def photo_choices() -> list[QuickReplyItem]:
    return [
        QuickReplyItem(action=CameraAction(label=_("写真を撮る"))),
        QuickReplyItem(action=CameraRollAction(label=_("写真を選ぶ"))),
    ]


def category_choices(report: DamageReport) -> list[QuickReplyItem]:
    return [
        QuickReplyItem(
            action=PostbackAction(
                label=str(label)[:20],
                data=f"category={report.pk}:{value}",
                displayText=str(label),
            )
        )
        for value, label in Category.choices
    ]


def await_home(user_id: str) -> None:
    """The next location this sender shares is their home (the settings asked for it)."""
    conversation = _conversation(user_id)
    conversation.awaiting = LineConversation.Awaiting.HOME
    _save(conversation)


def stop_awaiting(user_id: str) -> None:
    """The settings are done (a district chosen), or the sender turned to reporting: a
    location is a place of damage again."""
    LineConversation.objects.filter(line_user_id=user_id).update(awaiting="")


def add_photo(user_id: str, data: bytes) -> Answer:
    image = open_image(data)  # 415 / 413 as DomainError: the caller says why to the sender
    conversation = _conversation(user_id)
    conversation.awaiting = ""  # a photo is a report, whatever the settings asked before
    if conversation.report_id:
        reports.add_photo(conversation.report_id, (data, image))
        _save(conversation)
        return Answer(
            _("写真を被害報告 No.%(id)s に追加しました。") % {"id": conversation.report_id}, []
        )
    if conversation.photos.count() >= PENDING_PHOTOS_MAX:
        _save(conversation)
        return Answer(
            _("写真は%(count)s枚までです。場所（位置情報）を送ってください。")
            % {"count": PENDING_PHOTOS_MAX},
            place_choices(),
        )
    PendingPhoto.objects.create(conversation=conversation, data=data)
    return _complete_or_ask(user_id, conversation)


def add_text(user_id: str, text: str) -> Answer:
    conversation = _conversation(user_id)
    conversation.awaiting = ""
    if conversation.report_id:
        reports.add_words(conversation.report_id, text)
        _save(conversation)
        return Answer(
            _("説明を被害報告 No.%(id)s に追加しました。") % {"id": conversation.report_id}, []
        )
    conversation.text = f"{conversation.text}\n{text}".strip()[:2000]
    return _complete_or_ask(user_id, conversation)


def add_place(user_id: str, here: Point, address: str) -> Answer:
    """A shared location: the sender's home when the settings asked for it, otherwise the
    place of a report (now, or of the photo or words that follow). Either way the answer
    names the nearest open shelters."""
    conversation = _conversation(user_id)
    if conversation.awaiting == LineConversation.Awaiting.HOME:
        conversation.awaiting = ""
        _save(conversation)
        if not Subscriber.objects.filter(line_user_id=user_id).update(home=here):
            return Answer(_("避難情報の受信は、友だち追加からやり直してください。"))
        return Answer(
            _("自宅の位置を登録しました。この地域の避難情報をお届けします。")
            + "\n\n"
            + shelter_finder.line_text(here),
            [],
        )
    if conversation.report_id:  # a new place after a report: the start of another one
        _forget_pieces(conversation)
    conversation.point, conversation.address = here, address[:300]
    if conversation.text or conversation.photos.exists():
        return _complete_or_ask(user_id, conversation)
    _save(conversation)
    return Answer(
        shelter_finder.line_text(here)
        + "\n\n"
        + _("被害の報告なら、%(minutes)s分以内に写真か説明を送ってください。")
        % {"minutes": settings.RESIDENT_PIECES_MINUTES},
        photo_choices(),
    )


def _complete_or_ask(user_id: str, conversation: LineConversation) -> Answer:
    if conversation.point is None:
        _save(conversation)
        return Answer(
            _("受け付けました。被害の場所を位置情報で送ってください（%(minutes)s分以内）。")
            % {"minutes": settings.RESIDENT_PIECES_MINUTES},
            place_choices(),
        )
    here = conversation.point
    category = guess_category(conversation.text)
    photos = [bytes(p.data) for p in conversation.photos.order_by("pk")]
    checked = [(data, open_image(data)) for data in photos]
    try:
        report = reports.create_report(
            reports.NewReport(
                latitude=here.y,
                longitude=here.x,
                category=category,
                severity=SEVERITY.get(category, DEFAULT_SEVERITY),
                description=conversation.text,
                address=conversation.address,
                contact=contact(user_id),
            ),
            source=DamageReport.Source.LINE,
            photo=checked[0] if checked else None,
            client=reports.client_key(contact(user_id)),
        )
        for extra in checked[1:]:
            attach_photo(report, *extra)
    except RateLimited:
        _forget_pieces(conversation)
        _save(conversation)
        return Answer(_("短時間に報告が多すぎます。しばらくしてから送ってください。"), [])
    _forget_pieces(conversation)
    conversation.report = report
    _save(conversation)
    return Answer(
        _("被害報告を受け付けました。受付番号 No.%(id)s") % {"id": report.pk}
        + "\n"
        + _("種類を選んでください（いまは「%(category)s」）。")
        % {"category": report.get_category_display()}
        + "\n\n"
        + shelter_finder.line_text(here),
        category_choices(report),
    )


def choose_category(user_id: str, value: str) -> Answer | None:
    """A tap on one of the category quick replies: `<report id>:<category>`. Only the
    sender's own report, and only while no one has triaged it."""
    report_id, _sep, category = value.partition(":")
    if not report_id.isdigit() or category not in Category.values:
        return None
    try:
        report = reports.recategorise(int(report_id), category, contact=contact(user_id))
    except DomainError as error:
        return Answer(error.message, [])
    return Answer(
        _("被害報告 No.%(id)s の種類を「%(category)s」にしました。")
        % {"id": report.pk, "category": report.get_category_display()},
        [],
    )
