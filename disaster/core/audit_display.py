"""The audit log in words for the administrators' pages: who (their name), what (the action
in Japanese), to what (the object's name), and each field changed with its label and its
value as people know it (a choice's label, a user's or shelter's name, never a bare id or
JSON). The log itself keeps raw values (disaster/core/audit.py); this only reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from disaster.core.models import AuditEntry

# What each action is called; an action not listed shows as its code.
ACTIONS: dict[str, Any] = {
    "add": _("追加"),
    "change": _("変更"),
    "delete": _("削除"),
    "relations": _("関連の変更"),
    "user.shelters": _("担当する避難所の変更"),
    "token.create": _("APIトークンの作成"),
    "token.revoke": _("APIトークンの失効"),
    "transfer.plan": _("移送の計画"),
    "transfer.dispatch": _("移送の発送"),
    "transfer.receive": _("移送の受領"),
    "transfer.cancel": _("移送の取消"),
    "supply_request.create": _("物資要請"),
    "supply_request.approved": _("物資要請の承認"),
    "supply_request.rejected": _("物資要請の却下"),
    "supply_request.cancelled": _("物資要請の取下げ"),
    "supply_request.fulfilled": _("物資要請の充足"),
    "shelter.status": _("避難所の開設状況"),
    "shelter.correct": _("避難所の情報の訂正"),
    "shelter.import": _("オープンデータの取込"),
    "headcount.record": _("避難者数の記録"),
    "stock.count_sheet": _("在庫表（棚卸）の取込"),
    "subscriber.register": _("要支援者の代理登録"),
    "subscriber.update": _("受信登録の変更"),
    "subscriber.remove": _("受信登録の削除"),
    "delivery.view": _("受信者ごとの配信の閲覧"),
    "delivery.export": _("受信者ごとの配信の書き出し"),
    "need_help.view": _("要救助の一覧の閲覧"),
    "safety_answer.reached": _("要救助者への連絡の記録"),
}
SEPARATOR = pgettext_lazy("list separator", "、")
# Fields never shown as values (secrets; the audit never holds them anyway).
HIDDEN = {"password", "key_hash"}


@dataclass
class Change:
    label: str
    before: str
    after: str


def action_label(action: str) -> str:
    """ "shelter.change" → "避難所: 変更"; a known action by its own name."""
    if action in ACTIONS:
        return str(ACTIONS[action])
    model, _dot, verb = action.rpartition(".")
    if verb in ACTIONS and model:
        found = next((m for m in apps.get_models() if m._meta.model_name == model), None)
        name = found._meta.verbose_name if found else model
        return f"{name}: {ACTIONS[verb]}"
    return action


def model_of(entry: AuditEntry) -> type[models.Model] | None:
    try:
        return apps.get_model(entry.target_type)
    except (LookupError, ValueError):
        return None


def target_label(entry: AuditEntry) -> str:
    """The object's type and name as it is now (or as it was, for a deleted one)."""
    model = model_of(entry)
    kind = str(model._meta.verbose_name) if model else entry.target_type
    if not entry.target_id:
        return kind
    obj = model._default_manager.filter(pk=entry.target_id).first() if model else None
    if obj is None:
        kept = (entry.before or {}).get("name") or (entry.after or {}).get("name")
        return f"{kind} {kept or '#' + entry.target_id}"
    return f"{kind} {obj}"


def _field(model: type[models.Model] | None, name: str) -> Any:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        for candidate in model._meta.get_fields():
            if getattr(candidate, "attname", None) == name:
                return candidate
    return None


def _names(model: type[models.Model], ids: list) -> str:
    found = {str(o.pk): str(o) for o in model._default_manager.filter(pk__in=ids)}
    return str(SEPARATOR).join(found.get(str(i), f"#{i}") for i in ids) or "—"


def value_text(field: Any, value: Any) -> str:
    """A stored value as people read it."""
    if value is None or value == "" or value == []:
        return "—"
    if field is not None and field.is_relation and field.related_model is not None:
        related = field.related_model
        return _names(related, value if isinstance(value, list) else [value])
    if field is not None and field.choices:
        labels = dict(field.flatchoices)
        if isinstance(value, list):
            return str(SEPARATOR).join(str(labels.get(v, v)) for v in value)
        return str(labels.get(value, value))
    if isinstance(value, list) and field is not None:
        base = getattr(field, "base_field", None)
        if base is not None and base.choices:
            labels = dict(base.flatchoices)
            return str(SEPARATOR).join(str(labels.get(v, v)) for v in value)
    if isinstance(value, bool):
        return str(_("はい") if value else _("いいえ"))
    if isinstance(value, dict) and "coordinates" in value:
        if value.get("type") == "Point":
            lon, lat = value["coordinates"][:2]
            return f"{lat:.5f}, {lon:.5f}"
        return str(_("（区域の形）"))
    if isinstance(value, list):
        return str(SEPARATOR).join(str(v) for v in value)
    return str(value)


def changes(entry: AuditEntry) -> list[Change]:
    """Each field the entry changed (or set, or removed), labelled, before and after."""
    model = model_of(entry)
    before, after = entry.before or {}, entry.after or {}
    rows = []
    for name in list(dict.fromkeys([*before, *after])):
        if name in HIDDEN:
            continue
        old, new = before.get(name), after.get(name)
        if entry.before is not None and entry.after is not None and old == new:
            continue
        if name == "id":
            continue  # the object is named beside the changes already
        field = _field(model, name)
        shown = Change(_label(field, name), value_text(field, old), value_text(field, new))
        if shown.before != shown.after:  # empty before and after says nothing
            rows.append(shown)
    return rows


def _label(field: Any, name: str) -> str:
    """A field's own name; a reverse relation (a user's managed shelters) by what it holds."""
    if field is None:
        return name
    if hasattr(field, "verbose_name"):
        return str(field.verbose_name)
    if getattr(field, "related_model", None) is not None:
        return str(field.related_model._meta.verbose_name_plural)
    return name


def summary(entry: AuditEntry, limit: int = 4) -> str:
    """The fields changed, for one line of the list."""
    rows = changes(entry)
    text = str(SEPARATOR).join(f"{c.label}: {c.before} → {c.after}" for c in rows[:limit])
    return text + (" …" if len(rows) > limit else "")


def depot_of(entry: AuditEntry) -> int | None:
    """The depot a stock entry concerns (a transfer's ends, a count sheet's depot), for the
    link to its ledger; None for anything else."""
    if entry.target_type == "stockpile.depot" and entry.target_id.isdigit():
        return int(entry.target_id)
    values = {**(entry.before or {}), **(entry.after or {})}
    for name in ("depot_id", "to_depot_id", "from_depot_id"):
        if isinstance(values.get(name), int):
            return values[name]
    return None
