"""The core's models: users and their roles, API tokens, the audit log, the event log,
idempotency records, rate windows, and the declared disaster (Incident) everything belongs to."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disaster.core.roles import Role


class User(AbstractUser):
    role = models.CharField(
        _("役割"), max_length=20, choices=Role.choices, default=Role.SHELTER_MANAGER
    )

    class Meta:
        verbose_name = _("利用者")
        verbose_name_plural = _("利用者")

    def save(self, *args, **kwargs):
        # Django's admin site is the administrators' page; the role decides who sees it.
        if self.is_superuser:
            self.role = Role.ADMINISTRATOR
        self.is_staff = self.role == Role.ADMINISTRATOR
        super().save(*args, **kwargs)

    # The role is the permission: administrators may use the whole admin site (models that
    # only services may write still refuse through their ModelAdmin).
    def has_perm(self, perm, obj=None) -> bool:
        if self.is_active and self.role == Role.ADMINISTRATOR:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active and self.role == Role.ADMINISTRATOR:
            return True
        return super().has_module_perms(app_label)


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        """Neither revoked nor past its expiry: the tokens that still sign someone in."""
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        return self.filter(unexpired, revoked_at__isnull=True)


class ApiToken(models.Model):
    """A per-user bearer token for tablets and integrations.

    Only a SHA-256 of the secret is stored: the secret is 256 random bits, so a fast hash
    is enough and lets a request find its token with one indexed lookup.
    """

    PREFIX = "sonae_"
    LAST_USED_RESOLUTION = 60  # seconds; avoids a write on every request

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名前"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(_("末尾"), max_length=4, editable=False)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    # After this the token signs nobody in (empty: until revoked).
    expires_at = models.DateTimeField(_("有効期限"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("APIトークン")
        verbose_name_plural = _("APIトークン")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (…{self.hint})"

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(
        cls, user: User, name: str, expires_at: dt.datetime | None = None
    ) -> tuple[ApiToken, str]:
        """Create a token; the plain secret is returned once and never stored."""
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=cls.hash(secret), hint=secret[-4:], expires_at=expires_at
        )
        return token, secret

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class AuditEntry(models.Model):
    """One write by someone: who, when, through what, to which object, before and after."""

    class Via(models.TextChoices):
        API = "api", _("API")
        PAGE = "page", _("画面")
        ADMIN = "admin", _("管理画面")
        SYSTEM = "system", _("システム")

    at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so the log still says who it was after the account is deleted.
    actor_name = models.CharField(_("実行者"), max_length=150, blank=True)
    via = models.CharField(_("経路"), max_length=10, choices=Via.choices)
    action = models.CharField(_("操作"), max_length=60, db_index=True)
    target_type = models.CharField(_("対象の種類"), max_length=60)
    target_id = models.CharField(_("対象ID"), max_length=40, blank=True)
    before = models.JSONField(_("変更前"), null=True, blank=True)
    after = models.JSONField(_("変更後"), null=True, blank=True)

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"


class Event(models.Model):
    """The event log behind the live channel: see `disaster.core.events.publish`."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=60)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("イベント")
        verbose_name_plural = _("イベント")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.id} {self.kind}"

    def as_message(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "at": self.created_at.isoformat(),
            "payload": self.payload,
        }


class Incident(models.Model):
    """A declared disaster (災害), which reports, alerts and drills belong to."""

    class Kind(models.TextChoices):
        EARTHQUAKE = "earthquake", _("地震")
        FLOOD = "flood", _("洪水・浸水")
        TYPHOON = "typhoon", _("台風・大雨")
        LANDSLIDE = "landslide", _("土砂災害")
        FIRE = "fire", _("大規模火災")
        TSUNAMI = "tsunami", _("津波")
        VOLCANO = "volcano", _("火山")
        OTHER = "other", _("その他")

    class Phase(models.TextChoices):
        WATCH = "watch", _("警戒")
        RESPONSE = "response", _("応急対応")
        RECOVERY = "recovery", _("復旧")
        CLOSED = "closed", _("終了")

    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("種別"), max_length=20, choices=Kind.choices)
    phase = models.CharField(_("段階"), max_length=20, choices=Phase.choices, default=Phase.WATCH)
    is_drill = models.BooleanField(_("訓練"), default=False)
    started_at = models.DateTimeField(_("開始日時"), default=timezone.now)
    ended_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("災害")
        verbose_name_plural = _("災害")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.name


class IdempotentRequest(models.Model):
    """The first answer to a write sent with an `Idempotency-Key`, replayed to any retry."""

    principal = models.CharField(max_length=80)  # whose key: a user or a token, never shared
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    # Whose personal data `body` holds ("subscriber:12"): blanked when they are deleted.
    subjects = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_once")
        ]
        indexes = [GinIndex(fields=["subjects"], name="idempotency_subjects")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class RateWindow(models.Model):
    """How many requests one sender made in the current window: see `disaster.core.ratelimit`.
    The key is a keyed hash of the sender, never their number or LINE id."""

    key = models.CharField(max_length=100, primary_key=True)
    started_at = models.DateTimeField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.count}"


class Staffing(models.TextChoices):
    """The city's staffing levels (配備体制), lowest first."""

    CAUTION = "caution", _("注意体制")
    ALERT = "alert", _("警戒体制")
    EMERGENCY = "emergency", _("非常体制")

    @classmethod
    def rank(cls, value: str) -> int:
        return list(cls.values).index(value) + 1 if value in cls.values else 0


class Team(models.Model):
    """A team of staff (班), called up from a staffing level on: at 注意体制 the information
    team, at 非常体制 everyone. The city keeps the list in the admin."""

    name = models.CharField(_("班"), max_length=100, unique=True)
    called_from = models.CharField(
        _("参集する体制"), max_length=20, choices=Staffing.choices, default=Staffing.EMERGENCY
    )

    class Meta:
        verbose_name = _("班")
        verbose_name_plural = _("班")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StaffContact(models.Model):
    """How a staff member is reached when called up (職員参集): a phone (SMS) or a LINE id,
    and their team. Personal data: staff pages only, never logs or events."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="contact", verbose_name=_("職員")
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="members", verbose_name=_("班")
    )
    phone = models.CharField(_("電話番号（E.164）"), max_length=16, blank=True)
    line_user_id = models.CharField(_("LINE ユーザーID"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("職員の連絡先")
        verbose_name_plural = _("職員の連絡先")

    def __str__(self) -> str:
        return f"{self.user} ({self.team})"
