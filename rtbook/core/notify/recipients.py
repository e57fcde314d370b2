"""Who is told about an event: the RT heads of the event's RT, or any users by id
(so a plugin such as lansia can address health workers), or the health workers whose
areas cover an RT."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from rtbook.core.db import Connection, Row


@dataclass(frozen=True, slots=True)
class Recipient:
    """An active user with their addresses and notification preferences."""

    user_id: int
    username: str
    whatsapp: str | None
    email: str | None
    language: str  # id | en
    channels: frozenset[str] | None  # None: every channel
    service_types: frozenset[str] | None  # None: every service type
    quiet_start: str | None  # HH:MM city time
    quiet_end: str | None
    daily_digest: bool = False  # one message a day instead of single ones

    def address(self, channel: str) -> str | None:
        """The address for ``channel`` (whatsapp, email; other channels: the e-mail
        or the number, whichever the user has), None when there is none."""
        if channel == "whatsapp":
            return self.whatsapp or None
        if channel == "email":
            return self.email or None
        return None

    def wants(self, channel: str, service_type: str | None) -> bool:
        if self.channels is not None and channel not in self.channels:
            return False
        return not (
            self.service_types is not None
            and service_type is not None
            and service_type not in self.service_types
        )

    def routes(self, channels: Iterable[str], service_type: str | None) -> list[tuple[str, str]]:
        """(channel, address) for each of ``channels`` (once each, in order) where the
        user has an address and wants ``service_type`` over it."""
        found: dict[str, str] = {}
        for channel in channels:
            address = self.address(channel)
            if address and channel not in found and self.wants(channel, service_type):
                found[channel] = address
        return list(found.items())

    def as_mapping(self) -> dict[str, object]:
        """What ``rtbook_compose_message`` gets as ``recipient``."""
        return {
            "user_id": self.user_id,
            "username": self.username,
            "language": self.language,
        }


def _parse_hhmm(text: str | None) -> time | None:
    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        return None


def quiet_until(recipient: Recipient, now: datetime, timezone: str) -> datetime | None:
    """When ``now`` falls in the recipient's quiet hours (city time; a window such as
    21:00-06:00 runs across midnight), the end of them (in ``now``'s zone); else None."""
    start, end = _parse_hhmm(recipient.quiet_start), _parse_hhmm(recipient.quiet_end)
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    clock = local.time().replace(tzinfo=None)
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until.astimezone(now.tzinfo)


def stored_list(text: str | None) -> list[str] | None:
    """A preference column's JSON list (channels, service types); None for null (all)
    or for anything that is not a list."""
    if text is None:
        return None
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def _json_set(text: str | None) -> frozenset[str] | None:
    values = stored_list(text)
    return None if values is None else frozenset(values)


_SELECT = (
    "SELECT u.id, u.username, u.whatsapp, u.email, u.language AS user_language,"
    " p.channels, p.service_types, p.quiet_start, p.quiet_end, p.daily_digest,"
    " p.language AS pref_language"
    " FROM rtbook_user u LEFT JOIN notification_preference p ON p.user_id = u.id"
)


def _recipient(row: Row) -> Recipient:
    language = row["pref_language"] or row["user_language"] or "id"
    return Recipient(
        user_id=int(row["id"]),
        username=row["username"],
        whatsapp=row["whatsapp"],
        email=row["email"],
        language="en" if language == "en" else "id",
        channels=_json_set(row["channels"]),
        service_types=_json_set(row["service_types"]),
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        daily_digest=bool(row["daily_digest"]),
    )


async def rt_heads(conn: Connection, rt_code: str) -> list[Recipient]:
    """The active RT heads of ``rt_code`` (role rt_head, linked by user_rt)."""
    rows = await conn.fetch(
        f"{_SELECT} JOIN user_rt r ON r.user_id = u.id"
        " WHERE r.rt_code = $1 AND u.role = $2 AND u.is_active = $3 ORDER BY u.id",
        rt_code,
        "rt_head",
        True,
    )
    return [_recipient(r) for r in rows]


async def users_by_id(conn: Connection, user_ids: Collection[int]) -> list[Recipient]:
    """Active users by id, whatever their role (health workers, admins...)."""
    ids = sorted({int(i) for i in user_ids})
    if not ids:
        return []
    marks = ", ".join(f"${i}" for i in range(2, len(ids) + 2))
    rows = await conn.fetch(
        f"{_SELECT} WHERE u.is_active = $1 AND u.id IN ({marks}) ORDER BY u.id", True, *ids
    )
    return [_recipient(r) for r in rows]


async def health_workers_for(conn: Connection, rt_code: str) -> list[Recipient]:
    """The active health workers whose areas (``user_area``) cover ``rt_code``: an
    area equal to the RT's kelurahan, kecamatan or city code (or the RT itself)."""
    rows = await conn.fetch(
        f"{_SELECT} WHERE u.is_active = $1 AND u.role = $2 AND u.id IN ("
        " SELECT a.user_id FROM user_area a JOIN rt r ON r.code = $3"
        " WHERE a.region_code IN (r.code, r.kelurahan_code, r.kecamatan_code, r.city_code))"
        " ORDER BY u.id",
        True,
        "health_worker",
        rt_code,
    )
    return [_recipient(r) for r in rows]
