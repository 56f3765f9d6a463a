"""The JSON API root: `/api/v1/…`, documented at `/api/docs`.

One error format for the whole API:

    {"status": 422, "code": "validation_error", "message": "…",
     "errors": [{"field": "quantity", "message": "…", "type": "greater_than"}]}

`errors` appears for 422 only. Anything a service raises as a `DomainError` keeps its
status and code; ninja's own errors are mapped here; nothing a client sends can make a 500.
"""

from __future__ import annotations

import logging
import math
import traceback

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser

from disaster.core.errors import (
    DomainError,
    Invalid,
    database_unavailable,
    error_response,
    unavailable_response,
)
from disaster.core.limits import CLIENT_LIMITS, rate_limited, too_large

log = logging.getLogger(__name__)


class StrictParser(Parser):
    """JSON and query parsing that refuses NUL characters, which PostgreSQL text cannot hold."""

    def parse_body(self, request: HttpRequest):
        data = super().parse_body(request)
        _refuse_nul(data, "body")
        return data

    def parse_querydict(self, data, list_fields, request: HttpRequest):
        result = super().parse_querydict(data, list_fields, request)
        _refuse_nul(result, "query")
        return result


def _refuse_nul(value, where: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise Invalid(_("NUL 文字は使えません。"), fields={where: _("NUL 文字は使えません。")})
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, where)
            _refuse_nul(item, where)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item, where)


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["status", "code", "message"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "type"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
ERROR_MEANINGS = {
    400: "リクエストを読めません（JSON の誤りなど）",
    401: "ログインまたは API トークンが必要です",
    403: "この操作の権限がありません",
    404: "見つかりません",
    409: "現在の状態と矛盾する操作です",
    413: "送信内容が大きすぎます",
    415: "この形式には対応していません",
    422: "入力内容に誤りがあります（errors に項目ごとの理由）",
    429: "短時間に送信が多すぎます（Retry-After 秒後に）",
}


def errors_for(method: str, path: str, operation: dict) -> set[int]:
    """The error statuses an operation may answer, from what it takes and who may call it."""
    statuses = set()
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add(422)
    if operation.get("requestBody"):
        statuses |= {400, 413}
        if "multipart/form-data" in operation["requestBody"].get("content", {}):
            statuses.add(415)
    if operation.get("security"):
        statuses |= {401, 403}
    if operation.get("parameters") or method in ("post", "put", "patch", "delete"):
        statuses.add(404)  # what a path, a query or a body names may not exist
    if method in ("post", "put", "patch", "delete"):
        statuses.add(409)
    if (method.upper(), path) in CLIENT_LIMITS:
        statuses.add(429)
    return statuses


def _tuples_as_arrays(node: object) -> None:
    """A tuple (`list[tuple[datetime, int]]`) is said as an array of its length whose items
    are any of its positions' types. JSON Schema 2020-12's `prefixItems` would be exact, but
    schemathesis (the contract test) turns it into the older `items: [...]` form and then
    refuses its own result. This form is looser (either type at either place) but valid
    for every reader."""
    if isinstance(node, dict):
        positions = node.get("prefixItems")
        if isinstance(positions, list) and node.get("type") == "array":
            del node["prefixItems"]
            node.update(items={"anyOf": positions}, minItems=len(positions))
            node["maxItems"] = len(positions)
        for value in node.values():
            _tuples_as_arrays(value)
    elif isinstance(node, list):
        for value in node:
            _tuples_as_arrays(value)


class SonaeAPI(NinjaAPI):
    """The API, whose published OpenAPI also documents its error answers: one `Error`
    schema (the format above) for every 4xx an operation may give."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        _tuples_as_arrays(schema)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(errors_for(method, path, operation)):
                    if status in responses or str(status) in responses:
                        continue  # the operation documents it itself
                    responses.setdefault(
                        str(status),
                        {
                            "description": ERROR_MEANINGS[status],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                    )
        return schema


api = SonaeAPI(
    parser=StrictParser(),
    title="Sonae API",
    version="1",
    description=(
        "備え: 避難所・備蓄・被害報告・避難情報の API。"
        "認証は Bearer トークンまたはログインセッション。"
    ),
    docs_url="/docs",
    urls_namespace="api",
)

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _field_name(loc: tuple) -> str:
    # ("body", "payload", "quantity") → "quantity"; ("query", "after") → "after"
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] or parts[1:]
    elif parts and parts[0] in {"query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    return ".".join(parts)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = None
    if exc.status == 422:
        errors = [{"field": f, "message": str(m), "type": "invalid"} for f, m in exc.fields.items()]
    response = error_response(exc.status, exc.code, exc.message, errors, **exc.extra)
    if "retry_after" in exc.extra:
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field_name(tuple(e.get("loc", ()))),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors
    ]
    return error_response(422, "validation_error", _("入力内容に誤りがあります。"), errors)


@api.exception_handler(DjangoValidationError)
def on_model_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """A model's own validation (`full_clean`: an e-mail, a choice, a length) is the
    client's mistake, answered like any other field error."""
    by_field = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
    errors = [
        {
            "field": "" if field == NON_FIELD_ERRORS else field,
            "message": message,
            "type": error.code or "invalid",
        }
        for field, field_errors in by_field.items()
        for error in field_errors
        for message in error.messages
    ]
    return error_response(422, "validation_error", _("入力内容に誤りがあります。"), errors)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(401, "not_authenticated", _("ログインまたは API トークンが必要です。"))


@api.exception_handler(RequestDataTooBig)
def on_data_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # A form's fields beyond DATA_UPLOAD_MAX_MEMORY_SIZE (its files are capped by route).
    return too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # A form body Django cannot read (broken boundaries, oversized part headers): the
    # client's mistake, not ours.
    return error_response(400, "bad_request", _("送信されたフォームの形式が正しくありません。"))


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return rate_limited(math.ceil(exc.wait or 60))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    return error_response(status, HTTP_CODES.get(status, "error"), str(exc))


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(404, "not_found", _("見つかりません。"))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if database_unavailable(exc):
        log.warning(
            "database unavailable in %s %s: %s", request.method, request.path, type(exc).__name__
        )
        return unavailable_response()
    if isinstance(exc, DatabaseError):
        # PostgreSQL's message quotes the values it refused (`Key (phone)=(+8190…)`): the
        # log gets where it happened and which rule, never the message.
        cause = exc.__cause__
        log.error(
            "database error in %s %s: %s sqlstate=%s constraint=%s\n%s",
            request.method,
            request.path,
            type(exc).__name__,
            getattr(cause, "sqlstate", None),
            getattr(getattr(cause, "diag", None), "constraint_name", None),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
    else:
        log.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(500, "server_error", _("サーバー内部でエラーが発生しました。"))


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Unknown paths under /api/ answer in the API's format, not with an HTML page."""
    return error_response(404, "not_found", _("この API はありません。"))


def _mount() -> None:
    from alerts.authoring.api import router as alerts_router
    from alerts.authoring.suggestions_api import router as suggestions_router
    from alerts.delivery.api import router as delivery_router
    from alerts.residents.api import router as residents_router
    from disaster.core.api import router as disaster_router
    from disaster.reports.api import router as reports_router
    from disaster.warnings.api import router as warnings_router
    from maps.api import router as maps_router
    from shelters.api import router as shelters_router
    from stockpile.api import router as stockpile_router

    for router in (
        disaster_router,
        reports_router,
        warnings_router,
        shelters_router,
        stockpile_router,
        alerts_router,
        suggestions_router,
        delivery_router,
        residents_router,
        maps_router,
    ):
        api.add_router("/v1/", router)


_mount()


class MethodNotAllowedMiddleware:
    """ninja answers a wrong method with a bare text 405; give it the API's error format."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and request.path.startswith("/api/"):
            allowed = response.get("Allow", "")
            response = error_response(
                405,
                "method_not_allowed",
                _("この API は %(method)s に対応していません。") % {"method": request.method},
            )
            response["Allow"] = allowed
        return response
