"""B.1 Buku Induk Penduduk and B.2 Buku Mutasi Penduduk of an area for one month.

- B.1 (induk): every resident present in the area at the end of the month (before
  the first day of the next month, by the rule of rtbook_reports.history), with the
  fields they had then, by RT, family card and family relation; a note for who was
  born or arrived in the month.
- B.2 (mutasi): every birth, arrival, death and departure in the area dated inside
  the month: arrivals with where from and when, departures with where to and when,
  deaths with where and when. A move between two RTs of the area appears twice: a
  departure from one and an arrival in the other, as in B.3.

NIK and No. KK are masked (last 4 digits) unless the caller asked for and may see
them in full (rtbook_reports.areas.may_see_full_nik); the route records which.
Both books are kept per kelurahan, RW or RT; B.1 is refused for bigger areas (a whole
city is 760,000 rows), B.2 is served for any area.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec

from rtbook.core.db import Connection
from rtbook.core.validation import mask_nik
from rtbook_reports.areas import Area
from rtbook_reports.history import (
    ARRIVALS,
    BIRTHS,
    DEATHS,
    DEPARTURES,
    RESIDENT_COLUMNS,
    Person,
    area_filter,
    people_since,
)
from rtbook_reports.months import Month, day_label

INDUK_LEVELS = ("kelurahan", "rw", "rt")
PURGED_NAME = "[dihapus]"
SHDK_ORDER = {
    "kepala_keluarga": 0,
    "suami": 1,
    "istri": 2,
    "anak": 3,
    "menantu": 4,
    "cucu": 5,
    "orang_tua": 6,
    "mertua": 7,
    "famili_lain": 8,
    "pembantu": 9,
    "lainnya": 10,
}
FLOW_LABEL = {
    BIRTHS: "Lahir (birth)",
    ARRIVALS: "Datang (arrival)",
    DEATHS: "Meninggal (death)",
    DEPARTURES: "Pindah (departure)",
}
FLOW_KIND = {BIRTHS: "lahir", ARRIVALS: "datang", DEATHS: "meninggal", DEPARTURES: "pindah"}


class IndukItem(msgspec.Struct):
    """One row of B.1 (the form's columns; "dapat membaca huruf" is not in the ledger)."""

    no: int
    name: str
    sex: str
    marital_status: str | None
    birth_place: str | None
    birth_date: date | None
    religion: str | None
    education: str | None
    occupation: str | None
    citizenship: str | None
    address: str | None
    shdk: str | None
    nik: str | None
    no_kk: str | None
    rt: str
    note: str


class MutasiItem(msgspec.Struct):
    """One row of B.2: a birth, arrival, death or departure."""

    no: int
    kind: str  # lahir | datang | meninggal | pindah
    date: date
    name: str
    sex: str
    birth_place: str | None
    birth_date: date | None
    citizenship: str | None
    nik: str | None
    rt: str
    came_from: str | None  # arrivals: the origin or the RT they came from
    moved_to: str | None  # departures: the destination or the RT they went to
    died_at: str | None  # deaths: the RT and address where they lived
    note: str


class Induk(msgspec.Struct):
    area: str
    month: str
    name: str
    nik: str  # "masked" | "full"
    items: list[IndukItem]


class Mutasi(msgspec.Struct):
    area: str
    month: str
    name: str
    nik: str  # "masked" | "full"
    items: list[MutasiItem]


def _shown(number: str | None, full: bool) -> str | None:
    if number is None or not number.isdigit():
        return None  # a purge's pseudonym is no NIK
    return number if full else mask_nik(number)


def _person_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _notes(person: Person | None, area: Area, month: Month) -> str:
    if person is None:
        return ""
    notes = []
    for change in person.changes:
        flow = change.flow
        if (
            flow in (BIRTHS, ARRIVALS)
            and area.contains(change.rt)
            and month.first <= change.day < month.next_first
        ):
            notes.append(f"{FLOW_LABEL[flow]} {day_label(change.day)}")
    return "; ".join(notes)


async def compute_induk(conn: Connection, area: Area, month: Month, *, full_nik: bool) -> Induk:
    """B.1 of the area at the end of ``month``."""
    end = month.next_first
    people = await people_since(conn, area, month.first)
    changed = {nik: p for nik, p in people.items() if any(c.day >= end for c in p.changes)}
    where, params = area_filter(area, "rt_code", 2)
    rows = await conn.fetch(
        f"SELECT {', '.join(RESIDENT_COLUMNS)} FROM resident"
        f" WHERE city_code = $1 AND status = 'active'{where}",
        area.city,
        *params,
    )
    chosen: list[tuple[dict[str, Any], str]] = [
        ({c: r[c] for c in RESIDENT_COLUMNS}, r["rt_code"]) for r in rows if r["nik"] not in changed
    ]
    for person in changed.values():
        rt = person.present_rt(end)
        if rt is not None and area.contains(rt):
            chosen.append((person.rollback(end), rt))

    def order(entry: tuple[dict[str, Any], str]) -> tuple[Any, ...]:
        fields, rt = entry
        return (
            rt,
            fields.get("no_kk") is None,
            fields.get("no_kk") or "",
            SHDK_ORDER.get(fields.get("shdk") or "", 99),
            _person_date(fields.get("birth_date")) or date.max,
            fields.get("name") or "",
            fields.get("nik") or "",
        )

    chosen.sort(key=order)
    items = []
    for no, (fields, rt) in enumerate(chosen, start=1):
        items.append(
            IndukItem(
                no=no,
                name=fields.get("name") or PURGED_NAME,
                sex=fields.get("sex") or "",
                marital_status=fields.get("marital_status"),
                birth_place=fields.get("birth_place"),
                birth_date=_person_date(fields.get("birth_date")),
                religion=fields.get("religion"),
                education=fields.get("education"),
                occupation=fields.get("occupation"),
                citizenship=fields.get("citizenship"),
                address=fields.get("address"),
                shdk=fields.get("shdk"),
                nik=_shown(fields.get("nik"), full_nik),
                no_kk=_shown(fields.get("no_kk"), full_nik),
                rt=rt,
                note=_notes(people.get(fields.get("nik") or ""), area, month),
            )
        )
    return Induk(
        area=area.code,
        month=str(month),
        name=area.name,
        nik="full" if full_nik else "masked",
        items=items,
    )


@dataclass(frozen=True, slots=True)
class _Row:
    day: date
    order: int  # the history row's id: posting order within a day
    kind: str
    fields: dict[str, Any]
    rt: str
    came_from: str | None
    moved_to: str | None
    died_at: str | None


async def compute_mutasi(conn: Connection, area: Area, month: Month, *, full_nik: bool) -> Mutasi:
    """B.2 of the area for ``month``."""
    people = await people_since(conn, area, month.first)
    rows: list[_Row] = []
    for person in people.values():
        for change in person.changes:
            flow = change.flow
            if flow is None or not area.contains(change.rt) or change.day >= month.next_first:
                continue
            assert change.rt is not None
            fields = person.current or person.rollback(change.day)
            came_from = moved_to = died_at = None
            if flow == ARRIVALS:
                before, after = change.before, change.after
                came_from = before.get("rt") or after.get("origin")
            elif flow == DEPARTURES:
                after = change.after
                moved_to = after.get("rt") or after.get("destination")
            elif flow == DEATHS:
                address = fields.get("address")
                died_at = f"{change.rt}, {address}" if address else change.rt
            rows.append(
                _Row(
                    change.day,
                    change.id,
                    FLOW_KIND[flow],
                    fields,
                    change.rt,
                    came_from,
                    moved_to,
                    died_at,
                )
            )
    rows.sort(key=lambda r: (r.day, r.order))  # a move's departure before its arrival
    items = [
        MutasiItem(
            no=no,
            kind=row.kind,
            date=row.day,
            name=row.fields.get("name") or PURGED_NAME,
            sex=row.fields.get("sex") or "",
            birth_place=row.fields.get("birth_place"),
            birth_date=_person_date(row.fields.get("birth_date")),
            citizenship=row.fields.get("citizenship"),
            nik=_shown(row.fields.get("nik"), full_nik),
            rt=row.rt,
            came_from=row.came_from,
            moved_to=row.moved_to,
            died_at=row.died_at,
            note=FLOW_LABEL[_flow_of(row.kind)],
        )
        for no, row in enumerate(rows, start=1)
    ]
    return Mutasi(
        area=area.code,
        month=str(month),
        name=area.name,
        nik="full" if full_nik else "masked",
        items=items,
    )


def _flow_of(kind: str) -> str:
    return next(flow for flow, k in FLOW_KIND.items() if k == kind)
