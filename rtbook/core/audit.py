"""The audit trail: who read or changed which personal data, and when.

CONTRACT.md (Web sessions and audit): reading a resident list, a resident, a lansia
list or a report is recorded. Call :func:`record` inside the unit of work that does
the read (a ``db.write`` unit, since it writes the row), so that a read is never
served without its row. A read served in pages (a streamed export) records its row
before the first page leaves and completes it with :func:`update_detail` at the end.

A row: ``at`` (UTC), ``user_id`` and ``username`` of the caller (null for a trusted
internal caller), ``action`` (``lansia.list``, ``lansia.dose.add``, ...), ``target``
(an area or RT code, or a masked NIK), ``scope`` (the city code) and ``detail``
(a JSON object: rows, format, filters). A full NIK is never stored: any run of 16 or
more digits in ``target`` or ``detail`` keeps only its last 4.

A caller without a principal (a failed login) is recorded by ``username`` alone.
Rows are listed (:func:`list_audit`) in id order, which is the order they were written,
paged by an opaque cursor (the id of the last row served); a city admin sees the rows
whose ``scope`` is their city, an admin all of them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import msgspec

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.db.base import Unit
from rtbook.core.db.paging import Filters, page_by_id
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.notify.compose import scrub

T = TypeVar("T")

ACTION_MAX = 64
TARGET_MAX = 64
USERNAME_MAX = 64
LIST_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 1000
CURSOR_MAX = 2**62

_INSERT = (
    "INSERT INTO audit_log (at, user_id, username, action, target, scope, detail)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
)


def _detail_json(detail: Mapping[str, Any] | None) -> str:
    return scrub(msgspec.json.encode(dict(detail or {})).decode("utf-8"))


_DIGIT_RUN = re.compile(r"[0-9]{5,}")


def mask_search(text: str | None) -> str | None:
    """A search text fit for the trail: a run of 5 or more digits (part of a NIK or
    No. KK typed as a search) keeps only its last 4, like a full NIK does."""
    if text is None:
        return None
    return _DIGIT_RUN.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(0)[-4:], text)


async def record(
    conn: Connection,
    principal: Principal | None,
    action: str,
    target: str | None,
    scope: str | None,
    detail: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
    username: str | None = None,
) -> int:
    """Write one audit row in the caller's unit of work; its id.

    ``username`` names the caller when there is no ``principal`` (a failed login for
    a known or unknown name); it is stored masked like the rest, cut to 64 chars."""
    if not action or len(action) > ACTION_MAX:
        raise ValueError(f"audit action must be 1..{ACTION_MAX} characters")
    target_text = None if target is None else scrub(target)[:TARGET_MAX]
    if principal is not None:
        user_id, name = principal.user_id, principal.username
    else:
        user_id, name = None, None if username is None else scrub(username)[:USERNAME_MAX]
    audit_id = await conn.fetchval(
        _INSERT,
        at or datetime.now(UTC),
        user_id,
        name,
        action,
        target_text,
        scope,
        _detail_json(detail),
    )
    return int(audit_id)


async def update_detail(conn: Connection, audit_id: int, detail: Mapping[str, Any]) -> None:
    """Replace the detail of a row written by :func:`record` (e.g. the rows count of
    an export, known once the last page is out)."""
    await conn.execute(
        "UPDATE audit_log SET detail = $2 WHERE id = $1", audit_id, _detail_json(detail)
    )


def recorded(
    unit: Unit[T],
    principal: Principal | None,
    action: str,
    target: str | None,
    scope_of: Callable[[Connection], Awaitable[str | None]],
    detail_of: Callable[[T], Mapping[str, Any]],
) -> Unit[T]:
    """A read unit that also writes its audit row (run it with ``db.write``): the read
    first, so a refused or failed read (403, 404, 400) leaves no row; ``scope_of``
    gives the city, ``detail_of`` the detail from the result."""

    async def wrapped(conn: Connection) -> T:
        result = await unit(conn)
        await record(conn, principal, action, target, await scope_of(conn), detail_of(result))
        return result

    return wrapped


# -- listing ---------------------------------------------------------------------------


class AuditItem(msgspec.Struct, kw_only=True):
    """One row: ``at`` (UTC), ``user`` (a username, null for an internal caller),
    ``action``, ``target`` and ``scope`` (the city code), NIKs masked."""

    id: int
    at: datetime
    user: str | None
    action: str
    target: str | None
    scope: str | None
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditItem]
    next_cursor: str | None = None  # pass back as ``cursor``; null on the last page


_COLUMNS = "id, at, user_id, username, action, target, scope, detail"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MOMENT_MAX = 40


def _bad(field: str, message: str) -> InvalidQuery:
    return InvalidQuery(field, message)


def parse_cursor(cursor: str | None) -> int | None:
    """The id a cursor points after; InvalidQuery for anything but our cursors."""
    if cursor is None or not cursor.strip():
        return None
    text = cursor.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > CURSOR_MAX:
        raise _bad(
            "cursor",
            "cursor tidak dikenal; mulai lagi dari halaman pertama "
            "(unknown cursor; start again from the first page)",
        )
    return int(text)


def parse_moment(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A bound of a time filter: ``YYYY-MM-DD`` (a whole UTC day: its start, or with
    ``end`` the start of the next day, so that ``until`` takes the day in) or an ISO
    8601 date and time (without an offset: UTC). None when empty."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    message = (
        "harus tanggal YYYY-MM-DD atau waktu ISO 8601 "
        "(must be a YYYY-MM-DD date or an ISO 8601 date and time)"
    )
    if len(text) > _MOMENT_MAX or not text.isascii():
        raise _bad(field, message)
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise _bad(field, message) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_list_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_LIMIT_MAX:
        raise _bad(
            "limit",
            f"harus bilangan bulat 1 sampai {LIST_LIMIT_MAX} "
            f"(must be an integer 1..{LIST_LIMIT_MAX})",
        )
    return limit


def _text_filter(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > ACTION_MAX or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise _bad(field, f"tidak sah, maksimal {ACTION_MAX} karakter (invalid, max 64 chars)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(field, "bukan teks Unicode yang sah (not valid Unicode text)") from None
    return text


def _as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _detail(text: str | None) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(text or "{}")
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def list_audit(
    conn: Connection,
    *,
    city: str | None,
    cursor: str | None = None,
    limit: int = LIST_LIMIT_DEFAULT,
    action: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """One page of rows in the order they were written. ``city`` None: every row (an
    admin, the CLI); else the rows whose scope is that city. ``action`` matches
    exactly, or every action under a prefix written with a final dot (``auth.``);
    ``user`` is a username; ``since`` is inclusive, ``until`` exclusive. Arguments
    are checked first (InvalidQuery)."""
    after = parse_cursor(cursor)
    limit = check_list_limit(limit)
    action = _text_filter(action, "action")
    user = _text_filter(user, "user")
    filters = Filters()
    if city is not None:
        filters.add("scope = {}", city)
    if action is not None:
        if action.endswith("."):
            filters.add("substr(action, 1, {}) = {}", len(action), action)
        else:
            filters.add("action = {}", action)
    if user is not None:
        filters.add("username = {}", user)
    if since is not None:
        filters.add("at >= {}", since)
    if until is not None:
        filters.add("at < {}", until)
    rows, next_id = await page_by_id(conn, _COLUMNS, "audit_log", filters, after, limit)
    items = [
        AuditItem(
            id=int(row["id"]),
            at=_as_utc(row["at"]),
            user=row["username"],
            action=row["action"],
            target=row["target"],
            scope=row["scope"],
            detail=_detail(row["detail"]),
        )
        for row in rows
    ]
    return AuditPage(items=items, next_cursor=None if next_id is None else str(next_id))
