"""A recipient's notification preferences (table ``notification_preference``): read,
check and save them (docs/notifications.md, Preferences).

No row means the defaults: every channel, every service type, no quiet hours, no
daily digest, the user's own language. A change names only the fields it changes
(:class:`PreferencesInput`; a field left out keeps its value); ``null`` for
``channels`` or ``service_types`` means "all", ``null`` quiet hours mean "off". A
change is checked as a whole after it is merged with what is stored, and refused
with every problem at once (:class:`InvalidPreferences`, nothing written).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.ledger.effects import SERVICE_TYPES
from rtbook.core.notify.deliveries import mask_address
from rtbook.core.notify.recipients import stored_list
from rtbook.core.validation import FieldIssue, Issues

CHANNELS: tuple[str, ...] = ("whatsapp", "email")
LANGUAGES: tuple[str, ...] = ("id", "en")
HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


class InvalidPreferences(RtbookError):
    """Preferences refused: ``details`` names each field and why."""

    def __init__(self, details: Iterable[FieldIssue]) -> None:
        self.details = list(details)
        reasons = "; ".join(f"{d.field}: {d.message}" for d in self.details)
        super().__init__(f"preferensi tidak sah (invalid preferences): {reasons}")


class Addresses(msgspec.Struct):
    """Where the user can be reached, masked (``+62812****7890``)."""

    whatsapp: str | None
    email: str | None


class Preferences(msgspec.Struct):
    """The preferences in effect (the defaults filled in)."""

    channels: list[str]
    service_types: list[str]
    quiet_start: str | None
    quiet_end: str | None
    daily_digest: bool
    language: str
    addresses: Addresses


class PreferencesInput(msgspec.Struct, forbid_unknown_fields=True):
    """A change: only the fields given are changed."""

    channels: list[str] | UnsetType | None = UNSET
    service_types: list[str] | UnsetType | None = UNSET
    quiet_start: str | UnsetType | None = UNSET
    quiet_end: str | UnsetType | None = UNSET
    daily_digest: bool | UnsetType = UNSET
    language: str | UnsetType = UNSET


_AT_FIELD = re.compile(r"at `\$\.([A-Za-z_]+)")
_UNKNOWN = re.compile(r"unknown field `([^`]{0,40})")


def parse_input(raw: Any) -> PreferencesInput:
    """``raw`` (decoded JSON, or what the CLI built) as a change; InvalidPreferences
    when it is not an object of the known fields with the right types."""
    try:
        return msgspec.convert(raw, PreferencesInput)
    except msgspec.ValidationError as exc:
        text = str(exc)
        unknown = _UNKNOWN.search(text)
        if unknown:
            issue = FieldIssue(unknown.group(1), "kolom tidak dikenal (unknown field)")
        else:
            at = _AT_FIELD.search(text)
            issue = FieldIssue(
                at.group(1) if at else "body",
                f"jenis nilai salah (wrong type): {text}",
            )
        raise InvalidPreferences([issue]) from None


def _subset(
    values: list[str] | None, name: str, allowed: tuple[str, ...], issues: Issues
) -> list[str] | None:
    """The values in ``allowed``'s order without repeats; every unknown one is an issue."""
    if values is None:
        return None
    unknown = [v for v in values if v not in allowed]
    if unknown:
        shown = ", ".join(repr(v[:30]) for v in unknown[:5])
        issues.error(
            name,
            f"tidak dikenal: {shown}; pilih dari {', '.join(allowed)} "
            f"(unknown: {shown}; choose from {', '.join(allowed)})",
        )
        return None
    return [a for a in allowed if a in values]


def _quiet(start: str | None, end: str | None, issues: Issues) -> None:
    for name, value in (("quiet_start", start), ("quiet_end", end)):
        if value is not None and not HHMM.fullmatch(value):
            issues.error(name, "harus JJ:MM, 00:00 sampai 23:59 (must be HH:MM, 00:00 to 23:59)")
    if (start is None) != (end is None):
        issues.error(
            "quiet_start" if start is None else "quiet_end",
            "jam tenang perlu awal dan akhir, atau keduanya null "
            "(quiet hours need both a start and an end, or neither)",
        )
    elif start is not None and start == end:
        issues.error(
            "quiet_end", "akhir harus berbeda dari awal (the end must differ from the start)"
        )


