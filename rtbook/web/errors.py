"""Every error answers in the contract's shape: ``{"error": "...", "details": [...]}``.

Litestar's own exceptions (routing, body limit, validation, auth), rtbook's domain
errors and anything unexpected all go through :data:`EXCEPTION_HANDLERS`. An
unexpected exception is logged (with NIKs masked) and answered as a 500 that shows
no internals. Every 403 is recorded in the audit trail (``auth.forbidden``) by a
background task that runs once the answer is out: a failure to write the row is
logged and never changes the answer.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from rtbook.core import audit
from rtbook.core.auth import Principal
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.ledger.reads import InvalidQuery

log = logging.getLogger("rtbook.web")


class ErrorDetail(msgspec.Struct):
    """One problem: the field it is about (null for the request as a whole), and why."""

    field: str | None
    message: str


class ErrorBody(msgspec.Struct):
    error: str
    details: list[ErrorDetail] = msgspec.field(default_factory=list)


MESSAGES: dict[int, str] = {
    400: "permintaan tidak sah (bad request)",
    401: "token tidak ada atau tidak sah (missing or invalid token)",
    403: "tidak berwenang (forbidden)",
    404: "tidak ditemukan (not found)",
    405: "metode tidak diizinkan (method not allowed)",
    413: "isi permintaan terlalu besar (request body too large)",
    415: "jenis isi tidak didukung (unsupported media type)",
    422: "isi permintaan tidak dapat diproses (unprocessable content)",
    429: "terlalu banyak permintaan (too many requests)",
    500: "terjadi kesalahan di server (internal server error)",
    503: "layanan sedang tidak tersedia (service unavailable)",
}

WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="rtbook"'}


class ApiError(HTTPException):
    """An error answer with our message and details, raised from handlers."""

    def __init__(
        self,
        status_code: int,
        message: str | None = None,
        details: Sequence[ErrorDetail] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or MESSAGES.get(status_code, HTTPStatus(status_code).phrase)
        self.details = list(details)
        super().__init__(detail=self.message, status_code=status_code, headers=dict(headers or {}))


def error_response(
    status_code: int,
    message: str | None = None,
    details: Sequence[ErrorDetail] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[ErrorBody]:
    body = ErrorBody(
        error=message or MESSAGES.get(status_code) or HTTPStatus(status_code).phrase,
        details=list(details),
    )
    return Response(
        content=body,
        status_code=status_code,
        headers=dict(headers or {}),
        media_type="application/json",
    )


# msgspec's validation messages, said in Bahasa Indonesia first.
_MSGSPEC_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Expected `int`"), "harus bilangan bulat"),
    (re.compile(r"Expected `str`"), "harus berupa teks"),
    (re.compile(r"Expected `array`"), "harus berupa daftar"),
    (re.compile(r"Expected `object`"), "harus berupa objek"),
    (re.compile(r"Invalid enum value|Expected .*one of"), "nilai tidak dikenal"),
    (re.compile(r"Object missing required field"), "wajib diisi"),
]


def _indonesian(message: str) -> str:
    for pattern, hint in _MSGSPEC_HINTS:
        if pattern.search(message):
            return f"{hint} ({message})"
    return f"tidak sah ({message})"


def _validation_details(extra: Any) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, Mapping):
            message = str(item.get("message") or "tidak sah (invalid)")
            key = item.get("key")
            details.append(ErrorDetail(str(key) if key else None, _indonesian(message)))
    return details


_CITY_CODE = re.compile(r"[0-9]{2}\.[0-9]{2}")


def refused_scope(request: Request[Any, Any, Any], principal: Principal | None) -> str | None:
    """The city a refused request was about: its ``city`` path parameter or the city
    of its ``rt`` one, else the caller's own city."""
    params = request.scope.get("path_params") or {}
    for name in ("city", "rt"):
        value = params.get(name)
        if isinstance(value, str) and _CITY_CODE.match(value[:5]):
            return value[:5]
    return None if principal is None else principal.city_code


async def record_refusal(
    db: Any, principal: Principal | None, method: str, path: str, scope: str | None
) -> None:
    """The ``auth.forbidden`` audit row of a 403 (an API answer or a page)."""
    try:
        await db.write(
            lambda conn: audit.record(
                conn, principal, "auth.forbidden", path, scope, {"method": method, "path": path}
            )
        )
    except Exception as exc:  # never more than a log line: the 403 is already out
        log.warning("audit row of a refusal not written: %s", mask_niks(repr(exc)))


def forbidden(
    request: Request[Any, Any, Any],
    message: str | None = None,
    details: Sequence[ErrorDetail] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[ErrorBody]:
    """The 403 answer, with its ``auth.forbidden`` audit row written after it."""
    response = error_response(403, message, details, headers)
    db = getattr(request.app.state, "db", None)
    if db is not None:
        user = request.scope.get("user")
        principal = user if isinstance(user, Principal) else None
        path = request.url.path
        response.background = BackgroundTask(
            record_refusal,
            db,
            principal,
            request.method,
            path,
            refused_scope(request, principal),
        )
    return response


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 403:
        message = exc.message if isinstance(exc, ApiError) else None
        details = exc.details if isinstance(exc, ApiError) else ()
        return forbidden(request, message, details, headers)
    if isinstance(exc, ApiError):
        return error_response(status, exc.message, exc.details, headers)
    if status == 401:
        headers.update(WWW_AUTHENTICATE)
    if isinstance(exc, ValidationException):
        return error_response(status, MESSAGES[400], _validation_details(exc.extra), headers)
    return error_response(status, None, (), headers)


def _rtbook_error(request: Request[Any, Any, Any], exc: RtbookError) -> Response[ErrorBody]:
    if isinstance(exc, NotFound):
        return error_response(404, str(exc) or None)
    if isinstance(exc, Forbidden):
        return forbidden(request, str(exc) or None)
    if isinstance(exc, InvalidQuery):
        return error_response(400, MESSAGES[400], [ErrorDetail(exc.field, exc.message)])
    return error_response(400, str(exc) or None)


_NIK_RUN = re.compile(r"(?<![0-9])[0-9]{12}([0-9]{4})(?![0-9])")


def mask_niks(text: str) -> str:
    """Logs never carry a full NIK (or No. KK): keep the last 4 digits of 16-digit runs."""
    return _NIK_RUN.sub(r"************\1", text)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    trace = "".join(traceback.format_exception(exc))
    log.error("unexpected error on %s %s\n%s", request.method, request.url.path, mask_niks(trace))
    return error_response(500)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    HTTPException: _http_exception,
    RtbookError: _rtbook_error,
    Exception: _unexpected,
}


def error_spec(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Input tidak sah: parameter, JSON rusak atau cursor tidak dikenal (bad input)",
    401: "Token tidak ada atau tidak sah (missing or invalid bearer token)",
    403: "Di luar peran atau wilayah pemanggil (outside the caller's role or scope)",
    404: "Tidak ditemukan (not found)",
    413: "Isi permintaan melebihi batas (request body over the size limit)",
    422: "Bentuk isi permintaan salah (body has the wrong shape or item count)",
    503: "Basis data tidak menjawab (database unavailable)",
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error answers a route gives."""
    return {code: error_spec(ERROR_DESCRIPTIONS[code]) for code in codes}
