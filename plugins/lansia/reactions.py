"""What the lansia plugin does when the ledger changes: notices to health workers.

- :func:`on_service_completed` (hook ``rtbook_service_completed``): when a resident
  who was on the list (active, at least ``min_age`` on the event date) dies or moves
  out of an RT, the health workers whose areas cover that RT get one notice, key
  ``f"{event['id']}:lansia"`` (the hub never plans the same key, user and channel
  twice, so a retried hook sends nothing twice). A move inside the city
  (pindah_dalam) leaves a health worker's list only when the new RT is outside their
  areas. A move-in needs nothing: the list reads the ledger.
- :func:`weekly_digest` (hook ``rtbook_daily``, on Mondays): to each health worker of
  the city, who entered their list in the past seven days (turned ``min_age``, moved
  in) and who left it (died, moved out), from the ledger history (``resident_change``
  by event date, the way the monthly books count). No notice when nothing changed.

Texts: Bahasa Indonesia first, English for users who chose it; a NIK appears only as
its last four digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import msgspec

from rtbook.core.auth import region_contains
from rtbook.core.db import Connection, Database
from rtbook.core.ledger import effects as fx
from rtbook.core.ledger.feed import rt_label
from rtbook.core.notify.compose import day_in_words, nik_tail
from rtbook.core.notify.notices import Notice
from rtbook.core.notify.recipients import health_workers_for
from rtbook_lansia.ages import age_on, latest_birth_date
from rtbook_lansia.config import min_age_of

LEAVING = (fx.RESIDENT_DECEASED, fx.RESIDENT_MOVED_OUT)
DIGEST_LINES = 40  # per section; the rest is counted
MONDAY = 0


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = msgspec.json.decode(text)
    return value if isinstance(value, dict) else {}


# -- one event -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Departure:
    """A resident who left an RT's list: who, from where, when, how."""

    nik: str
    name: str
    age: int
    rt: str
    effect: str
    day: date
    to_rt: str | None  # pindah_dalam: the RT they moved to
    user_ids: tuple[int, ...]


_CHANGE_SQL = (
    "SELECT c.nik, c.event_date, c.before, c.after, r.name, r.birth_date"
    " FROM event e"
    " JOIN resident_change c ON c.service_record_id = e.service_record_id"
    " AND c.kind = e.effect AND c.rt_code = e.rt_code"
    " JOIN resident r ON r.nik = c.nik"
    " WHERE e.city_code = $1 AND e.seq = $2"
)


async def departure_of(
    conn: Connection, event: Mapping[str, Any], city: str, min_age: int
) -> Departure | None:
    """The listed resident an event takes off an RT's list, with the health workers
    to tell; None when the event is no such thing."""
    data = event.get("data") or {}
    effect = data.get("effect")
    if effect not in LEAVING:
        return None
    row = await conn.fetchrow(_CHANGE_SQL, city, int(event["sequence"]))
    if row is None:
        return None
    before, after = _json(row["before"]), _json(row["after"])
    if before.get("status", "active") != "active":
        return None
    day = row["event_date"]
    age = age_on(row["birth_date"], day)
    if age < min_age:
        return None
    rt = str(event["subject"])
    to_rt = after.get("rt") if isinstance(after.get("rt"), str) else None
    workers = await health_workers_for(conn, rt)
    if to_rt is not None:  # still on the list of those who cover the new RT too
        staying = {w.user_id for w in await health_workers_for(conn, to_rt)}
        workers = [w for w in workers if w.user_id not in staying]
    return Departure(
        nik=row["nik"],
        name=row["name"],
        age=age,
        rt=rt,
        effect=effect,
        day=day,
        to_rt=to_rt,
        user_ids=tuple(w.user_id for w in workers),
    )


