"""JMA telegrams as received (raw and parsed), the feeds they came from, and the warnings in
force for the city derived from them. Registered with the disaster app through
`disaster/models.py`."""

from __future__ import annotations

import datetime as dt

from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Feed(models.Model):
    """One of JMA's Atom feeds: when it was last read and what it answered, so a poll asks
    `If-Modified-Since` and restarts do not fetch everything again."""

    url = models.URLField(_("URL"), max_length=500, unique=True)
    last_modified = models.CharField(_("Last-Modified"), max_length=100, blank=True)
    polled_at = models.DateTimeField(_("最終取得日時"), null=True, blank=True)
    ok_at = models.DateTimeField(_("最終成功日時"), null=True, blank=True)
    error = models.TextField(_("エラー"), blank=True)

    class Meta:
        verbose_name = _("気象庁フィード")
        verbose_name_plural = _("気象庁フィード")

    def __str__(self) -> str:
        return self.url


class TelegramQuerySet(models.QuerySet):
    def applicable(self):
        """Telegrams that take part in the state: read, and not a drill or a test."""
        return self.filter(outcome=Telegram.Outcome.READ, status="通常")


class Telegram(models.Model):
    """One JMA telegram, kept as received. A telegram that is not XML or not valid against
    JMA's schema is kept too (`refused`, with the reason), so nothing is lost silently."""

    class Outcome(models.TextChoices):
        READ = "read", _("読み取り済み")
        REFUSED = "refused", _("受け付けず")

    entry_id = models.CharField(_("フィードのエントリーID"), max_length=200, blank=True)
    source = models.CharField(_("取得元"), max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, unique=True)
    raw = models.BinaryField(_("電文"))
    received_at = models.DateTimeField(_("受信日時"), default=timezone.now, db_index=True)
    outcome = models.CharField(_("結果"), max_length=10, choices=Outcome.choices)
    error = models.TextField(_("受け付けなかった理由"), blank=True)

    family = models.CharField(_("分類"), max_length=20, blank=True)
    info_kind = models.CharField(_("情報の種類"), max_length=60, blank=True)
    control_title = models.CharField(_("電文の種類"), max_length=100, blank=True)
    title = models.CharField(_("標題"), max_length=200, blank=True)
    status = models.CharField(_("運用種別"), max_length=10, blank=True)  # 通常 / 訓練 / 試験
    info_type = models.CharField(_("発表種別"), max_length=10, blank=True)  # 発表 / 訂正 / 取消
    event_id = models.CharField(_("識別情報"), max_length=100, blank=True)
    serial = models.PositiveIntegerField(_("情報番号"), null=True, blank=True)
    report_at = models.DateTimeField(_("発表日時"), null=True, blank=True)
    publishing_office = models.CharField(_("発表官署"), max_length=200, blank=True)
    headline = models.TextField(_("見出し"), blank=True)
    stream = models.CharField(max_length=300, blank=True, db_index=True)
    order_key = models.CharField(max_length=120, blank=True)
    parsed = models.JSONField(_("読み取り結果"), null=True, blank=True, encoder=DjangoJSONEncoder)
    concerns_city = models.BooleanField(_("市に関係"), default=False, db_index=True)
    # Withdrawn by a later 取消 (the state no longer includes it).
    cancelled_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TelegramQuerySet.as_manager()

    class Meta:
        verbose_name = _("気象庁電文")
        verbose_name_plural = _("気象庁電文")
        ordering = ["-received_at", "-id"]
        constraints = [
            # Deduplicated by event and serial: one telegram per (state, time, serial, type).
            models.UniqueConstraint(
                fields=["stream", "order_key", "info_type", "status"],
                condition=models.Q(outcome="read"),
                name="telegram_once_per_event_serial",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title or self.control_title or self.entry_id} ({self.report_at or '—'})"


class CityWarningQuerySet(models.QuerySet):
    def in_force(self, now=None):
        now = now or timezone.now()
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class CityWarning(models.Model):
    """What JMA says is in force for an area of the city now, from the latest telegram of
    its stream, in JMA's words. Rewritten whenever a telegram changes the stream's state."""

    stream = models.CharField(max_length=300)
    telegram = models.ForeignKey(Telegram, on_delete=models.CASCADE, related_name="warnings")
    family = models.CharField(_("分類"), max_length=20)
    area_code = models.CharField(_("地域コード"), max_length=20)
    area_name = models.CharField(_("地域"), max_length=100)
    name = models.CharField(_("種類"), max_length=100)
    code = models.CharField(_("コード"), max_length=10, blank=True)
    status = models.CharField(_("状態"), max_length=30, blank=True)
    level = models.PositiveSmallIntegerField(_("警戒レベル相当"), null=True, blank=True)
    level_words = models.CharField(_("警戒レベル（気象庁の表記）"), max_length=40, blank=True)
    intensity = models.CharField(_("震度"), max_length=4, blank=True)
    hazards = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    condition = models.CharField(_("細分"), max_length=100, blank=True)
    next_kinds = models.JSONField(_("今後の見通し（気象庁）"), default=list, blank=True)
    text = models.TextField(_("気象庁の文"), blank=True)
    since = models.DateTimeField(_("発表から"))
    updated_at = models.DateTimeField(_("更新日時"))
    # Earthquakes and 記録的短時間大雨情報 are reports, not states: shown for a while.
    expires_at = models.DateTimeField(_("表示の終わり"), null=True, blank=True)

    objects = CityWarningQuerySet.as_manager()

    class Meta:
        verbose_name = _("発表中の警報・注意報")
        verbose_name_plural = _("発表中の警報・注意報")
        ordering = ["-level", "since", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "area_code", "name"], name="city_warning_once_per_stream"
            )
        ]

    def __str__(self) -> str:
        return f"{self.area_name} {self.name}"

    def in_force_at(self, now: dt.datetime) -> bool:
        """This row as `CityWarning.objects.in_force(now)` decides it."""
        return self.expires_at is None or self.expires_at > now