async def _user(conn: Connection, user_id: int) -> Mapping[str, Any]:
    row = await conn.fetchrow(
        "SELECT id, username, whatsapp, email, language FROM rtbook_user WHERE id = $1",
        user_id,
    )
    if row is None:
        raise NotFound(f"pengguna {user_id} tidak ada (no such user)")
    return row


async def _stored(conn: Connection, user_id: int) -> Mapping[str, Any] | None:
    return await conn.fetchrow(
        "SELECT channels, service_types, quiet_start, quiet_end, daily_digest, language"
        " FROM notification_preference WHERE user_id = $1",
        user_id,
    )


def _view(user: Mapping[str, Any], stored: Mapping[str, Any] | None) -> Preferences:
    addresses = Addresses(
        whatsapp=mask_address(user["whatsapp"]) or None,
        email=mask_address(user["email"]) or None,
    )
    user_language = user["language"] if user["language"] in LANGUAGES else "id"
    if stored is None:
        return Preferences(
            list(CHANNELS), list(SERVICE_TYPES), None, None, False, user_language, addresses
        )
    channels = stored_list(stored["channels"])
    service_types = stored_list(stored["service_types"])
    return Preferences(
        channels=list(CHANNELS) if channels is None else channels,
        service_types=list(SERVICE_TYPES) if service_types is None else service_types,
        quiet_start=stored["quiet_start"],
        quiet_end=stored["quiet_end"],
        daily_digest=bool(stored["daily_digest"]),
        language=stored["language"] if stored["language"] in LANGUAGES else user_language,
        addresses=addresses,
    )


async def read_preferences(conn: Connection, user_id: int) -> Preferences:
    """The preferences in effect for ``user_id`` (NotFound for an unknown user)."""
    user = await _user(conn, user_id)
    return _view(user, await _stored(conn, user_id))


async def require_address(conn: Connection, user_id: int) -> None:
    """Forbidden for a user with neither a WhatsApp number nor an e-mail address: they
    get no notifications, so they have no preferences to keep (the API's rule)."""
    user = await _user(conn, user_id)
    if not (user["whatsapp"] or user["email"]):
        raise Forbidden(
            "pengguna tanpa nomor WhatsApp atau email tidak menerima pemberitahuan "
            "(a user without a WhatsApp number or e-mail address gets no notifications)"
        )


def _pick(new: Any, old: Any) -> Any:
    return old if new is UNSET else new


async def save_preferences(
    conn: Connection, user_id: int, change: PreferencesInput, now: datetime
) -> Preferences:
    """Merge ``change`` into the stored preferences, check the result and store it;
    InvalidPreferences (nothing written) listing every problem."""
    user = await _user(conn, user_id)
    stored = await _stored(conn, user_id)
    old_channels = stored_list(stored["channels"]) if stored else None
    old_types = stored_list(stored["service_types"]) if stored else None
    current = _view(user, stored)
    issues = Issues()
    channels = _subset(_pick(change.channels, old_channels), "channels", CHANNELS, issues)
    service_types = _subset(
        _pick(change.service_types, old_types), "service_types", SERVICE_TYPES, issues
    )
    quiet_start = _pick(change.quiet_start, current.quiet_start)
    quiet_end = _pick(change.quiet_end, current.quiet_end)
    _quiet(quiet_start, quiet_end, issues)
    daily_digest = bool(_pick(change.daily_digest, current.daily_digest))
    language = _pick(change.language, current.language)
    if language not in LANGUAGES:
        issues.error("language", "harus id atau en (must be id or en)")
    if issues:
        raise InvalidPreferences(issues.errors)
    await conn.execute(
        "INSERT INTO notification_preference (user_id, channels, service_types, quiet_start,"
        " quiet_end, daily_digest, language, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (user_id) DO UPDATE SET channels = excluded.channels,"
        " service_types = excluded.service_types, quiet_start = excluded.quiet_start,"
        " quiet_end = excluded.quiet_end, daily_digest = excluded.daily_digest,"
        " language = excluded.language, updated_at = excluded.updated_at",
        user_id,
        None if channels is None else msgspec.json.encode(channels).decode(),
        None if service_types is None else msgspec.json.encode(service_types).decode(),
        quiet_start,
        quiet_end,
        daily_digest,
        language,
        now,
    )
    return await read_preferences(conn, user_id)


__all__ = [
    "CHANNELS",
    "LANGUAGES",
    "Addresses",
    "InvalidPreferences",
    "Preferences",
    "PreferencesInput",
    "parse_input",
    "read_preferences",
    "require_address",
    "save_preferences",
]