def departure_notice(key: str, d: Departure) -> Notice:
    who_id = f"{d.name} ({d.age} th, NIK {nik_tail(d.nik)}), {rt_label(d.rt)}"
    who_en = f"{d.name} ({d.age}, NIK {nik_tail(d.nik)}), {rt_label(d.rt)}"
    when_id, when_en = day_in_words(d.day, "id"), day_in_words(d.day, "en")
    if d.effect == fx.RESIDENT_DECEASED:
        subject = {"id": f"Lansia meninggal: {d.name}", "en": f"Elderly resident died: {d.name}"}
        what_id = f"meninggal dunia pada {when_id}"
        what_en = f"died on {when_en}"
    else:
        subject = {
            "id": f"Lansia pindah keluar: {d.name}",
            "en": f"Elderly resident moved out: {d.name}",
        }
        where = f" ke {rt_label(d.to_rt)}" if d.to_rt else ""
        where_en = f" to {rt_label(d.to_rt)}" if d.to_rt else ""
        what_id = f"pindah{where} pada {when_id}"
        what_en = f"moved out{where_en} on {when_en}"
    body = {
        "id": (f"Lansia di daftar Anda, {who_id}, {what_id}. Daftar lansia sudah diperbarui."),
        "en": (f"A resident on your elderly list, {who_en}, {what_en}. The list is up to date."),
    }
    return Notice(key=key, user_ids=list(d.user_ids), subject=subject, body=body)


async def on_service_completed(
    event: Mapping[str, Any], city: str, config: Mapping[str, Any], db: Database, notifier: Any
) -> None:
    data = event.get("data") or {}
    if data.get("effect") not in LEAVING:
        return
    min_age = min_age_of(dict(config))

    async def unit(conn: Connection) -> Departure | None:
        return await departure_of(conn, event, city, min_age)

    found = await db.read(unit)
    if found is None or not found.user_ids:
        return
    await notifier.notify([departure_notice(f"{event['id']}:lansia", found)])


# -- the weekly digest -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Movement:
    """Someone entering or leaving the list of an area in the week."""

    nik: str
    name: str
    age: int
    rt: str
    why: str  # turned | moved_in | died | moved_out
    day: date
    other_rt: str | None = None  # a move inside the city: the RT at the other end


_TURNED_SQL = (
    "SELECT nik, name, birth_date, rt_code FROM resident"
    " WHERE city_code = $1 AND status = 'active' AND birth_date > $2 AND birth_date <= $3"
    " AND rt_code IS NOT NULL"
)
_CHANGES_SQL = (
    "SELECT c.nik, c.kind, c.rt_code, c.event_date, c.before, c.after, r.name, r.birth_date"
    " FROM resident_change c JOIN resident r ON r.nik = c.nik"
    " WHERE c.city_code = $1 AND c.event_date >= $2 AND c.event_date <= $3"
    " AND c.kind IN ($4, $5, $6) AND c.rt_code IS NOT NULL"
)
_WORKERS_SQL = (
    "SELECT u.id, a.region_code FROM rtbook_user u JOIN user_area a ON a.user_id = u.id"
    " WHERE u.role = $1 AND u.is_active = $2 AND (a.region_code = $3 OR a.region_code LIKE $4)"
    " ORDER BY u.id"
)
_WHY = {
    fx.RESIDENT_DECEASED: "died",
    fx.RESIDENT_MOVED_OUT: "moved_out",
    fx.RESIDENT_MOVED_IN: "moved_in",
}


async def week_movements(
    conn: Connection, city: str, first: date, last: date, min_age: int
) -> list[Movement]:
    """Everyone who entered or left a list in the city from ``first`` to ``last``."""
    out: list[Movement] = []
    low = latest_birth_date(first - timedelta(days=1), min_age)
    high = latest_birth_date(last, min_age)
    for r in await conn.fetch(_TURNED_SQL, city, low, high):
        birth = r["birth_date"]
        turned = next(
            d for d in (first + timedelta(days=n) for n in range((last - first).days + 1))
            if age_on(birth, d) >= min_age
        )  # fmt: skip
        out.append(Movement(r["nik"], r["name"], min_age, r["rt_code"], "turned", turned))
    rows = await conn.fetch(_CHANGES_SQL, city, first, last, *_WHY)
    for r in rows:
        day = r["event_date"]
        age = age_on(r["birth_date"], day)
        if age < min_age:
            continue
        before, after = _json(r["before"]), _json(r["after"])
        if r["kind"] != fx.RESIDENT_MOVED_IN and before.get("status", "active") != "active":
            continue
        other = before.get("rt") if r["kind"] == fx.RESIDENT_MOVED_IN else after.get("rt")
        out.append(
            Movement(
                r["nik"],
                r["name"],
                age,
                r["rt_code"],
                _WHY[r["kind"]],
                day,
                other if isinstance(other, str) else None,
            )
        )
    out.sort(key=lambda m: (m.rt, m.name, m.nik, m.day))
    return out


