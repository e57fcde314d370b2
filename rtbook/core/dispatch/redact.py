"""What a failed hook call may leave in logs and in ``dispatch_failure.last_error``.

A plugin's exception text is its own business and may quote anything: a resident's
NIK, the SMTP password from its config, a provider token in a URL. Before it is
logged or stored, every run of 16 or more digits is masked to its last 4 digits and
every secret value of the plugin's config is replaced by ``***``.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from rtbook.core.validation import mask_nik

MASK = "***"
ERROR_MAX_CHARS = 2000
TRACEBACK_MAX_CHARS = 8000

_LONG_DIGITS = re.compile(r"[0-9]{16,}")
# Config keys whose values are treated as secrets even when the plugin's schema does
# not mark them (a plugin without a schema, or one that forgot).
_SECRET_KEY = re.compile(r"pass|secret|token|api_?key|apikey|auth|credential|private", re.I)
# Shorter values would mask ordinary words in the message.
_MIN_SECRET_LEN = 4


def secret_values(config: Any, secret_fields: Iterable[str] = ()) -> list[str]:
    """String values of ``config`` that must not appear anywhere: those of the fields
    the plugin marks secret, and of keys that look like secrets, at any depth."""
    marked = set(secret_fields)
    found: list[str] = []

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, secret or key in marked or bool(_SECRET_KEY.search(str(key))))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, secret)
        elif secret and value is not None and not isinstance(value, bool):
            text = str(value)
            if len(text) >= _MIN_SECRET_LEN:
                found.append(text)

    walk(config, False)
    # Longest first, so a secret that contains another is masked whole.
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without secrets and without a full NIK (or any 16+ digit number)."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _LONG_DIGITS.sub(lambda m: mask_nik(m.group(0)) or "", text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """One line for ``last_error``: the exception's type and message, scrubbed."""
    message = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return _clip(scrub(line, secrets), ERROR_MAX_CHARS)


def traceback_text(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The traceback for the log, scrubbed (frames show code, not local values)."""
    text = scrub("".join(traceback.format_exception(exc)).rstrip(), secrets)
    if len(text) > TRACEBACK_MAX_CHARS:  # the innermost frames and the error matter most
        text = "…" + text[-(TRACEBACK_MAX_CHARS - 1) :]
    return text
