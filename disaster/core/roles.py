"""Who may do what.

Four kinds of people use Sonae. Administrators and operations staff (災害対策本部) see and
change everything operational; shelter managers (避難所運営) change only the shelters they
are assigned to; residents are anonymous and reach only the public pages and webhooks.
API endpoints declare the roles they admit with `disaster.core.auth.access(...)`; the permission
matrix in the tests reads those declarations and checks every endpoint against every role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from disaster.core.errors import Forbidden, NotAuthenticated

if TYPE_CHECKING:
    pass


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("管理者")
    OPERATIONS = "operations", _("災害対策本部")
    SHELTER_MANAGER = "shelter_manager", _("避難所運営")


STAFF_ROLES = frozenset({Role.ADMINISTRATOR, Role.OPERATIONS})
ALL_ROLES = frozenset(Role)


def role_of(user: Any) -> Role | None:
    """The user's role, or None for anonymous visitors (residents)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return Role(user.role)


def is_staff_role(user: Any) -> bool:
    return role_of(user) in STAFF_ROLES


def check_role(user: Any, allowed: frozenset[Role]) -> None:
    role = role_of(user)
    if role is None:
        raise NotAuthenticated()
    if role not in allowed:
        raise Forbidden(_("この操作の権限がありません。"))