def for_areas(movements: Iterable[Movement], areas: Sequence[str]) -> list[Movement]:
    """The movements seen from a health worker's areas: a move between two RTs both
    inside them changes nothing on their list."""

    def inside(rt: str | None) -> bool:
        return rt is not None and any(region_contains(a, rt) for a in areas)

    return [m for m in movements if inside(m.rt) and not inside(m.other_rt)]


_WHY_TEXT = {
    "turned": ("genap {age} tahun", "turned {age}"),
    "moved_in": ("pindah datang", "moved in"),
    "died": ("meninggal", "died"),
    "moved_out": ("pindah keluar", "moved out"),
}


def _lines(movements: Sequence[Movement], language: str) -> list[str]:
    index = 1 if language == "en" else 0
    lines = []
    for m in movements[:DIGEST_LINES]:
        why = _WHY_TEXT[m.why][index].format(age=m.age)
        lines.append(
            f"- {m.name} ({nik_tail(m.nik)}), {rt_label(m.rt)}: {why}, "
            f"{day_in_words(m.day, language)}"
        )
    rest = len(movements) - DIGEST_LINES
    if rest > 0:
        lines.append(f"- dan {rest} lainnya" if language == "id" else f"- and {rest} more")
    return lines


def digest_notice(
    key: str, user_id: int, first: date, last: date, movements: Sequence[Movement]
) -> Notice:
    entered = [m for m in movements if m.why in ("turned", "moved_in")]
    left = [m for m in movements if m.why in ("died", "moved_out")]
    texts: dict[str, str] = {}
    for language, title, came, went, none in (
        ("id", "Ringkasan lansia minggu ini", "Masuk daftar", "Keluar dari daftar", "tidak ada"),
        ("en", "This week's elderly list", "Entered the list", "Left the list", "none"),
    ):
        span = f"{day_in_words(first, language)} - {day_in_words(last, language)}"
        parts = [f"{title} ({span})", f"{came} ({len(entered)}):"]
        parts += _lines(entered, language) or [f"- {none}"]
        parts += [f"{went} ({len(left)}):"]
        parts += _lines(left, language) or [f"- {none}"]
        texts[language] = "\n".join(parts)
    subject = {
        "id": f"Lansia minggu ini: {len(entered)} masuk, {len(left)} keluar",
        "en": f"Elderly list this week: {len(entered)} in, {len(left)} out",
    }
    return Notice(key=key, user_ids=[user_id], subject=subject, body=texts)


def digest_key(city: str, day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"lansia-week:{city}:{year}-W{week:02d}"


async def weekly_digest(
    city: str, config: Mapping[str, Any], db: Database, notifier: Any, day: date
) -> int:
    """On a Monday, each health worker's digest of the seven days before; the number
    of notices handed to the hub."""
    if day.weekday() != MONDAY:
        return 0
    min_age = min_age_of(dict(config))
    first, last = day - timedelta(days=7), day - timedelta(days=1)

    async def unit(conn: Connection) -> tuple[list[Movement], dict[int, list[str]]]:
        moves = await week_movements(conn, city, first, last, min_age)
        areas: dict[int, list[str]] = {}
        for r in await conn.fetch(_WORKERS_SQL, "health_worker", True, city, city + ".%"):
            areas.setdefault(int(r[0]), []).append(r[1])
        return moves, areas

    movements, workers = await db.read(unit)
    key = digest_key(city, day)
    notices = []
    for user_id, areas in workers.items():
        mine = for_areas(movements, areas)
        if mine:
            notices.append(digest_notice(key, user_id, first, last, mine))
    if notices:
        await notifier.notify(notices)
    return len(notices)
