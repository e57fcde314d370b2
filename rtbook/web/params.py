"""Query parameters parsed by hand, so that every bad value answers 400 in our shape
with a message in Bahasa Indonesia, and an empty value (``limit=``) means the default.

Handlers declare them as ``str | None = None``; the OpenAPI schema still shows their
real types (integer, enum) through ``schema_extra``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar.openapi.spec import OpenAPIType
from litestar.params import Parameter

from rtbook.core.ledger.reads import InvalidQuery

_MAX_DIGITS = 20


def int_param(value: str | None, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter in [minimum, maximum]; absent or empty = default."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS:
        raise InvalidQuery(
            name,
            f"harus bilangan bulat {minimum} sampai {maximum} "
            f"(must be an integer {minimum}..{maximum})",
        )
    number = int(text)
    if not minimum <= number <= maximum:
        raise InvalidQuery(
            name,
            f"harus antara {minimum} dan {maximum} (must be between {minimum} and {maximum})",
        )
    return number


def int_query(description: str, *, default: int, minimum: int, maximum: int) -> Any:
    """Documentation of an integer query parameter parsed with :func:`int_param`."""
    return Parameter(
        description=description,
        required=False,
        schema_extra={
            "one_of": None,  # the annotation is str | None; the value is an integer
            "type": OpenAPIType.INTEGER,
            "minimum": minimum,
            "maximum": maximum,
            "default": default,
        },
    )


def choice_query(description: str, choices: Sequence[str]) -> Any:
    return Parameter(
        description=description,
        required=False,
        schema_extra={"one_of": None, "type": OpenAPIType.STRING, "enum": list(choices)},
    )


def text_query(description: str, *, max_length: int | None = None) -> Any:
    extra: dict[str, Any] = {"one_of": None, "type": OpenAPIType.STRING}
    if max_length is not None:
        extra["max_length"] = max_length
    return Parameter(description=description, required=False, schema_extra=extra)
