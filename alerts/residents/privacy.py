"""What we hold about a resident, said to them on request, and deleted on request (DESIGN
decision 9): by LINE (the "my data" menu, stop, unfollow or block) or by SMS (DATA, STOP).

Deleting a resident removes the subscriber (with their deliveries and safety answers), any
pending confirmation code, the pieces of a report not yet sent, their rate-limit counters,
and their link to the damage reports they sent: the reports themselves stay, since they
are about a place, not a person, but no longer say who sent them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, Func, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import (
    LineConversation,
    PendingPhoto,
    PhoneConfirmation,
    SeenLineEvent,
    Subscriber,
)
from alerts.residents import line_reports
from disaster.core.idempotency import forget_about
from disaster.core.models import RateWindow
from disaster.core.ratelimit import sender_key
from disaster.reports import services as reports
from disaster.reports.models import DamageReport, ReportPhoto


def _unlink_reports(reports_sent, contact: str) -> None:
    """The reports stay (they are about a place), without who sent them: no contact, no
    sender key, and no original photo (it may say where the sender stood, or their phone):
    only the copy without metadata everyone else sees."""
    photos = ReportPhoto.objects.filter(report__in=reports_sent)
    for photo in photos.exclude(original=""):
        photo.original.delete(save=False)
        photo.save(update_fields=["original"])
    forget_about(*(f"report:{pk}" for pk in reports_sent.values_list("pk", flat=True)))
    reports_sent.update(reporter_contact="", client_key="")
    # Keys of public-form senders are keyed hashes too; ours is the one for this contact.
    DamageReport.objects.filter(client_key=reports.client_key(contact)).update(client_key="")


def _delete_subscribers(subscribers) -> int:
    """Delete them, and the answers kept for replays that hold their number, home and notes
    (a staff registration's, disaster.core.idempotency)."""
    forget_about(*(f"subscriber:{pk}" for pk in subscribers.values_list("pk", flat=True)))
    deleted, _counts = subscribers.delete()
    return deleted


def forget_line(user_id: str) -> None:
    # The conversation first: the home-location path locks it before the subscriber, and
    # taking them in the same order cannot deadlock.
    LineConversation.objects.filter(line_user_id=user_id).delete()
    _delete_subscribers(Subscriber.objects.filter(line_user_id=user_id))
    RateWindow.objects.filter(key=sender_key("line", user_id)).delete()
    contact = line_reports.contact(user_id)
    _unlink_reports(DamageReport.objects.filter(reporter_contact=contact), contact)


def forget_phone(phone: str) -> bool:
    """Everything about a number (E.164), including the reports sent from the web form
    with it as the contact, however it was written there."""
    deleted = _delete_subscribers(Subscriber.objects.filter(phone=phone))
    PhoneConfirmation.objects.filter(phone=phone).delete()
    RateWindow.objects.filter(key=sender_key("sms", phone)).delete()
    digits = phone.lstrip("+")
    written = {digits, "0" + digits[2:]} if digits.startswith("81") else {digits}
    sent = DamageReport.objects.annotate(
        digits=Func(
            F("reporter_contact"), Value(r"\D"), Value(""), Value("g"), function="regexp_replace"
        )
    ).filter(digits__in=written)
    _unlink_reports(DamageReport.objects.filter(pk__in=sent.values("pk")), phone)
    return bool(deleted)


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d")


def line_summary(user_id: str) -> str:
    """Everything we keep about a LINE user, in their words."""
    subscriber = Subscriber.objects.filter(line_user_id=user_id).first()
    reports_sent = DamageReport.objects.filter(
        reporter_contact=line_reports.contact(user_id)
    ).values_list("pk", flat=True)
    lines = [_("登録されている情報:")]
    if subscriber is None:
        lines.append(_("避難情報の受信登録はありません。"))
    else:
        lines += [
            _("言語: %(language)s") % {"language": subscriber.get_language_display()},
            _("地区: %(districts)s")
            % {"districts": "、".join(d.name for d in subscriber.districts.all()) or "-"},
            _("自宅の位置: %(home)s") % {"home": _("登録あり") if subscriber.home else "-"},
            _("登録日: %(date)s（%(how)s）")
            % {
                "date": _when(subscriber.consented_at),
                "how": Subscriber.ConsentMethod(subscriber.consent_method).label,
            },
            _("安否確認の回答: %(count)s件") % {"count": subscriber.safety_answers.count()},
        ]
    numbers = ", ".join(f"No.{pk}" for pk in reports_sent) or "-"
    lines.append(_("送った被害報告: %(numbers)s") % {"numbers": numbers})
    lines.append(_("「データを削除」で、これらをすべて削除します。"))
    return "\n".join(lines)


def phone_summary(phone: str) -> str:
    """What we keep about a number, short enough for one SMS."""
    subscriber = Subscriber.objects.filter(phone=phone).first()
    if subscriber is None:
        return _("この番号の登録はありません。")
    districts = "、".join(d.name for d in subscriber.districts.all()) or "-"
    return _("登録%(date)s 地区:%(districts)s 言語:%(language)s 削除はSTOP") % {
        "date": _when(subscriber.consented_at),
        "districts": districts,
        "language": subscriber.language,
    }


# LINE redelivers an event for at most a day; a rate window lasts a minute.
SEEN_EVENTS_KEPT = dt.timedelta(days=1)
RATE_WINDOWS_KEPT = dt.timedelta(hours=1)


def forget_stale() -> dict[str, int]:
    """Delete what residents' messages left behind once it can no longer be used."""
    now = timezone.now()
    pieces = dt.timedelta(minutes=settings.RESIDENT_PIECES_MINUTES)
    _total, conversations = LineConversation.objects.filter(updated_at__lt=now - pieces).delete()
    events, _counts = SeenLineEvent.objects.filter(at__lt=now - SEEN_EVENTS_KEPT).delete()
    windows, _counts = RateWindow.objects.filter(started_at__lt=now - RATE_WINDOWS_KEPT).delete()
    return {
        "conversations": conversations.get(LineConversation._meta.label, 0),
        "photos": conversations.get(PendingPhoto._meta.label, 0),
        "events": events,
        "rate_windows": windows,
    }
