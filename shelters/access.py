"""Who may run which shelter, as checks for one shelter: `ShelterQuerySet.visible_to` is
the rule, and these ask it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from disaster.core.errors import Forbidden, NotAuthenticated
from disaster.core.roles import role_of
from shelters.models import Shelter


def can_write_shelter(user: Any, shelter_id: int) -> bool:
    """Staff write to every shelter; a shelter manager only to the ones assigned to them."""
    return Shelter.objects.visible_to(user).filter(pk=shelter_id).exists()


def check_shelter_write(user: Any, shelter_id: int) -> None:
    if role_of(user) is None:
        raise NotAuthenticated()
    if not can_write_shelter(user, shelter_id):
        raise Forbidden(_("この避難所を更新する権限がありません。"))
