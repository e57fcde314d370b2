"""The daily digest: one message per recipient, channel and city-local day instead of
single messages (docs/notifications.md, Daily digest).

Design: planning (feed events, rtbook.core.notify.planning) and plugin notices
(rtbook.core.notify.notices) store a digest recipient's deliveries as usual, one row
per (key, user, channel) with the same unique key, but with status ``digested`` and
no due time, so the sender never picks them up. Each morning at
:data:`DIGEST_HOUR` city time, :func:`build_digests` gathers a city's ``digested``
rows created during the previous city-local day and inserts one ``pending`` delivery
per (user, channel) keyed ``digest:<city>:<YYYY-MM-DD>``, listing their subjects.
``digest_checkpoint`` remembers the last day built per city, and the unique key makes
a rebuild (a lost checkpoint, two workers) insert nothing twice. The ``digested``
rows stay as the record of what went into which day's digest.

A day without rows sends nothing. The digest goes to the recipient's address and
language of the moment it is built, respects their quiet hours, and skips a channel
the recipient has since switched off (or lost the address of).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from rtbook.core.db import Connection, Database, Row
from rtbook.core.ledger.feed import rt_label
from rtbook.core.notify import deliveries as store
from rtbook.core.notify.compose import LANGUAGES, MONTHS_EN, MONTHS_ID, TEMPLATE_DIR, scrub
from rtbook.core.notify.recipients import quiet_until, users_by_id

log = logging.getLogger("rtbook.notify")

DIGESTED = "digested"  # held for (or gathered into) the recipient's daily digest
DIGEST_HOUR = 7  # city time, the morning after the day
DIGEST_ITEMS_MAX = 50  # lines listed in one digest; the rest are counted

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATE_DIR / "digest")),
    autoescape=False,
    undefined=StrictUndefined,
)
_SUBJECTS = {
    "id": "Ringkasan harian rtbook {date} ({count})",
    "en": "rtbook daily digest {date} ({count})",
}


async def insert_counted(
    conn: Connection,
    planned: Sequence[store.PlannedDelivery],
    now: datetime,
    *,
    status: str = store.PENDING,
) -> int:
    """Insert deliveries with ``status`` (``pending``: due at ``due_at``; ``digested``:
    never due), one already there staying as it is; the number inserted. (Like
    ``deliveries.insert_deliveries``, which plans feed events in bulk, but for the
    few rows whose status or count matters: digest holds and plugin notices.)"""
    inserted = 0
    for p in planned:
        inserted += await conn.execute(store.INSERT_DELIVERY, *store.delivery_row(p, status, now))
    return inserted


def digest_key(city: str, day: date) -> str:
    return f"digest:{city}:{day.isoformat()}"


def due_day(now: datetime, timezone: str) -> date:
    """The latest city-local day whose digest is due at ``now``: yesterday from
    :data:`DIGEST_HOUR` on, the day before until then."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() - timedelta(days=1 if local.hour >= DIGEST_HOUR else 2)


