"""Errors that carry their HTTP meaning, raised by services and turned into the one API
error format (status, code, message, field errors) by `disaster.api`."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = _("リクエストが正しくありません。")

    def __init__(self, message: Any = None, *, fields: dict[str, str] | None = None, **extra):
        self.message = str(message or self.default_message)
        self.fields = fields or {}
        self.extra = extra
        super().__init__(self.message)


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message = _("ログインが必要です。")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _("この操作の権限がありません。")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _("見つかりません。")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _("現在の状態と矛盾する操作です。")


class Invalid(DomainError):
    """A value that is well-formed but not acceptable; `fields` says which and why."""

    status = 422
    code = "validation_error"
    default_message = _("入力内容に誤りがあります。")


def error_response(
    status: int, code: str, message: str, errors: list | None = None, **extra
) -> JsonResponse:
    body = {"status": status, "code": code, "message": message, **extra}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


class TooLarge(DomainError):
    status = 413
    code = "too_large"
    default_message = _("大きすぎます。")


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    default_message = _("この形式には対応していません。")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = _("短時間に送信が多すぎます。しばらくしてからもう一度お試しください。")


def signature_refused() -> JsonResponse:
    """The answer to a webhook whose signature does not verify: nothing was read from it."""
    return JsonResponse({"detail": "invalid signature"}, status=403)


# Seconds a client is asked to wait before trying again when the database is unavailable.
UNAVAILABLE_RETRY_AFTER_S = 5


def database_unavailable(error: BaseException | None) -> bool:
    """PostgreSQL could not be reached or gave up for now: down or restarting, every pooled
    connection busy past DB_POOL_SIZE's timeout, a deadlock, a statement timeout. Such a
    request did not happen and may be sent again (with the same Idempotency-Key): a 503
    with Retry-After, not a 500."""
    return isinstance(error, (OperationalError, InterfaceError))


def unavailable_response() -> JsonResponse:
    response = error_response(
        503,
        "unavailable",
        str(_("一時的に処理できません。しばらくしてからもう一度お試しください。")),
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
    return response
