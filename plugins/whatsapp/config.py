"""The whatsapp plugin's per-city config: one variant per provider, tagged on
``provider`` (CONTRACT.md, "Plugins per city")."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from rtbook.core.plugins import Secret

DEFAULT_RATE = 80.0  # Meta Cloud API: 80 messages per second per business number
DEFAULT_TIMEOUT = 10.0

Rate = Annotated[float, msgspec.Meta(gt=0, le=1000)]
Timeout = Annotated[float, msgspec.Meta(gt=0, le=120)]


class CloudConfig(
    msgspec.Struct, tag_field="provider", tag="cloud", forbid_unknown_fields=True, kw_only=True
):
    """Meta's WhatsApp Cloud API (Apprise ``whatsapp://``). Business-initiated
    messages must use an approved template: ``template`` is its name, ``language``
    its language code (``id``, ``en_US``); the message text fills the template's
    body variable ``{{1}}``."""

    token: Annotated[Secret, msgspec.Meta(pattern=r"^[A-Za-z0-9]+$")]
    phone_number_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5,20}$")]
    template: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = "id"
    rate_per_second: Rate = DEFAULT_RATE
    timeout_seconds: Timeout = DEFAULT_TIMEOUT


class EvolutionConfig(
    msgspec.Struct, tag_field="provider", tag="evolution", forbid_unknown_fields=True, kw_only=True
):
    """A self-hosted Evolution API gateway (Apprise ``evolution://``):
    ``base_url`` ``http(s)://host[:port]`` (no path), the gateway's ``api_key`` and
    the connected ``instance``."""

    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+/?$", max_length=300)]
    api_key: Annotated[Secret, msgspec.Meta(min_length=1, max_length=500)]
    instance: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]
    rate_per_second: Rate = DEFAULT_RATE
    timeout_seconds: Timeout = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise ValueError("port tidak sah (invalid port) in field `base_url`") from None
        if not parts.hostname or parts.username or parts.password:
            raise ValueError(
                "alamat gateway tidak sah, contoh http://10.0.0.5:8080 "
                "(invalid gateway address) in field `base_url`"
            )


WhatsAppConfig = CloudConfig | EvolutionConfig
