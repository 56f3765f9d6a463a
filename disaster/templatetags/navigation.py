"""`{% site_sections %}`: the pages of the signed-in person's work, for the header of every
page. One list for every role, so a page a role cannot use is never offered to it (a
shelter manager is not led to /ops/ to meet a 403)."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from disaster.core import languages
from disaster.core.roles import STAFF_ROLES, Role, role_of

register = template.Library()

ANONYMOUS = None
STAFF = tuple(STAFF_ROLES)
ADMIN = (Role.ADMINISTRATOR,)
MANAGER = (Role.SHELTER_MANAGER,)
EVERYONE_SIGNED_IN = (*STAFF, *MANAGER)


@dataclass(frozen=True)
class Section:
    url_name: str
    label: object  # a lazy translation
    roles: tuple  # the roles it is offered to; (ANONYMOUS,) for residents


SECTIONS = [
    Section("maps:ops", _("運用マップ"), STAFF),
    Section("alerts:ops", _("避難情報"), STAFF),
    Section("stock-ops:requests", _("物資要請"), STAFF),
    Section("stock-ops:transfers", _("移送"), STAFF),
    Section("alerts-ops:residents", _("要支援者の登録"), STAFF),
    Section("alerts-ops:need-help", _("要救助の回答"), STAFF),
    Section("tablet:choose", _("避難所の業務"), MANAGER),
    Section("maps:public", _("避難所マップ"), (ANONYMOUS,)),
    Section("maps:report", _("被害の報告"), (ANONYMOUS,)),
    Section("account:tokens", _("APIトークン"), EVERYONE_SIGNED_IN),
    Section("admin:index", _("管理画面"), ADMIN),
]


def sections_for(user) -> list[dict]:
    """The sections offered to this user, each with its URL."""
    role = role_of(user)
    return [
        {"url": reverse(section.url_name), "label": section.label, "name": section.url_name}
        for section in SECTIONS
        if role in section.roles
    ]


@register.inclusion_tag("disaster/sections.html", takes_context=True)
def site_sections(context: template.Context) -> dict:
    request = context["request"]
    links = sections_for(request.user)
    # The section this page belongs to: the longest URL that starts the page's path.
    current = max(
        (link["url"] for link in links if request.path.startswith(link["url"])),
        key=len,
        default=None,
    )
    for link in links:
        link["current"] = link["url"] == current
    return {"links": links}


@register.simple_tag(takes_context=True)
def language_choices(context: template.Context) -> list[tuple[str, str]]:
    """The language menu's choices: the staff languages once signed in, the residents'
    otherwise (disaster/core/languages.py)."""
    request = context.get("request")
    return languages.choices(getattr(request, "user", None))
