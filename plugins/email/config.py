"""The email plugin's per-city config (CONTRACT.md, "Plugins per city")."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rtbook.core.plugins import Secret

EMAIL_REGEX = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
HOSTNAME_REGEX = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"

Security = Literal["none", "starttls", "ssl"]


class EmailConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``{"smtp_host", "smtp_port", "security", "username"?, "password"?, "from"}``.

    ``security``: ``none`` (plain SMTP), ``starttls`` (plain, then upgraded with
    STARTTLS) or ``ssl`` (TLS from the first byte). ``timeout_seconds`` (an addition,
    default 15) bounds each SMTP connection.
    """

    smtp_host: Annotated[str, msgspec.Meta(pattern=HOSTNAME_REGEX)]
    smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)]
    security: Security
    from_: Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_REGEX)] = msgspec.field(
        name="from"
    )
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=254)] | None = None
    password: Secret | None = None
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 15.0

    def __post_init__(self) -> None:
        if self.password and not self.username:
            raise ValueError(
                "kata sandi tanpa nama pengguna (password without username) in field `username`"
            )
