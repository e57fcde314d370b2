"""Opaque references to residents in page addresses, so a NIK never lands in an
address (browser history, server logs): the first 16 hex digits of
HMAC-SHA256(secret key, NIK), written with the letters a-p, so a reference never looks
like a number a NIK scrubber would mask. A reference is found again among the
residents of one RT (a few hundred), never across a city."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection

from rtbook.web.login import page_key

REF_LENGTH = 16
REF_PATTERN = re.compile(f"[a-p]{{{REF_LENGTH}}}")
_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def ref_of(key: bytes, nik: str) -> str:
    """The reference of ``nik`` under ``key`` (:func:`rtbook.web.login.page_key`)."""
    mac = hmac.new(key, b"rtbook-resident-ref:" + nik.encode("ascii"), hashlib.sha256)
    return mac.hexdigest()[:REF_LENGTH].translate(_LETTERS)


def resident_ref(connection: ASGIConnection[Any, Any, Any, Any], nik: str) -> str:
    """The reference of ``nik`` in this app's page addresses."""
    return ref_of(page_key(connection), nik)


def nik_of_ref(key: bytes, niks: Iterable[str], ref: str) -> str | None:
    """The NIK among ``niks`` (one RT's) whose reference is ``ref``, or None."""
    if not REF_PATTERN.fullmatch(ref):
        return None
    return next((nik for nik in niks if hmac.compare_digest(ref_of(key, nik), ref)), None)
