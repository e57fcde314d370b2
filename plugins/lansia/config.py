"""The lansia plugin's per-city config (CONTRACT.md, Plugins per city: ``{"min_age": 60}``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

DEFAULT_MIN_AGE = 60  # UU 13/1998: lanjut usia is 60 and over
MIN_AGE_LOWEST = 40
MIN_AGE_HIGHEST = 100


class LansiaConfig(msgspec.Struct, forbid_unknown_fields=True):
    """``min_age``: who is on the list, in whole years on the list's date."""

    min_age: Annotated[int, msgspec.Meta(ge=MIN_AGE_LOWEST, le=MIN_AGE_HIGHEST)] = DEFAULT_MIN_AGE


def min_age_of(config: dict[str, object] | None) -> int:
    """The config's ``min_age`` (stored configs are validated; a missing one is 60)."""
    value = (config or {}).get("min_age", DEFAULT_MIN_AGE)
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_MIN_AGE
