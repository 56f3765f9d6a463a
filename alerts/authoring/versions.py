"""An alert's versions: two people agree on the text, not on a row (DESIGN decision 11).

Every edit of a draft stores the whole reviewed content (kind, level, hazard, texts per
language, target, channels, safety check, validity, drill) as a new numbered version with
who made it. An approval names the version its approver read; it is refused when the
draft has changed since, and refused to anyone who made any version of the alert, so the
text that goes out is one that a person who did not write any of it has read.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.models import Alert, AlertVersion, Language, text_field_suffix
from disaster.core import audit
from disaster.core.errors import Conflict, DomainError, Forbidden
from disaster.core.models import User

TEXT_FIELDS = [
    f"{part}_{text_field_suffix(language)}"
    for language in Language.values
    for part in ("title", "body")
]

# What a reviewer reads, in the order the page and the diff list it.
REVIEWED = [
    "msg_type",
    "references_id",
    "kind",
    "is_drill",
    "hazard",
    "incident_id",
    *TEXT_FIELDS,
    "whole_city",
    "district_ids",
    "area",
    "channels",
    "asks_safety",
    "valid_minutes",
]


class VersionRequired(DomainError):
    """An approval that does not say which version its approver read (RFC 6585's 428)."""

    status = 428
    code = "version_required"
    default_message = gettext_lazy(
        "承認する版を指定してください（If-Match ヘッダーまたは version）。"
    )


class VersionChanged(Conflict):
    code = "version_changed"


class FourEyes(Forbidden):
    code = "four_eyes"


def content_of(alert: Alert) -> dict[str, Any]:
    """What is reviewed of `alert`, JSON-ready (also used on the migration's historical model,
    so only plain field access)."""
    plain = [name for name in REVIEWED if name not in {"channels", "district_ids", "area"}]
    content = {name: getattr(alert, name) for name in plain}
    content["channels"] = list(alert.channels)
    content["district_ids"] = sorted(alert.districts.values_list("pk", flat=True))
    content["area"] = json.loads(alert.area.geojson) if alert.area is not None else None
    return content


def label(field: str) -> str:
    """The field's name for people, in the active language."""
    name = {"district_ids": "districts"}.get(field, field)
    return str(getattr(Alert._meta.get_field(name), "verbose_name", name))


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each reviewed field whose value differs between two versions' contents (none for the
    first version, which has nothing before it)."""
    if before is None:
        return []
    return [
        {"field": name, "label": label(name), "before": before.get(name), "after": after.get(name)}
        for name in REVIEWED
        if before.get(name) != after.get(name)
    ]


def history(alert: Alert) -> list[dict[str, Any]]:
    """Every version of the alert, oldest first, with what changed from the one before."""
    found = list(alert.versions.all())
    return [
        {
            "number": version.number,
            "made_by": version.made_by.get_username() if version.made_by else None,
            "made_at": version.made_at,
            "content": version.content,
            "changes": changes(before.content if before else None, version.content),
            "send_backs": list(version.send_backs.all()),
        }
        for before, version in zip([None, *found], found, strict=False)
    ]


def record(by: User | None, alert: Alert, action: str) -> AlertVersion | None:
    """Store the saved alert's content as its next version, made by `by`, and write it to the
    audit log as `alert.<action>`. An edit that changes nothing makes no version (and so
    makes nobody an editor)."""
    content = content_of(alert)
    last = alert.versions.order_by("-number").first()
    if last is not None and last.content == content:
        return None
    number = (last.number if last else 0) + 1
    version = AlertVersion.objects.create(alert=alert, number=number, made_by=by, content=content)
    Alert.objects.filter(pk=alert.pk).update(version=number)
    alert.version = number
    audit.record(
        by,
        f"alert.{action}",
        alert,
        before=last.content if last else None,
        after={"version": number, **content},
    )
    return version


def editor_ids(alert: Alert) -> set[int]:
    """Everyone who made a version of the alert (its drafter included). Reads prefetched
    versions when the caller prefetched them (the API's lists)."""
    made = {version.made_by_id for version in alert.versions.all()} | {alert.drafted_by_id}
    return {pk for pk in made if pk is not None}


def may_approve(user: User, alert: Alert) -> bool:
    """Whether `user` may approve the alert as it is now: a draft none of whose versions they
    made, or a drill, which its drafter may approve."""
    draft = alert.status == Alert.Status.DRAFT
    return draft and (alert.is_drill or user.pk not in editor_ids(alert))


def current(alert: Alert, named: int | None) -> AlertVersion:
    """The alert's current version, if `named` is it and the alert still says exactly that;
    else 428 (no version named) or 409 saying what changed since the named version."""
    if named is None:
        raise VersionRequired()
    latest = alert.versions.order_by("-number").first()
    if latest is None or not 1 <= named <= latest.number:
        raise VersionChanged(
            _("版 %(named)s はありません（現在は版 %(current)s）。")
            % {"named": named, "current": alert.version},
            version=alert.version,
            changed=[],
        )
    now = content_of(alert)
    if named == latest.number and now == latest.content:
        return latest
    read = alert.versions.filter(number=named).first()
    changed = changes(read.content if read else {}, now)
    makers = (
        alert.versions.filter(number__gt=named)
        .exclude(made_by=None)
        .values_list("made_by__username", flat=True)
    )
    raise VersionChanged(
        _(
            "版 %(named)s を確認した後に変更されました（現在は版 %(current)s、"
            "変わった項目: %(fields)s）。最新の内容を確認してください。"
        )
        % {
            "named": named,
            "current": latest.number,
            "fields": _("、").join(c["label"] for c in changed) or "—",
        },
        version=latest.number,
        changed=[c["field"] for c in changed],
        changed_by=sorted(set(makers)),
    )
