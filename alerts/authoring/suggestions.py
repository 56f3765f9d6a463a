"""What the city suggests doing about a JMA telegram (DESIGN decision 14): suggestions and
drafts, never a sent alert.

After a telegram changed what is in force for the city (`disaster.warnings`), the city's
rule table (`SuggestionRule`, edited in the admin) is matched against the warnings in force
of the telegram's stream. A rule that matches and has no live suggestion for that stream
makes one, showing the telegram that caused it: a staffing level, calling up the teams of
that level, shelters to open for the hazard, an alert drafted by the machine (it goes
through the same two-person approval as any alert: one staff member adopts it, another
approves it), an incident for an earthquake. A rule that no longer matches — the warning
was lifted (解除) or the telegram cancelled (取消) — withdraws its open suggestion and
withdraws the machine's draft if nobody has sent it.

Texts relay JMA's words (kind, area, level, time) and add the city's own action; they never
forecast (気象業務法).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from alerts.authoring import services
from alerts.callup import services as callup
from alerts.models import Alert, Channel, Suggestion, SuggestionRule
from disaster.core import audit
from disaster.core import services as core_services
from disaster.core.errors import Conflict, Invalid, NotFound
from disaster.core.events import publish
from disaster.core.models import Staffing, User
from disaster.warnings.models import CityWarning, Telegram
from disaster.warnings.parsing import intensity_rank
from shelters import services as shelter_services
from shelters.models import Hazard, Shelter

# Short hazard words for titles (an SMS title must fit one message).
HAZARD_WORDS = {
    Hazard.FLOOD: ("洪水", "flood"),
    Hazard.LANDSLIDE: ("土砂災害", "landslide"),
    Hazard.INLAND_FLOODING: ("浸水", "inundation"),
    Hazard.STORM_SURGE: ("高潮", "storm surge"),
    Hazard.EARTHQUAKE: ("地震", "earthquake"),
}
# The actions of the evacuation levels, in the national guideline's words (避難情報に関する
# ガイドライン, 内閣府): the city's decision, not JMA's.
ACTIONS = {
    Alert.Kind.EVACUATION_3: (
        "高齢者等避難",
        "高齢者など避難に時間のかかる方は、危険な場所から避難してください。",
        "Elderly and others evacuate",
        "Older people and others who need time to evacuate: leave dangerous places now.",
    ),
    Alert.Kind.EVACUATION_4: (
        "避難指示",
        "危険な場所から全員避難してください。",
        "Evacuate",
        "Everyone: evacuate from dangerous places.",
    ),
    Alert.Kind.EVACUATION_5: (
        "緊急安全確保",
        "命の危険があります。直ちに身の安全を確保してください。",
        "Emergency safety",
        "Your life is in danger. Take the safest action immediately.",
    ),
}


def matches(rule: SuggestionRule, warning: CityWarning) -> bool:
    """Whether every condition the rule gives holds for the warning."""
    if rule.family and warning.family != rule.family:
        return False
    if rule.kind_contains and rule.kind_contains not in warning.name:
        return False
    if rule.min_level and (warning.level or 0) < rule.min_level:
        return False
    if rule.max_level and (warning.level or 0) > rule.max_level:
        return False
    if rule.min_intensity and intensity_rank(warning.intensity) < intensity_rank(
        rule.min_intensity
    ):
        return False
    if rule.max_intensity and intensity_rank(warning.intensity) > intensity_rank(
        rule.max_intensity
    ):
        return False
    return not rule.hazard or rule.hazard in warning.hazards


def jma_words(warning: CityWarning) -> str:
    """What JMA said, as it said it: the kind and area, the level it states, the time."""
    at = timezone.localtime(warning.since).strftime("%m/%d %H:%M")
    if warning.intensity:
        about = f"（{warning.text}）" if warning.text else ""
        return f"{warning.area_name}で{warning.name}{about} {at} 気象庁発表"
    level = f"（{warning.level_words}）" if warning.level_words else ""
    return f"{warning.area_name}に{warning.name}{level} {at} 気象庁発表"


def _draft_texts(rule: SuggestionRule, warning: CityWarning, hazard: str) -> dict[str, str]:
    title_ja, action_ja, title_en, action_en = ACTIONS[Alert.Kind(rule.alert_kind)]
    ja_word, en_word = HAZARD_WORDS.get(Hazard(hazard), ("", "")) if hazard else ("", "")
    return {
        "title_ja": f"{title_ja}（{ja_word}）" if ja_word else title_ja,
        "body_ja": f"{settings.CITY_NAME}: {action_ja}\n気象庁の発表: {jma_words(warning)}",
        # No hazard word in English titles: with the city's name in kanji the SMS is UCS-2.
        "title_en": title_en,
        "body_en": f"{action_en} ({en_word})\nJMA (in Japanese): {jma_words(warning)}"
        if en_word
        else f"{action_en}\nJMA (in Japanese): {jma_words(warning)}",
    }


def _machine_draft(rule: SuggestionRule, warning: CityWarning, incident_id: int | None) -> Alert:
    """The alert the rule drafts, by nobody: a person must adopt it before another approves."""
    hazard = rule.shelters_for or rule.hazard
    draft = services.Draft(
        kind=rule.alert_kind,
        texts=_draft_texts(rule, warning, hazard),
        channels=[Channel.LINE, Channel.SMS],
        whole_city=rule.alert_whole_city,
        district_ids=list(rule.alert_districts.values_list("pk", flat=True)),
        hazard=hazard,
        incident_id=incident_id,
    )
    try:
        with transaction.atomic():
            return services.draft_alert(None, draft)
    except Invalid:
        draft.channels = [Channel.LINE]  # a title too long for one SMS: LINE only, for staff to fix
        return services.draft_alert(None, draft)


def _shelters_to_open(hazard: str) -> list[int]:
    if not hazard:
        return []
    return list(
        Shelter.objects.filter(
            is_shelter=True, status=Shelter.Status.CLOSED, hazards__contains=[hazard]
        ).values_list("pk", flat=True)[:50]
    )


def suggestion_payload(suggestion: Suggestion) -> dict[str, Any]:
    """A suggestion as the panel shows it (no personal data)."""
    alert = suggestion.alert
    telegram = suggestion.telegram
    shelters = Shelter.objects.filter(pk__in=suggestion.shelter_ids).order_by("name")
    return {
        "id": suggestion.pk,
        "status": suggestion.status,
        "summary": suggestion.summary,
        "rule": suggestion.rule.name if suggestion.rule else "",
        "telegram": {
            "id": telegram.pk,
            "title": telegram.title,
            "report_at": telegram.report_at.isoformat() if telegram.report_at else None,
        },
        "staffing": suggestion.staffing,
        "staffing_label": str(Staffing(suggestion.staffing).label) if suggestion.staffing else "",
        "call_up": suggestion.call_up,
        "called_up_at": suggestion.called_up_at.isoformat() if suggestion.called_up_at else None,
        "hazard": suggestion.hazard,
        "shelters": [{"id": s.pk, "name": s.name, "status": s.status} for s in shelters],
        "shelters_opened_at": suggestion.shelters_opened_at.isoformat()
        if suggestion.shelters_opened_at
        else None,
        "alert": None
        if alert is None
        else {
            "id": alert.pk,
            "kind": alert.kind,
            "status": alert.status,
            "title": alert.title_ja,
            "version": alert.version,
            "adopted": alert.drafted_by_id is not None,
        },
        "incident": None
        if suggestion.incident is None
        else {"id": suggestion.incident.pk, "name": suggestion.incident.name},
        "reason": suggestion.reason,
        "created_at": suggestion.created_at.isoformat(),
    }


def _announce(suggestion: Suggestion) -> None:
    publish("suggestion.changed", suggestion_payload(suggestion))


def _suggest(rule: SuggestionRule, warning: CityWarning, stream: str) -> Suggestion:
    incident = None
    with translation.override(settings.LANGUAGE_CODE):
        if rule.incident_kind:
            name = f"{jma_words(warning)}（{rule.name}）"[:200]
            incident = core_services.declare_incident(None, name=name, kind=rule.incident_kind)
        alert = (
            _machine_draft(rule, warning, incident.pk if incident else None)
            if rule.alert_kind
            else None
        )
    hazard = rule.shelters_for or rule.hazard
    suggestion = Suggestion.objects.create(
        rule=rule,
        telegram=warning.telegram,
        stream=stream,
        summary=jma_words(warning)[:300],
        staffing=rule.staffing,
        call_up=rule.call_up,
        hazard=hazard,
        shelter_ids=_shelters_to_open(rule.shelters_for),
        alert=alert,
        incident=incident,
    )
    audit.record(None, "suggestion.create", suggestion, after={"rule": rule.name})
    _announce(suggestion)
    return suggestion


def _withdraw(suggestion: Suggestion, reason: str) -> None:
    suggestion.status, suggestion.reason = Suggestion.Status.WITHDRAWN, reason
    suggestion.save(update_fields=["status", "reason"])
    alert = suggestion.alert
    if alert is not None and alert.status == Alert.Status.DRAFT:
        services.cancel_draft(None, alert.pk)
    audit.record(None, "suggestion.withdraw", suggestion, after={"reason": reason})
    _announce(suggestion)


@transaction.atomic
def act_on(telegram_id: int) -> list[Suggestion]:
    """Match the rules against what is in force in the telegram's stream now: suggest for
    new matches, withdraw open suggestions that no longer match. Run by the worker after
    each applied telegram (alerts.jobs.act_on_telegram); running it again changes nothing."""
    telegram = Telegram.objects.filter(pk=telegram_id).first()
    if telegram is None:
        return []
    stream = telegram.stream
    in_force = list(CityWarning.objects.in_force().filter(stream=stream).select_related("telegram"))
    made = []
    for rule in SuggestionRule.objects.filter(active=True).order_by("pk"):
        matched = [w for w in in_force if matches(rule, w)]
        live = (
            Suggestion.objects.select_for_update()
            .filter(rule=rule, stream=stream)
            .exclude(status__in=[Suggestion.Status.WITHDRAWN, Suggestion.Status.DISMISSED])
            .first()
        )
        if matched and live is None:
            made.append(
                _suggest(rule, max(matched, key=lambda w: (w.level or 0, w.intensity)), stream)
            )
        elif not matched and live is not None and live.status == Suggestion.Status.OPEN:
            cancelled = Telegram.objects.filter(pk=live.telegram_id, cancelled_by__isnull=False)
            _withdraw(
                live, _("気象庁が取り消しました") if cancelled.exists() else _("解除されました")
            )
    return made


def _open(suggestion_id: int) -> Suggestion:
    suggestion = Suggestion.objects.select_for_update().filter(pk=suggestion_id).first()
    if suggestion is None:
        raise NotFound()
    if suggestion.status != Suggestion.Status.OPEN:
        raise Conflict(_("この提案は対応済みか取り下げられています。"), status=suggestion.status)
    return suggestion


def _maybe_done(suggestion: Suggestion) -> None:
    alert = suggestion.alert
    pending = [
        suggestion.call_up and suggestion.called_up_at is None,
        bool(suggestion.shelter_ids) and suggestion.shelters_opened_at is None,
        alert is not None and alert.status == Alert.Status.DRAFT and alert.drafted_by_id is None,
    ]
    if not any(pending):
        suggestion.status = Suggestion.Status.DONE
        suggestion.save(update_fields=["status"])


@transaction.atomic
def open_shelters(by: User, suggestion_id: int) -> Suggestion:
    """Set the suggested shelters that are still closed to 開設準備 (preparing)."""
    suggestion = _open(suggestion_id)
    for shelter in Shelter.objects.filter(
        pk__in=suggestion.shelter_ids, status=Shelter.Status.CLOSED
    ):
        note = _("気象庁の発表による提案 #%(id)s") % {"id": suggestion.pk}
        shelter_services.change_status(
            shelter.pk, status=Shelter.Status.PREPARING, by=by, note=note
        )
    suggestion.shelters_opened_at, suggestion.decided_by = timezone.now(), by
    suggestion.save(update_fields=["shelters_opened_at", "decided_by"])
    audit.record(
        by, "suggestion.open_shelters", suggestion, after={"shelters": suggestion.shelter_ids}
    )
    _maybe_done(suggestion)
    _announce(suggestion)
    return suggestion


@transaction.atomic
def adopt(by: User, suggestion_id: int, version: int | None) -> Suggestion:
    """A staff member takes the machine's draft as theirs (they read `version`); another
    staff member then approves it on the alerts page."""
    suggestion = _open(suggestion_id)
    if suggestion.alert is None:
        raise Conflict(_("この提案には避難情報の下書きがありません。"))
    suggestion.alert = services.adopt_draft(by, suggestion.alert.pk, version)
    suggestion.decided_by = by
    suggestion.save(update_fields=["decided_by"])
    _maybe_done(suggestion)
    _announce(suggestion)
    return suggestion


@transaction.atomic
def dismiss(by: User, suggestion_id: int) -> Suggestion:
    """見送り: nothing more is done for this suggestion; the machine's draft is withdrawn."""
    suggestion = _open(suggestion_id)
    suggestion.status, suggestion.decided_by = Suggestion.Status.DISMISSED, by
    suggestion.save(update_fields=["status", "decided_by"])
    if suggestion.alert is not None and suggestion.alert.status == Alert.Status.DRAFT:
        services.cancel_draft(by, suggestion.alert.pk)
    audit.record(by, "suggestion.dismiss", suggestion)
    _announce(suggestion)
    return suggestion


@transaction.atomic
def call_up(by: User, suggestion_id: int) -> Suggestion:
    """Call up the teams of the suggested staffing level (alerts.callup)."""
    suggestion = _open(suggestion_id)
    if not suggestion.staffing:
        raise Conflict(_("この提案には配備体制がありません。"))
    callup.call_up(by, suggestion.staffing, suggestion=suggestion, note=suggestion.summary)
    suggestion.called_up_at, suggestion.decided_by = timezone.now(), by
    suggestion.save(update_fields=["called_up_at", "decided_by"])
    _maybe_done(suggestion)
    _announce(suggestion)
    return suggestion


def open_suggestions() -> list[dict[str, Any]]:
    """Open suggestions and those decided in the last day, newest first, for the panel."""
    since = timezone.now() - dt.timedelta(days=1)
    found = (
        Suggestion.objects.filter(created_at__gte=since)
        | Suggestion.objects.filter(status=Suggestion.Status.OPEN)
    ).select_related("alert", "telegram", "incident", "rule")
    return [suggestion_payload(s) for s in found.order_by("-created_at", "-id")[:20]]
