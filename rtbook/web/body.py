"""Request bodies as JSON: one answer (400) for every body that is not JSON at all,
whether a handler decodes the raw body or Litestar decodes it into ``JSONBody[...]``.

msgspec raises ``ValueError`` subclasses for malformed JSON and bytes that are not
UTF-8, and ``RecursionError`` for nesting deeper than its limit; Litestar lets the
last two through ``Request.json()`` as they are, which would be a 500.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from rtbook.web.errors import ApiError, ErrorDetail

NOT_JSON = "isi permintaan bukan JSON yang sah (request body is not valid JSON)"


def not_json() -> ApiError:
    return ApiError(400, NOT_JSON, [ErrorDetail(None, "JSON rusak (malformed JSON)")])


def decode_json_body(raw: bytes, type: Any = Any) -> Any:
    """``raw`` decoded (as ``type``); ApiError 400 when it is not JSON. With a
    ``type``, a ``msgspec.ValidationError`` (JSON of the wrong shape) is left to the
    caller; without one it can only mean a number out of range: 400 as well."""
    try:
        return msgspec.json.decode(raw, type=type)
    except msgspec.ValidationError:
        if type is not Any:
            raise
        raise not_json() from None
    except (ValueError, RecursionError):  # malformed JSON, bad UTF-8, nested too deep
        raise not_json() from None


class JSONSafeRequest(Request[Any, Any, Any]):
    """The app's request class: ``json()`` answers 400 instead of raising
    RecursionError or UnicodeDecodeError (the ``JSONBody[...]`` routes use it)."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except (RecursionError, UnicodeDecodeError):
            raise not_json() from None
