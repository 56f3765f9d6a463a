"""Residents staff register because they cannot do it themselves (避難行動要支援者), found,
corrected and removed again by staff. Registering records the person's consent
(`alerts.authoring.services.register_for`); removing deletes them as a resident's own
"stop" does (alerts/residents/privacy.py). The audit log keeps who did what to whom, never
the number or the home."""

from __future__ import annotations

import unicodedata

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from alerts.authoring.services import register_for
from alerts.models import Subscriber
from alerts.phones import BadPhoneNumber, to_e164
from alerts.residents import privacy
from disaster.core import audit
from disaster.core.errors import Conflict, Invalid
from disaster.core.geography import District
from disaster.core.models import User

EDITABLE = ("name", "phone", "language", "home", "needs_support", "staff_note")


def find(text: str = "", *, needs_support: bool | None = True) -> QuerySet[Subscriber]:
    """Registered residents by name or number (however the number is written)."""
    found = Subscriber.objects.prefetch_related("districts").select_related("registered_by")
    if needs_support is not None:
        found = found.filter(needs_support=needs_support)
    text = unicodedata.normalize("NFKC", text).strip()
    if text:
        digits = "".join(c for c in text if c.isdigit())
        match = Q(name__icontains=text)
        if len(digits) >= 3:
            match |= Q(phone__contains="81" + digits[1:] if digits.startswith("0") else digits)
        found = found.filter(match)
    return found.order_by("name", "pk")


@transaction.atomic
def register(by: User, *, name: str, **details) -> Subscriber:
    """Register with consent (see register_for), under the name staff will look them up by."""
    subscriber = register_for(by, **details)
    subscriber.name = name.strip()
    subscriber.save(update_fields=["name"])
    return subscriber


def _districts(district_ids: list[int]) -> list[District]:
    districts = list(District.objects.filter(pk__in=district_ids))
    if len(districts) != len(set(district_ids)):
        raise Invalid(fields={"district_ids": _("存在しない地区があります。")})
    return districts


@transaction.atomic
def update(
    by: User,
    subscriber_id: int,
    *,
    name: str,
    phone: str,
    language: str,
    home: tuple[float, float] | None,
    district_ids: list[int],
    needs_support: bool,
    staff_note: str,
) -> Subscriber:
    """Correct a registration; the audit log names the fields changed, not their values."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
    try:
        number = to_e164(phone) if phone.strip() else None
    except BadPhoneNumber as error:
        raise Invalid(fields={"phone": _("電話番号の形式が正しくありません。")}) from error
    if number is None and not subscriber.line_user_id:
        raise Invalid(fields={"phone": _("電話番号を入力してください。")})
    districts = _districts(district_ids)
    point = Point(home[1], home[0], srid=4326) if home else None
    if point is None and not districts:
        raise Invalid(fields={"district_ids": _("住所の位置か地区を指定してください。")})
    before = {name_: getattr(subscriber, name_) for name_ in EDITABLE}
    before_districts = set(subscriber.districts.values_list("pk", flat=True))
    subscriber.name = name.strip()
    if number != subscriber.phone:
        subscriber.phone = number
    subscriber.language = language
    subscriber.home = point
    subscriber.needs_support = needs_support
    subscriber.staff_note = staff_note
    try:
        with transaction.atomic():
            subscriber.save(update_fields=list(EDITABLE))
    except IntegrityError:
        raise Conflict(_("この電話番号はすでに登録されています。")) from None
    subscriber.districts.set(districts)
    changed = [n for n in EDITABLE if before[n] != getattr(subscriber, n)]
    if before_districts != {d.pk for d in districts}:
        changed.append("districts")
    audit.record(by, "subscriber.update", subscriber, after={"changed": changed})
    return subscriber


@transaction.atomic
def remove(by: User, subscriber_id: int) -> None:
    """Delete the resident with everything kept about them, as their own "stop" does."""
    subscriber = Subscriber.objects.get(pk=subscriber_id)
    if subscriber.phone:
        privacy.forget_phone(subscriber.phone)
    if subscriber.line_user_id:
        privacy.forget_line(subscriber.line_user_id)
    Subscriber.objects.filter(pk=subscriber_id).delete()  # reachable by neither: none left
    audit.record(by, "subscriber.remove", target_type="alerts.subscriber", target_id=subscriber_id)
