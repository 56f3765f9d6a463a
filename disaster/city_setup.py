"""Setting a city up from the national open data (DESIGN decision 15), in one go.

The steps, each idempotent and reported (created / updated / unchanged): the N03 boundary,
the GSI 指定避難所 and 指定緊急避難場所 (or a 推奨データセット list), the e-Stat 小地域 as
districts with their population (or derived from their representative points), a depot for
every designated shelter, the standard catalogue, and an administrator account. All in one
transaction: a file refused at any step leaves the database as it was, and a trial run
(`dry_run`) rolls everything back after reporting what it would do.

`manage.py setup_city` and the admin page /admin/setup-city/ both call `setup_city`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from disaster.core import audit, geodata
from disaster.core.errors import Invalid
from disaster.core.geodata import StepReport
from disaster.core.geography import CityBoundary
from disaster.core.models import User
from disaster.core.roles import Role
from shelters import opendata
from shelters.opendata.codes import CodeError, check_digit, repair_local_government_code
from stockpile.catalogue import Counts, create_shelter_depots, load_catalogue

# The administrator's password comes from here when set; otherwise one is made and printed
# once, when the account is created.
ADMIN_PASSWORD_ENV = "SONAE_ADMIN_PASSWORD"  # noqa: S105 (the variable's name)


@dataclass
class CityFiles:
    """The files a city is built from, as bytes (named, for the report)."""

    boundary: bytes
    shelters: list[tuple[str, bytes]] = field(default_factory=list)
    small_areas: bytes | None = None


@dataclass
class SetupResult:
    steps: list[StepReport] = field(default_factory=list)
    dry_run: bool = False
    # Shown once: the password made for a new administrator (None when it came from the
    # environment, or the account already existed).
    admin_password: str | None = None

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)


def _report(step: str, counts: Counts) -> StepReport:
    return StepReport(step, counts.created, counts.updated, counts.unchanged)


def boundary_step(data: bytes) -> tuple[CityBoundary, StepReport]:
    """The N03 boundary, which must be this instance's city (CITY_CODE)."""
    boundary = geodata.read_boundary(data)
    code = boundary.code5 + check_digit(boundary.code5)
    try:
        configured = repair_local_government_code(settings.CITY_CODE)
    except CodeError as e:
        raise Invalid(fields={"boundary": f"CITY_CODE {settings.CITY_CODE}: {e}"}) from e
    if configured != code:
        raise Invalid(
            _("境界ファイルは%(name)s（%(code)s）の境界ですが、CITY_CODE は %(setting)s です。")
            % {"name": boundary.name, "code": code, "setting": settings.CITY_CODE},
            fields={
                "boundary": _(
                    "CITY_CODE=%(code)s CITY_NAME=%(name)s を設定してから実行してください。"
                )
                % {"code": code, "name": boundary.name}
            },
        )
    return geodata.save_boundary(boundary, settings.CITY_CODE, boundary.name)


def shelters_step(name: str, data: bytes, by: User | None = None) -> StepReport:
    """One shelter list (GSI or 推奨データセット), through the open-data import."""
    result = opendata.import_file(data, by=by)
    report = StepReport(
        _("避難所・避難場所（%(file)s）") % {"file": name},
        len(result.created),
        len(result.updated),
        result.unchanged,
    )
    report.notes.append(result.format_label)
    return report


def districts_step(data: bytes, boundary: CityBoundary) -> StepReport:
    """e-Stat 小地域: polygons as districts, or cells derived from the points."""
    return geodata.save_districts(geodata.read_small_areas(data), boundary=boundary)


def administrator_step(username: str, password: str | None) -> tuple[StepReport, str | None]:
    """An administrator account, made once. Returns the password when one was made here
    (to be shown once); an existing account is left as it is."""
    report = StepReport(_("管理者アカウント"))
    user = User.objects.filter(username=username).first()
    if user is not None:
        report.unchanged = 1
        if user.role != Role.ADMINISTRATOR:
            report.notes.append(
                _("%(user)s は既にあり、管理者ではありません（変更していません）。")
                % {"user": username}
            )
        return report, None
    made = None if password else secrets.token_urlsafe(12)
    user = User(username=username, role=Role.ADMINISTRATOR)
    user.set_password(password or made)
    user.save()
    audit.record(None, "user.create", user, after=audit.snapshot(user))
    report.created = 1
    return report, made


def setup_city(
    files: CityFiles,
    *,
    admin_username: str = "admin",
    admin_password: str | None = None,
    dry_run: bool = False,
    by: User | None = None,
    out: Callable[[str], object] | None = None,
) -> SetupResult:
    """Build (or bring up to date) the city from its files, every step reported through
    `out` as it finishes. All or nothing; `dry_run` reports and writes nothing."""
    result = SetupResult(dry_run=dry_run)

    def done(step: StepReport) -> None:
        result.steps.append(step)
        if out is not None:
            out(step.line())
            for note in step.notes:
                out(f"    {note}")

    with transaction.atomic():
        boundary, report = boundary_step(files.boundary)
        done(report)
        for name, data in files.shelters:
            done(shelters_step(name, data, by))
        if files.small_areas is not None:
            done(districts_step(files.small_areas, boundary))
        done(_report(_("備蓄倉庫（指定避難所ごと）"), create_shelter_depots()))
        done(_report(_("品目（国の目安つき）"), load_catalogue()))
        report, result.admin_password = administrator_step(admin_username, admin_password)
        done(report)
        if dry_run:
            result.admin_password = None
            transaction.set_rollback(True)
    return result
