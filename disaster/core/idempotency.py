"""`Idempotency-Key` for every write (API and pages): a replay gets the first answer and
changes nothing.

The key is claimed with an INSERT … ON CONFLICT DO NOTHING in the same transaction as the
write itself. A concurrent duplicate therefore waits on the unique index until the first
request commits, then finds the stored answer; if the first one fails with a server error
its transaction, claim included, rolls back and the retry runs afresh.

Records that should carry the key (stock movements) take `claimed_key(request)`: the key
as this request claimed it, so it is already known to be used once.
"""

from __future__ import annotations

import hashlib
import io
import json
from weakref import WeakKeyDictionary

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disaster.core.auth import user_for_request_token
from disaster.core.clients import client_key, request_client
from disaster.core.errors import error_response
from disaster.core.models import ApiToken, IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Answers that depend on who is asking or when, rather than on what was asked, are not kept.
NOT_KEPT = {401, 403, 429}
GONE_MESSAGE = gettext_lazy("この記録は本人の求めにより削除されました。")

# What each request in flight claimed: (principal, key, claim id), see `claimed_key`.
_claims: WeakKeyDictionary[HttpRequest, tuple[str, str, int]] = WeakKeyDictionary()
# What the endpoint asked to keep instead of its answer (`keep_instead`), and whose personal
# data its answer holds (`kept_about`).
_instead: WeakKeyDictionary[HttpRequest, dict] = WeakKeyDictionary()
_subjects: WeakKeyDictionary[HttpRequest, set[str]] = WeakKeyDictionary()


def keep_instead(request: HttpRequest, body: dict) -> None:
    """Keep `body` (JSON) for replays instead of the answer sent: for an answer that holds a
    secret shown once (a new token), which the store must never hold."""
    _instead[request] = body


def kept_about(request: HttpRequest, *subjects: str) -> None:
    """The answer holds personal data of these subjects ("subscriber:12", "report:7"):
    `forget_about` removes it from the store when they are deleted."""
    _subjects.setdefault(request, set()).update(subjects)


def forget_about(*subjects: str) -> int:
    """Blank every kept answer that holds personal data of these subjects: a replay then
    says the data was deleted (410) rather than running the write again."""
    gone = json.dumps(
        {"status": 410, "code": "gone", "message": str(GONE_MESSAGE)}, ensure_ascii=False
    )
    return IdempotentRequest.objects.filter(subjects__overlap=list(subjects)).update(
        status=410, content_type="application/json", body=gone, subjects=[]
    )


class _Rollback(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def principal_of(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    # Only a token that still authenticates owns keys: a revoked one must get its 401, not
    # a replay of what it was answered before.
    secret = header[7:].strip()
    if header.lower().startswith("bearer ") and user_for_request_token(request, secret):
        return "token:" + ApiToken.hash(secret)[:32]
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    if request.path.startswith("/api/"):
        # Residents' public writes (the report form retrying on a weak link): their keys
        # belong to the client that sent them, never shared with another.
        return "client:" + client_key(request_client(request))
    return None


def record_key(principal: str, key: str, claim_id: int) -> str:
    """The form of a claimed key that records carry (see `claimed_key`)."""
    return hashlib.sha256(f"{principal}\n{key}\n{claim_id}".encode()).hexdigest()


def claimed_key(request: HttpRequest) -> str | None:
    """The request's `Idempotency-Key` as the middleware claimed it, for the records the
    request writes to carry; None if it claimed none (no key, or nobody signed in).

    Keys belong to a principal, so two users may send the same one, and a key sent again
    after its claim was pruned (IDEMPOTENCY_RETENTION_DAYS) is a new write: the value is a
    digest of the principal, the key and the claim, which fits a column unique across all
    users and holds no `/` or `:` (callers may append parts of their own). The claim is in
    the request's transaction, so a replay never reaches the code that stores it."""
    claim = _claims.get(request)
    return None if claim is None else record_key(*claim)


def fingerprint_of(request: HttpRequest) -> str:
    """What the request asks, to tell a retry from another request under the same key.
    A form with a file is sent with a new random boundary every time: that is not part
    of what was asked, so it is left out."""
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    body = _body(request)
    kind, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if kind.startswith("multipart/") and params.get("boundary"):
        body = body.replace(params["boundary"].encode("latin-1", "replace"), b"boundary")
    digest.update(body)
    return digest.hexdigest()


def _body(request: HttpRequest) -> bytes:
    """`request.body`, without Django's DATA_UPLOAD_MAX_MEMORY_SIZE: a photo or a sheet
    may be larger (its route's cap was checked at the door, disaster.core.limits), and
    Django parses the form from this copy afterwards, as it does after `request.body`."""
    if not hasattr(request, "_body"):
        request._body = request.read()
        request._stream = io.BytesIO(request._body)
    return request._body


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method not in UNSAFE_METHODS or not key:
            return self.get_response(request)
        principal = principal_of(request)
        if principal is None:
            return self.get_response(request)
        if len(key) > MAX_KEY_LENGTH:
            return error_response(
                422,
                "validation_error",
                _("Idempotency-Key が長すぎます。"),
                [{"field": HEADER, "message": f"≤ {MAX_KEY_LENGTH}", "type": "too_long"}],
            )
        try:
            with transaction.atomic():
                return self._once(request, principal, key)
        except _Rollback as rollback:
            return rollback.response

    def _once(self, request: HttpRequest, principal: str, key: str) -> HttpResponse:
        fingerprint = fingerprint_of(request)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {IdempotentRequest._meta.db_table}
                    (principal, key, fingerprint, content_type, body, subjects, created_at)
                VALUES (%s, %s, %s, '', '', '{{}}', now())
                ON CONFLICT (principal, key) DO NOTHING RETURNING id
                """,  # noqa: S608 (table name is ours)
                [principal, key, fingerprint],
            )
            claimed = cursor.fetchone()
        if claimed is None:
            return self._replay(
                IdempotentRequest.objects.get(principal=principal, key=key), fingerprint
            )

        _claims[request] = (principal, key, claimed[0])
        response = self.get_response(request)
        if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
            raise _Rollback(response)  # nothing kept: a retry runs afresh
        instead = _instead.get(request)
        body = (
            json.dumps(instead, ensure_ascii=False, cls=DjangoJSONEncoder)
            if instead is not None
            else response.content.decode(response.charset or "utf-8", errors="replace")
        )
        with connection.cursor() as cursor:  # plain SQL: this runs on every keyed write
            cursor.execute(
                f"""
                UPDATE {IdempotentRequest._meta.db_table}
                SET status = %s, content_type = %s, body = %s, subjects = %s
                WHERE id = %s
                """,  # noqa: S608 (table name is ours)
                [
                    response.status_code,
                    response.get("Content-Type", ""),
                    body,
                    sorted(_subjects.get(request, ())),
                    claimed[0],
                ],
            )
        return response

    @staticmethod
    def _replay(stored: IdempotentRequest, fingerprint: str) -> HttpResponse:
        if stored.fingerprint != fingerprint:
            return error_response(
                422,
                "idempotency_key_reused",
                _("この Idempotency-Key は別の内容の要求に使われています。"),
                [
                    {
                        "field": HEADER,
                        "message": _("別の要求には新しいキーを使ってください。"),
                        "type": "reused",
                    }
                ],
            )
        response = HttpResponse(stored.body, status=stored.status, content_type=stored.content_type)
        response["Idempotent-Replayed"] = "true"
        return response
