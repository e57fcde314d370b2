"""The "Kabar warga" feed as a reader sees it: newest first, with what is new to them.

Each reader keeps one marker per RT (table ``feed_read``): the greatest feed ``seq``
they have been shown. Events of the RT with a greater ``seq`` are unread. Opening the
feed moves the marker to the newest event it showed; a marker never moves back (an
older page of the feed leaves it where it is).

The reads here check scope like the API's (:func:`authorize_rt_read`: the RT's heads,
its city's admin, admin); the caller writes the audit row (``events.list``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.ledger.reads import AFTER_MAX, InvalidQuery, authorize_rt_read

FEED_LIMIT = 30

_MARK = (
    "INSERT INTO feed_read (user_id, rt_code, last_seq, updated_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (user_id, rt_code) DO UPDATE SET last_seq = excluded.last_seq,"
    " updated_at = excluded.updated_at WHERE feed_read.last_seq < excluded.last_seq"
)
# the event, and the NIK of its resident when that resident lives in the event's RT
# (so the page can link to them)
_EVENTS = (
    "SELECT e.seq, e.time, e.effect, e.data, r.nik AS resident_nik FROM event e"
    " LEFT JOIN service_record s ON s.id = e.service_record_id"
    " LEFT JOIN resident r ON r.nik = s.nik AND r.rt_code = e.rt_code"
    " WHERE e.rt_code = $1"
)


@dataclass(frozen=True, slots=True)
class FeedItem:
    seq: int
    time: datetime
    effect: str
    data: dict[str, Any]  # the CloudEvent data member (service_type, resident, summary)
    resident_nik: str | None  # for a link only; never shown
    unread: bool


@dataclass(frozen=True, slots=True)
class FeedView:
    items: list[FeedItem]  # newest first
    city: str
    timezone: str
    last_read: int  # the reader's marker before this view
    older: int | None  # pass as ``before`` for the next (older) page; None at the end

    @property
    def newest(self) -> int:
        return self.items[0].seq if self.items else 0


def check_seq(value: int | None, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= AFTER_MAX:
        raise InvalidQuery(
            field, f"harus bilangan bulat 0 sampai {AFTER_MAX} (must be an integer 0..2^62)"
        )
    return value


async def last_read(conn: Connection, user_id: int, rt_code: str) -> int:
    seq = await conn.fetchval(
        "SELECT last_seq FROM feed_read WHERE user_id = $1 AND rt_code = $2", user_id, rt_code
    )
    return int(seq or 0)


async def mark_read(
    conn: Connection, user_id: int, rt_code: str, seq: int, at: datetime | None = None
) -> None:
    """The reader has been shown the RT's events up to ``seq`` (never moves back)."""
    if seq <= 0:
        return
    await conn.execute(_MARK, user_id, rt_code, seq, at or datetime.now(UTC))


async def unread_counts(conn: Connection, user_id: int, rt_codes: Iterable[str]) -> dict[str, int]:
    """{rt: events the reader has not been shown} for the RTs that have any."""
    codes = sorted(set(rt_codes))
    if not codes:
        return {}
    marks = ", ".join(f"${i}" for i in range(2, len(codes) + 2))
    rows = await conn.fetch(
        "SELECT e.rt_code, count(*) FROM event e"
        " LEFT JOIN feed_read f ON f.user_id = $1 AND f.rt_code = e.rt_code"
        f" WHERE e.rt_code IN ({marks}) AND e.seq > COALESCE(f.last_seq, 0)"
        " GROUP BY e.rt_code",
        user_id,
        *codes,
    )
    return {row[0]: int(row[1]) for row in rows if row[1]}


def _item(row: Any, marker: int) -> FeedItem:
    data = row["data"]
    if isinstance(data, str | bytes):
        data = msgspec.json.decode(data)
    time = row["time"]
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return FeedItem(
        seq=int(row["seq"]),
        time=time,
        effect=row["effect"],
        data=data if isinstance(data, dict) else {},
        resident_nik=row["resident_nik"],
        unread=int(row["seq"]) > marker,
    )


async def _timezone(conn: Connection, city: str) -> str:
    return await conn.fetchval("SELECT timezone FROM city WHERE code = $1", city) or "Asia/Jakarta"


async def feed_view(
    conn: Connection,
    principal: Principal,
    rt_code: str,
    *,
    before: int | None = None,
    limit: int = FEED_LIMIT,
    mark: bool = True,
    at: datetime | None = None,
) -> FeedView:
    """The RT's events newest first (``seq`` < ``before`` when given), unread ones
    marked against the reader's marker, which then moves to the newest one shown
    (``mark``). Forbidden/NotFound as the API's reads."""
    before = check_seq(before, "before")
    city = await authorize_rt_read(conn, principal, rt_code)
    marker = await last_read(conn, principal.user_id, rt_code)
    args: list[Any] = [rt_code]
    sql = _EVENTS
    if before is not None:
        args.append(before)
        sql += " AND e.seq < $2"
    args.append(limit + 1)
    sql += f" ORDER BY e.seq DESC LIMIT ${len(args)}"
    rows = await conn.fetch(sql, *args)
    items = [_item(row, marker) for row in rows[:limit]]
    older = items[-1].seq if len(rows) > limit else None
    if mark and items:
        await mark_read(conn, principal.user_id, rt_code, items[0].seq, at)
    return FeedView(items, city, await _timezone(conn, city), marker, older)


async def feed_since(
    conn: Connection,
    principal: Principal,
    rt_code: str,
    after: int,
    *,
    limit: int = FEED_LIMIT,
    at: datetime | None = None,
) -> FeedView:
    """The RT's events with ``seq`` > ``after`` (the newest ``limit``), newest first,
    for a feed page that is open: they are shown as unread, and marked read."""
    after = check_seq(after, "after") or 0
    city = await authorize_rt_read(conn, principal, rt_code)
    marker = await last_read(conn, principal.user_id, rt_code)
    rows = await conn.fetch(
        _EVENTS + " AND e.seq > $2 ORDER BY e.seq DESC LIMIT $3", rt_code, after, limit
    )
    items = [_item(row, marker) for row in rows]
    if items:
        await mark_read(conn, principal.user_id, rt_code, items[0].seq, at)
    return FeedView(items, city, await _timezone(conn, city), marker, None)
