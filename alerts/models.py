"""Residents who receive alerts, the alerts themselves, and each delivery of one to one person.

Phone numbers and LINE user ids are personal data (DESIGN decision 9): collected with
consent (when and how is recorded), shown only to staff, never in public endpoints, logs or
events, and deleted (not flagged) when the resident unsubscribes.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disaster.core.languages import NAMES
from disaster.core.models import Incident, Staffing
from disaster.warnings.parsing import INTENSITIES
from shelters.models import Hazard


class Language(models.TextChoices):
    """What a subscriber reads, each named in itself (disaster/core/languages.py, which also
    maps each to the code Django activates for it)."""

    JAPANESE = "ja", NAMES["ja"]
    ENGLISH = "en", NAMES["en"]
    CHINESE = "zh", NAMES["zh"]
    KOREAN = "ko", NAMES["ko"]
    VIETNAMESE = "vi", NAMES["vi"]
    EASY_JAPANESE = "ja-easy", NAMES["ja-easy"]
    # Kanagawa's foreign residents are mostly Chinese, Vietnamese, Korean, Filipino,
    # Brazilian and Nepali: each gets the alerts' written templates (alerts/wording/).
    PORTUGUESE = "pt-br", NAMES["pt-br"]
    FILIPINO = "fil", NAMES["fil"]
    NEPALI = "ne", NAMES["ne"]


def text_field_suffix(language: str) -> str:
    """The suffix of an alert's title/body columns for a language ("ja-easy" → "ja_easy")."""
    return language.replace("-", "_")


class Channel(models.TextChoices):
    LINE = "line", "LINE"
    SMS = "sms", "SMS"


