"""`{% tablet_pages %}`: the pages of the tablet app the service worker keeps for offline use,
as a JSON script element the page hands to it."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString

from disaster.core.roles import is_staff_role
from shelters.models import Shelter

register = template.Library()

# Every page of one shelter (the names of `stockpile/urls.py`, namespace "tablet").
SHELTER_PAGES = [
    ("tablet:shelter", ()),
    ("tablet:stock", ()),
    ("tablet:movement", ("receive",)),
    ("tablet:movement", ("issue",)),
    ("tablet:movement", ("count",)),
    ("tablet:transfers", ()),
    ("tablet:requests", ()),
    ("tablet:sheets", ()),
]


def pages_of(shelter_id: int) -> list[str]:
    return [reverse(name, args=(shelter_id, *args)) for name, args in SHELTER_PAGES]


@register.simple_tag(takes_context=True)
def tablet_pages(context: template.Context) -> SafeString:
    """A manager's own shelters, every page of each; for staff (who may run any of dozens)
    the shelter of this page only."""
    user = context["request"].user
    current = context.get("shelter")
    if is_staff_role(user):
        ids = [current.pk] if current else []
    else:
        ids = list(Shelter.objects.visible_to(user).order_by("pk").values_list("pk", flat=True))
    urls = [reverse("tablet:choose")] + [url for pk in ids for url in pages_of(pk)]
    return json_script(urls, "tablet-pages")
