import logging
import sys
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import server_error as django_server_error

from alerts.delivery import need_help
from alerts.delivery.health import health
from alerts.models import Alert, Subscriber
from disaster.api import api_not_found
from disaster.core.errors import (
    UNAVAILABLE_RETRY_AFTER_S,
    database_unavailable,
    error_response,
    unavailable_response,
)
from disaster.core.limits import too_large
from disaster.core.roles import STAFF_ROLES, Role, role_of
from disaster.reports.models import DamageReport
from shelters.models import Shelter
from stockpile.models import SupplyRequest, Transfer

log = logging.getLogger(__name__)


@dataclass
class Work:
    """One piece of a role's work on the home page: where it is done and what waits there."""

    url: str
    title: str
    what: str
    waiting: str = ""
    some: bool = False  # something is waiting: shown in red


def _manager_work(user) -> list[Work]:
    shelters = Shelter.objects.visible_to(user).with_occupancy().order_by("name", "pk")
    return [
        Work(
            url=reverse("tablet:shelter", args=[shelter.pk]),
            title=shelter.name,
            what=_("状況・人数、在庫、移送、物資要請"),
            waiting=_("%(status)s・避難者 %(n)s 人")
            % {"status": shelter.get_status_display(), "n": shelter.occupancy},
        )
        for shelter in shelters
    ]


def _count(n: int, text: str) -> tuple[str, bool]:
    return (text % {"n": n}, n > 0)


def _staff_work(administrator: bool) -> list[Work]:
    """The operations room's pages, each with the count of what waits there."""
    reports = DamageReport.objects.unresolved().count()
    drafts = Alert.objects.filter(status=Alert.Status.DRAFT).count()
    requests = SupplyRequest.objects.filter(status=SupplyRequest.Status.REQUESTED).count()
    moving = Transfer.objects.filter(status=Transfer.Status.DISPATCHED).count()
    planned = Transfer.objects.filter(status=Transfer.Status.PLANNED).count()
    supported = Subscriber.objects.filter(needs_support=True).count()
    help_waiting = need_help.waiting().count()
    work = [
        Work(
            reverse("maps:ops"),
            _("運用マップ"),
            _("避難所・被害報告・避難情報の状況、被害報告の確認"),
            *_count(reports, _("未解決の被害報告 %(n)s 件")),
        ),
        Work(
            reverse("alerts:ops"),
            _("避難情報"),
            _("下書き、もう一人の確認、承認と送信、配信状況"),
            *_count(drafts, _("確認待ちの下書き %(n)s 件")),
        ),
        Work(
            reverse("stock-ops:requests"),
            _("物資要請"),
            _("避難所からの要請の承認・却下と移送の手配"),
            *_count(requests, _("承認待ち %(n)s 件")),
        ),
        Work(
            reverse("stock-ops:transfers"),
            _("移送"),
            _("不足への移送提案、輸送中の物資"),
            _("輸送中 %(moving)s 件・予定 %(planned)s 件") % {"moving": moving, "planned": planned},
            moving + planned > 0,
        ),
        Work(
            reverse("alerts-ops:residents"),
            _("要支援者の登録"),
            _("自分で登録できない人を本人の同意を得て登録"),
            _("登録 %(n)s 人") % {"n": supported},
        ),
        Work(
            reverse("alerts-ops:need-help"),
            _("要救助の回答"),
            _("安否確認で「助けが必要」と答えた人と連絡の記録"),
            *_count(help_waiting, _("未対応 %(n)s 人")),
        ),
    ]
    if administrator:
        work.append(
            Work(
                reverse("admin:index"),
                _("管理画面"),
                _("利用者と担当避難所、避難所、品目、オープンデータ、監査ログ"),
            )
        )
    return work


def home(request: HttpRequest) -> HttpResponse:
    """Each role's way in: staff see their work with what waits there, a shelter manager
    their shelters, residents the public map and the report form."""
    role = role_of(request.user)
    work: list[Work] = []
    if role in STAFF_ROLES:
        work = _staff_work(administrator=role == Role.ADMINISTRATOR)
    elif role == Role.SHELTER_MANAGER:
        work = _manager_work(request.user)
    return render(
        request,
        "disaster/home.html",
        {
            "role": role,
            "work": work,
            "open_shelters": Shelter.objects.filter(status=Shelter.Status.OPEN).count(),
            "shelters": Shelter.objects.count(),
        },
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """The database, Redis, workers and jobs and the alerts whose sending made no progress
    for a minute (alerts/delivery/health.py); 503 when something is down. Counts only."""
    facts = health()
    return JsonResponse(facts, status=200 if facts["ok"] else 503)


def login_locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """What django-axes answers a login locked out (too many failures for this user from
    this address): the login page again, saying so in the reader's language, with 429."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    context = {"locked_out": True, "minutes": minutes, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields, a
    bad host) answer the API's clients in its error format; a too-large body is a 413."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return error_response(400, "bad_request", _("リクエストが正しくありません。"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """In the page's language, with the way back home (and to the login for a visitor)."""
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return render(request, "404.html", {"role": role_of(request.user)}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """An unexpected error. One of the database being unavailable (down, restarting, its
    pool exhausted) is a 503 with Retry-After instead, in the API's format under /api/ and
    /hooks/ (LINE and Twilio deliver again after a 5xx) and otherwise as a page that reads
    nothing from the database, since it cannot."""
    if not database_unavailable(sys.exc_info()[1]):
        return django_server_error(request)
    log.warning("database unavailable in %s %s", request.method, request.path)
    if request.path.startswith(("/api/", "/hooks/")):
        return unavailable_response()
    page = render_to_string("503.html", {"LANGUAGE_CODE": get_language()})
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
    return response


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A page this role may not use: says whose page it is and leads back to the reader's
    own work, in the page's language (never Django's bare "403 Forbidden")."""
    return render(request, "403.html", {"role": role_of(request.user)}, status=403)