def _day_start(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


def day_in_words(day: date, language: str) -> str:
    months = MONTHS_EN if language == "en" else MONTHS_ID
    return f"{day.day} {months[day.month - 1]} {day.year}"


@dataclass(frozen=True, slots=True)
class DigestItem:
    title: str
    rt: str | None


def render_digest(day: date, items: Sequence[DigestItem], language: str) -> tuple[str, str]:
    """(subject, body) of one digest in ``language`` (id or en), NIK-scrubbed."""
    language = language if language in LANGUAGES else "id"
    when = day_in_words(day, language)
    body = _env.get_template(f"digest.{language}.txt.j2").render(
        date=when,
        count=len(items),
        items=items[:DIGEST_ITEMS_MAX],
        more=max(len(items) - DIGEST_ITEMS_MAX, 0),
    )
    subject = _SUBJECTS[language].format(date=when, count=len(items))
    return scrub(subject), scrub(body.strip())


async def _first_day(conn: Connection, city: str, timezone: str) -> date | None:
    """Without a checkpoint: the day of the city's oldest held row (None: none)."""
    oldest = await conn.fetchval(
        "SELECT min(created_at) FROM delivery WHERE city_code = $1 AND status = $2",
        city,
        DIGESTED,
    )
    if oldest is None:
        return None
    if isinstance(oldest, str):  # SQLite gives an aggregate back as text
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return oldest.astimezone(ZoneInfo(timezone)).date()


async def _held_rows(conn: Connection, city: str, start: datetime, end: datetime) -> list[Row]:
    return await conn.fetch(
        "SELECT d.user_id, d.channel, d.subject, d.seq, d.created_at, e.rt_code"
        " FROM delivery d LEFT JOIN event e ON e.city_code = d.city_code AND e.seq = d.seq"
        " WHERE d.city_code = $1 AND d.status = $2 AND d.created_at >= $3"
        " AND d.created_at < $4 ORDER BY d.id",
        city,
        DIGESTED,
        start,
        end,
    )


async def _build(conn: Connection, city: str, timezone: str, target: date, now: datetime) -> int:
    last = await conn.fetchval("SELECT last_day FROM digest_checkpoint WHERE city_code = $1", city)
    if isinstance(last, str):
        last = date.fromisoformat(last)
    if last is not None and last >= target:
        return 0
    first = last + timedelta(days=1) if last is not None else await _first_day(conn, city, timezone)
    planned: list[store.PlannedDelivery] = []
    if first is not None and first <= target:
        rows = await _held_rows(
            conn,
            city,
            _day_start(first, timezone),
            _day_start(target + timedelta(days=1), timezone),
        )
        groups: dict[tuple[date, int, str], list[Row]] = {}
        for row in rows:
            made = row["created_at"]
            day = made.astimezone(ZoneInfo(timezone)).date()
            groups.setdefault((day, int(row["user_id"]), row["channel"]), []).append(row)
        people = {r.user_id: r for r in await users_by_id(conn, {k[1] for k in groups})}
        for (day, user_id, channel), held in groups.items():
            recipient = people.get(user_id)
            address = recipient.address(channel) if recipient else None
            if recipient is None or not address or not recipient.wants(channel, None):
                continue
            items = [
                DigestItem(
                    title=str(r["subject"] or "-"),
                    rt=rt_label(r["rt_code"]) if r["rt_code"] else None,
                )
                for r in held
            ]
            subject, body = render_digest(day, items, recipient.language)
            planned.append(
                store.PlannedDelivery(
                    event_id=digest_key(city, day),
                    city_code=city,
                    seq=max(int(r["seq"]) for r in held),
                    user_id=user_id,
                    channel=channel,
                    address=address,
                    subject=subject,
                    body=body,
                    language=recipient.language,
                    due_at=quiet_until(recipient, now, timezone) or now,
                )
            )
    inserted = await insert_counted(conn, planned, now)
    await conn.execute(
        "INSERT INTO digest_checkpoint (city_code, last_day, updated_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (city_code) DO UPDATE SET last_day = excluded.last_day,"
        " updated_at = excluded.updated_at WHERE digest_checkpoint.last_day < excluded.last_day",
        city,
        target,
        now,
    )
    return inserted


async def build_digests(db: Database, city: str, timezone: str, now: datetime) -> int:
    """Plan the digests that are due in ``city`` (every day since the last one built,
    up to :func:`due_day`); the number of digest deliveries planned."""
    target = due_day(now, timezone)
    last = await db.read(
        lambda conn: conn.fetchval(
            "SELECT last_day FROM digest_checkpoint WHERE city_code = $1", city
        )
    )
    if isinstance(last, str):
        last = date.fromisoformat(last)
    if last is not None and last >= target:
        return 0  # the common case: one read per city and pass
    return await db.write(lambda conn: _build(conn, city, timezone, target, now))


__all__ = [
    "DIGESTED",
    "DIGEST_HOUR",
    "DigestItem",
    "build_digests",
    "day_in_words",
    "digest_key",
    "due_day",
    "insert_counted",
    "render_digest",
]