class Subscriber(models.Model):
    """One resident: reachable by LINE, by SMS, or both, living at a point and/or in districts."""

    class ConsentMethod(models.TextChoices):
        SMS = "sms", _("SMS で登録")
        LINE_FOLLOW = "line_follow", _("LINE 友だち追加")
        STAFF = "staff", _("職員が代理登録")

    # E.164 (+81…). A number takes part in alerts only once confirmed by a one-time code.
    phone = models.CharField(_("電話番号"), max_length=16, unique=True, null=True, blank=True)
    phone_confirmed_at = models.DateTimeField(_("電話番号の確認日時"), null=True, blank=True)
    line_user_id = models.CharField(
        _("LINE ユーザーID"), max_length=64, unique=True, null=True, blank=True
    )
    home = models.PointField(_("自宅の位置"), srid=4326, null=True, blank=True)
    districts = models.ManyToManyField(
        "maps.District", blank=True, related_name="subscribers", verbose_name=_("地区")
    )
    language = models.CharField(
        _("言語"), max_length=8, choices=Language.choices, default=Language.JAPANESE
    )
    consented_at = models.DateTimeField(_("同意日時"), default=timezone.now)
    consent_method = models.CharField(_("同意の方法"), max_length=20)
    # 避難行動要支援者: people registered by staff because they cannot register themselves.
    needs_support = models.BooleanField(_("避難行動要支援者"), default=False)
    # Only for people staff register (so staff can find them again); residents who sign up
    # by LINE or SMS give no name.
    name = models.CharField(_("氏名"), max_length=100, blank=True)
    staff_note = models.TextField(_("職員メモ"), blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("代理登録した職員"),
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("受信登録者")
        verbose_name_plural = _("受信登録者")
        constraints = [
            models.CheckConstraint(
                condition=Q(phone__isnull=False) | Q(line_user_id__isnull=False),
                name="subscriber_reachable",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"  # never the number or the LINE id: this shows up in logs


class PhoneConfirmation(models.Model):
    """A one-time code sent by SMS to a number that asked to subscribe (stored hashed)."""

    phone = models.CharField(max_length=16, unique=True)
    code_hash = models.CharField(max_length=64)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.JAPANESE)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)


class Alert(models.Model):
    """An evacuation alert or information message, drafted, approved by a second staff
    member (drills may skip that), then fanned out to the recipients in its area."""

    class Kind(models.TextChoices):
        EVACUATION_3 = "evacuation_3", _("警戒レベル3 高齢者等避難")
        EVACUATION_4 = "evacuation_4", _("警戒レベル4 避難指示")
        EVACUATION_5 = "evacuation_5", _("警戒レベル5 緊急安全確保")
        SHELTER_OPENED = "shelter_opened", _("避難所開設")
        SHELTER_CLOSED = "shelter_closed", _("避難所閉鎖")
        ALL_CLEAR = "all_clear", _("解除")
        INFORMATION = "information", _("お知らせ")

    class Status(models.TextChoices):
        DRAFT = "draft", _("下書き")
        APPROVED = "approved", _("承認済み")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        CANCELLED = "cancelled", _("取消")

    # What the public may see (CAP, the feed, the SMS short link, the public map): an alert
    # from the moment two people approved it — while it is being sent, which for a large
    # fan-out takes minutes, and if its fan-out stalls — never a draft or a withdrawn one.
    PUBLIC_STATUSES = (Status.APPROVED, Status.SENDING, Status.SENT)

    class MessageType(models.TextChoices):
        ALERT = "alert", "Alert"
        UPDATE = "update", "Update"
        CANCEL = "cancel", "Cancel"

    kind = models.CharField(_("種別"), max_length=20, choices=Kind.choices)
    # A drill is a state of the alert, not a kind: 【訓練】 in every body, CAP status Exercise.
    is_drill = models.BooleanField(_("訓練"), default=False)
    hazard = models.CharField(
        _("災害の種類"), max_length=20, choices=Hazard.choices, blank=True, default=""
    )
    incident = models.ForeignKey(
        "disaster.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
        verbose_name=_("災害"),
    )
    msg_type = models.CharField(
        _("電文種別"), max_length=10, choices=MessageType.choices, default=MessageType.ALERT
    )
    references = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="followups",
        verbose_name=_("元の発令"),
    )

    # What staff typed, per language; Japanese is required. A language staff did not type
    # gets its written template with the Japanese text under it (alerts/delivery/messages.py).
    title_ja = models.CharField(_("件名（日本語）"), max_length=200)
    body_ja = models.TextField(_("本文（日本語）"))
    title_en = models.CharField(_("件名（英語）"), max_length=200, blank=True)
    body_en = models.TextField(_("本文（英語）"), blank=True)
    title_zh = models.CharField(_("件名（中国語）"), max_length=200, blank=True)
    body_zh = models.TextField(_("本文（中国語）"), blank=True)
    title_ko = models.CharField(_("件名（韓国語）"), max_length=200, blank=True)
    body_ko = models.TextField(_("本文（韓国語）"), blank=True)
    title_vi = models.CharField(_("件名（ベトナム語）"), max_length=200, blank=True)
    body_vi = models.TextField(_("本文（ベトナム語）"), blank=True)
    title_ja_easy = models.CharField(_("件名（やさしい日本語）"), max_length=200, blank=True)
    body_ja_easy = models.TextField(_("本文（やさしい日本語）"), blank=True)
    title_pt_br = models.CharField(_("件名（ポルトガル語）"), max_length=200, blank=True)
    body_pt_br = models.TextField(_("本文（ポルトガル語）"), blank=True)
    title_fil = models.CharField(_("件名（フィリピノ語）"), max_length=200, blank=True)
    body_fil = models.TextField(_("本文（フィリピノ語）"), blank=True)
    title_ne = models.CharField(_("件名（ネパール語）"), max_length=200, blank=True)
    body_ne = models.TextField(_("本文（ネパール語）"), blank=True)

    whole_city = models.BooleanField(_("市内全域"), default=False)
    districts = models.ManyToManyField(
        "maps.District", blank=True, related_name="alerts", verbose_name=_("対象地区")
    )
    area = models.MultiPolygonField(_("対象区域"), srid=4326, null=True, blank=True)
    channels = ArrayField(
        models.CharField(max_length=10, choices=Channel.choices), verbose_name=_("配信経路")
    )
    asks_safety = models.BooleanField(_("安否確認"), default=False)
    # The nearest suitable open shelter for each district its messages name ({district id:
    # {"name", "name_en"}}), chosen once when the fan-out starts: a resumed run must send the
    # same words (Twilio's look-up for a lost answer matches the text), whatever opened since.
    nearest_shelters = models.JSONField(_("地区ごとの最寄り避難所"), default=dict, blank=True)
    # How long the alert is in force (the map and CAP's <expires>). SMS carry a shorter
    # validity of their own (ALERTS_SMS_VALIDITY_S), so a queued one never arrives late.
    valid_minutes = models.PositiveSmallIntegerField(_("有効時間（分）"), default=60)

    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("作成者"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("承認者"),
    )
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    approved_at = models.DateTimeField(_("承認日時"), null=True, blank=True)
    sent_at = models.DateTimeField(_("送信完了日時"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消日時"), null=True, blank=True)
    # The number of the current AlertVersion (0: none recorded); an approval names it.
    version = models.PositiveIntegerField(_("版"), default=0)

    class Meta:
        verbose_name = _("避難情報")
        verbose_name_plural = _("避難情報")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        prefix = "【訓練】" if self.is_drill else ""
        return f"{prefix}{self.title_ja}"

    def title(self, language: str) -> str:
        return getattr(self, f"title_{text_field_suffix(language)}", "") or self.title_ja

    def body(self, language: str) -> str:
        return getattr(self, f"body_{text_field_suffix(language)}", "") or self.body_ja

    def typed_in(self, language: str) -> bool:
        """Whether staff wrote this language's title themselves (else it gets Japanese)."""
        return bool(getattr(self, f"title_{text_field_suffix(language)}", ""))

    @property
    def level(self) -> int | None:
        """警戒レベル 3–5 for evacuation alerts, else None."""
        return int(self.kind[-1]) if self.kind.startswith("evacuation_") else None


class AlertVersion(models.Model):
    """One version of what an alert says and to whom (DESIGN decision 11): every edit of a
    draft stores the whole reviewed content anew, with who made it; an approval names one,
    and nobody who made any version of an alert may approve it (drills excepted)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版"))
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("変更した職員"),
    )
    made_at = models.DateTimeField(_("変更日時"), default=timezone.now)
    # kind, level, hazard, texts per language, target, channels, safety check, validity,
    # drill: staff texts and district ids only, never a recipient.
    content = models.JSONField(_("内容"))

    class Meta:
        verbose_name = _("避難情報の版")
        verbose_name_plural = _("避難情報の版")
        ordering = ["alert", "number"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "number"], name="alert_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} v{self.number}"


class SendBack(models.Model):
    """A reviewer's 差し戻し: the version they read and what should change. The alert
    stays a draft; the drafter sees the comment."""

    version = models.ForeignKey(AlertVersion, on_delete=models.CASCADE, related_name="send_backs")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("差し戻した職員"),
    )
    at = models.DateTimeField(_("差し戻した日時"), default=timezone.now)
    comment = models.TextField(_("コメント"))

    class Meta:
        verbose_name = _("差し戻し")
        verbose_name_plural = _("差し戻し")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.version}: {self.at:%Y-%m-%d %H:%M}"


class Delivery(models.Model):
    """One alert to one subscriber over one channel: created once, sent once by us."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("送信待ち")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        DELIVERED = "delivered", _("配信済み")
        FAILED = "failed", _("失敗")
        UNDELIVERABLE = "undeliverable", _("配信不能")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The key of the provider request that carries this delivery, fixed before the request
    # is made, so a retry after a lost answer is recognised (LINE's X-Line-Retry-Key).
    retry_key = models.UUIDField(null=True, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The recipient's district when the alert went out (their home's, else the first they
    # chose), fixed with the row: progress is counted by it without a point-in-polygon per
    # delivery, and a resident who moves later does not change an old alert's figures.
    district = models.ForeignKey(
        "maps.District",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        verbose_name=_("地区"),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("配信")
        verbose_name_plural = _("配信")
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "subscriber", "channel"], name="delivery_once_per_channel"
            )
        ]
        indexes = [
            # The fan-out's queue: a claim takes the next queued ones of a channel in id
            # order straight from this index. Without the id, PostgreSQL walked the primary
            # key past every delivery already sent (~80 ms a claim late in 100,000).
            models.Index(fields=["alert", "channel", "status", "id"], name="delivery_queue"),
            models.Index(fields=["provider_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id}/{self.subscriber_id}/{self.channel}: {self.status}"


class SafetyAnswer(models.Model):
    """A recipient's answer to an alert's safety check (安否確認): the latest one counts."""

    class Answer(models.TextChoices):
        EVACUATED = "evacuated", _("避難した")
        SAFE_AT_HOME = "safe_at_home", _("自宅で安全")
        NEED_HELP = "need_help", _("助けが必要")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="safety_answers")
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="safety_answers"
    )
    answer = models.CharField(max_length=16, choices=Answer.choices)
    at = models.DateTimeField(default=timezone.now)
    # "Need help": when staff reached the person, who, and what was agreed (an answer given
    # again later asks for help anew and clears these).
    reached_at = models.DateTimeField(_("連絡した日時"), null=True, blank=True)
    reached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("連絡した職員"),
    )
    reach_note = models.CharField(_("連絡の記録"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("安否回答")
        verbose_name_plural = _("安否回答")
        constraints = [
            models.UniqueConstraint(fields=["alert", "subscriber"], name="one_answer_per_alert")
        ]


class ScheduledMessage(models.Model):
    """An information message sent on a schedule (the yearly shake-out drill, stockpile
    tips): once or repeatedly, to everyone or to districts. Each run becomes an Alert of
    kind "information" — never an evacuation alert — sent like any other, in each
    subscriber's language."""

    class Repeat(models.TextChoices):
        ONCE = "once", _("1回")
        DAILY = "daily", _("毎日")
        WEEKLY = "weekly", _("毎週")
        MONTHLY = "monthly", _("毎月")
        YEARLY = "yearly", _("毎年")

    texts = models.JSONField(_("件名・本文"))  # {"title_ja": …, "body_ja": …, "title_en": …}
    channels = ArrayField(
        models.CharField(max_length=10, choices=Channel.choices), verbose_name=_("配信経路")
    )
    whole_city = models.BooleanField(_("市内全域"), default=False)
    districts = models.ManyToManyField(
        "maps.District", blank=True, related_name="+", verbose_name=_("対象地区")
    )
    repeat = models.CharField(_("繰り返し"), max_length=10, choices=Repeat.choices)
    next_run_at = models.DateTimeField(_("次回送信日時"), db_index=True)
    active = models.BooleanField(_("有効"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("定期配信")
        verbose_name_plural = _("定期配信")
        ordering = ["next_run_at", "id"]

    def __str__(self) -> str:
        return f"{self.texts.get('title_ja', '')} ({self.get_repeat_display()})"


class LineConversation(models.Model):
    """What one LINE user is in the middle of telling us, kept CONVERSATION_MINUTES.

    A damage report often arrives in pieces (a photo, then the place; or the place, then a
    photo and a few words): the pieces wait here until they make a report. `awaiting`
    says what a location message answers ("home": the settings asked for it). Personal
    data: deleted with the subscriber, and outdated rows are pruned.
    """

    class Awaiting(models.TextChoices):
        NOTHING = "", _("なし")
        HOME = "home", _("自宅の位置")

    line_user_id = models.CharField(max_length=64, unique=True)
    awaiting = models.CharField(max_length=10, choices=Awaiting.choices, blank=True)
    point = models.PointField(srid=4326, null=True, blank=True)
    address = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    # Once the pieces made a report, later pieces within the window add to it.
    report = models.ForeignKey(
        "disaster.DamageReport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"#{self.pk}"  # never the LINE id


class PendingPhoto(models.Model):
    """A photo sent to the LINE bot, waiting in its conversation for the report's place
    (residents often send two or three at once, each its own event)."""

    conversation = models.ForeignKey(
        LineConversation, on_delete=models.CASCADE, related_name="photos"
    )
    data = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.pk}"


class SeenLineEvent(models.Model):
    """A webhook event id already handled: LINE redelivers events it could not confirm,
    and a redelivered photo must not make a second report."""

    event_id = models.CharField(max_length=64, primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.event_id


class SuggestionRule(models.Model):
    """A row of the city's table of what to suggest when JMA says something (edited in the
    admin): a telegram whose warnings in force for the city match it suggests a staffing
    level, calling up the teams of that level, shelters to open for a hazard, a drafted
    alert, an incident. Nothing is sent or opened until staff say so (DESIGN decision 14)."""

    class Family(models.TextChoices):
        WEATHER = "weather", _("気象警報・注意報")
        LANDSLIDE = "landslide", _("土砂災害警戒情報")
        RIVER = "river", _("指定河川洪水予報")
        RECORD_RAIN = "record_rain", _("記録的短時間大雨情報")
        QUAKE = "quake", _("地震（震度）")

    name = models.CharField(_("名前"), max_length=100)
    active = models.BooleanField(_("有効"), default=True)
    # When: every condition given must hold for one warning in force for the city.
    family = models.CharField(_("情報の種類"), max_length=20, choices=Family.choices, blank=True)
    kind_contains = models.CharField(
        _("種類名に含む語"), max_length=50, blank=True, help_text=_("例: 大雨、氾濫、特別警報")
    )
    min_level = models.PositiveSmallIntegerField(_("警戒レベル相当（以上）"), null=True, blank=True)
    max_level = models.PositiveSmallIntegerField(_("警戒レベル相当（以下）"), null=True, blank=True)
    min_intensity = models.CharField(
        _("震度（以上）"), max_length=2, blank=True, choices=[(i, i) for i in INTENSITIES]
    )
    max_intensity = models.CharField(
        _("震度（以下）"), max_length=2, blank=True, choices=[(i, i) for i in INTENSITIES]
    )
    hazard = models.CharField(_("災害の種類"), max_length=20, choices=Hazard.choices, blank=True)
    # What it suggests.
    staffing = models.CharField(_("配備体制"), max_length=20, choices=Staffing.choices, blank=True)
    call_up = models.BooleanField(_("職員参集"), default=False)
    shelters_for = models.CharField(
        _("開設する避難所（災害の種類）"), max_length=20, choices=Hazard.choices, blank=True
    )
    alert_kind = models.CharField(
        _("避難情報の下書き"), max_length=20, choices=Alert.Kind.choices, blank=True
    )
    alert_whole_city = models.BooleanField(_("市内全域"), default=True)
    alert_districts = models.ManyToManyField(
        "maps.District", blank=True, related_name="+", verbose_name=_("対象地区")
    )
    incident_kind = models.CharField(
        _("災害を開く"), max_length=20, choices=Incident.Kind.choices, blank=True
    )

    class Meta:
        verbose_name = _("提案のルール")
        verbose_name_plural = _("提案のルール")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Suggestion(models.Model):
    """What a rule suggests for one telegram's stream, with the telegram that caused it."""

    class Status(models.TextChoices):
        OPEN = "open", _("提案中")
        DONE = "done", _("対応済み")
        DISMISSED = "dismissed", _("見送り")
        WITHDRAWN = "withdrawn", _("取り下げ")

    rule = models.ForeignKey(
        SuggestionRule, null=True, on_delete=models.SET_NULL, related_name="suggestions"
    )
    telegram = models.ForeignKey(
        "disaster.Telegram", on_delete=models.PROTECT, related_name="suggestions"
    )
    stream = models.CharField(max_length=300, db_index=True)
    summary = models.CharField(_("気象庁の発表"), max_length=300)
    staffing = models.CharField(_("配備体制"), max_length=20, choices=Staffing.choices, blank=True)
    call_up = models.BooleanField(_("職員参集"), default=False)
    hazard = models.CharField(_("災害の種類"), max_length=20, blank=True)
    shelter_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggestions"
    )
    incident = models.ForeignKey(
        "disaster.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    called_up_at = models.DateTimeField(_("参集の送信日時"), null=True, blank=True)
    shelters_opened_at = models.DateTimeField(_("避難所の開設準備日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("提案日時"), default=timezone.now)

    class Meta:
        verbose_name = _("提案")
        verbose_name_plural = _("提案")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary}"


class CallUp(models.Model):
    """A call-up of staff (職員参集) at a staffing level: to every member of the teams that
    level names, through the alert transports."""

    staffing = models.CharField(_("配備体制"), max_length=20, choices=Staffing.choices)
    message = models.TextField(_("本文"))
    suggestion = models.ForeignKey(
        Suggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="call_ups"
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("送信日時"), default=timezone.now)

    class Meta:
        verbose_name = _("職員参集")
        verbose_name_plural = _("職員参集")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_staffing_display()}"


class CallUpAnswer(models.Model):
    """One staff member's call-up: sent, then their answer (coming / cannot / arrived),
    given through the personal link in the message (or by staff on the page)."""

    class Answer(models.TextChoices):
        WAITING = "waiting", _("未回答")
        COMING = "coming", _("参集する")
        CANNOT = "cannot", _("参集できない")
        ARRIVED = "arrived", _("到着")

    call_up = models.ForeignKey(CallUp, on_delete=models.CASCADE, related_name="answers")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team_name = models.CharField(_("班"), max_length=100)
    channel = models.CharField(_("配信経路"), max_length=10, choices=Channel.choices)
    token = models.CharField(max_length=64, unique=True)  # the personal answer link's secret
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    failed = models.CharField(_("送信できなかった理由"), max_length=200, blank=True)
    answer = models.CharField(
        _("回答"), max_length=10, choices=Answer.choices, default=Answer.WAITING
    )
    answered_at = models.DateTimeField(_("回答日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("参集の回答")
        verbose_name_plural = _("参集の回答")
        ordering = ["team_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["call_up", "staff"], name="call_up_once_per_staff")
        ]

    def __str__(self) -> str:
        return f"{self.call_up_id}/{self.staff_id} {self.answer}"
