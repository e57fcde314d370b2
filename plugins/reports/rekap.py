"""B.3 Buku Rekapitulasi Jumlah Penduduk: the counts of an area for one month.

Per RT, by citizenship and sex: the residents present before the first day of the
month (``start``), the births, arrivals, deaths and departures dated inside it, and
those present before the first day of the next month (``end``); with the households
whose head is counted (``kk``) at start and end. How presence on a past day is found:
rtbook_reports.history. An RW, kelurahan, kecamatan or city is the sum of its RTs,
so a move between two of its RTs is a departure from one and an arrival in the other
at every level, and every level's book adds up to the one above.

Cost: one GROUP BY over the area's active residents (the current state), plus the
history rows dated since the month began; a whole city of 760,000 residents takes
about a second on SQLite (bench/reports.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rtbook.core.db import Connection
from rtbook_reports.areas import CHILD_LEVEL, Area, region_names, short_label, unit_of
from rtbook_reports.history import (
    ARRIVALS,
    BIRTHS,
    DEATHS,
    DEPARTURES,
    SIGN,
    area_filter,
    area_rts,
    people_since,
)
from rtbook_reports.months import Month

METRICS = ("start", BIRTHS, ARRIVALS, DEATHS, DEPARTURES, "end")
START, END = 0, 5
GROUPS = (("WNI", "L"), ("WNI", "P"), ("WNA", "L"), ("WNA", "P"))
_GROUP_INDEX = {g: i for i, g in enumerate(GROUPS)}


def group_index(citizenship: str | None, sex: str | None) -> int:
    return _GROUP_INDEX[("WNA" if citizenship == "WNA" else "WNI", "P" if sex == "P" else "L")]


class Tally:
    """The counts of one unit: ``cells[metric * 4 + group]`` (METRICS x GROUPS) and
    ``kk`` = [households at start, at end]."""

    __slots__ = ("cells", "kk")

    def __init__(self) -> None:
        self.cells = [0] * (len(METRICS) * len(GROUPS))
        self.kk = [0, 0]

    def add(self, other: Tally) -> None:
        cells = self.cells
        for i, value in enumerate(other.cells):
            cells[i] += value
        self.kk[0] += other.kk[0]
        self.kk[1] += other.kk[1]

    def get(self, metric: str, citizenship: str | None = None, sex: str | None = None) -> int:
        m = METRICS.index(metric) * len(GROUPS)
        return sum(
            self.cells[m + i]
            for i, (cit, s) in enumerate(GROUPS)
            if (citizenship is None or cit == citizenship) and (sex is None or s == sex)
        )

    def counts(self, metric: str, citizenship: str | None = None) -> dict[str, int]:
        """COUNTS of the contract: ``{"L", "P", "total"}`` (+ ``"kk"`` at start and end,
        for all citizenships together)."""
        male = self.get(metric, citizenship, "L")
        female = self.get(metric, citizenship, "P")
        out = {"L": male, "P": female, "total": male + female}
        if citizenship is None and metric == "start":
            out["kk"] = self.kk[0]
        elif citizenship is None and metric == "end":
            out["kk"] = self.kk[1]
        return out

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {metric: self.counts(metric) for metric in METRICS}
        out["by_citizenship"] = {
            cit: {metric: self.counts(metric, cit) for metric in METRICS} for cit in ("WNI", "WNA")
        }
        return out


@dataclass(frozen=True, slots=True)
class Part:
    """One row of the book: a unit one level below the area (or an RT)."""

    code: str
    level: str
    name: str
    tally: Tally


@dataclass(slots=True)
class Rekap:
    area: Area
    month: Month
    total: Tally
    parts: list[Part] = field(default_factory=list)  # one level below the area
    rts: list[Part] = field(default_factory=list)  # every RT of the area

    def as_json(self) -> dict[str, Any]:
        """The contract's JSON (``area``, ``month``, COUNTS per metric), then what
        rtbook adds: the area's level and name, the counts by citizenship and the
        same for each part one level down."""
        body: dict[str, Any] = {"area": self.area.code, "month": str(self.month)}
        body.update(self.total.as_json())
        body["level"] = self.area.level
        body["name"] = self.area.name
        body["parts"] = [
            {"area": p.code, "level": p.level, "name": p.name, **p.tally.as_json()}
            for p in self.parts
        ]
        return body


# One row per RT (the index on resident(rt_code, status, ...) gives them in order, so
# no sort): men, WNA men, women, WNA women, family heads. FILTER, not CASE: SQLite
# evaluates it several times faster (bench/reports.py).
_NOW_SQL = (
    "SELECT rt_code,"
    " count(*) FILTER (WHERE sex = 'L') AS men,"
    " count(*) FILTER (WHERE sex = 'L' AND citizenship = 'WNA') AS men_wna,"
    " count(*) FILTER (WHERE sex <> 'L') AS women,"
    " count(*) FILTER (WHERE sex <> 'L' AND citizenship = 'WNA') AS women_wna,"
    " count(*) FILTER (WHERE shdk = 'kepala_keluarga' AND no_kk IS NOT NULL) AS heads"
    " FROM resident WHERE city_code = $1 AND status = 'active'{where} GROUP BY rt_code"
)
_WNI_L, _WNI_P, _WNA_L, _WNA_P = (group_index(c, s) for c, s in GROUPS)


async def rt_tallies(conn: Connection, area: Area, month: Month) -> dict[str, Tally]:
    """Each RT's tally for the month (module docstring; rtbook_reports.history)."""
    tallies: dict[str, Tally] = {rt: Tally() for rt in await area_rts(conn, area)}
    where, params = area_filter(area, "rt_code", 2)
    for row in await conn.fetch(_NOW_SQL.format(where=where), area.city, *params):
        rt = row["rt_code"]
        if rt is None:
            continue
        tally = tallies.setdefault(rt, Tally())
        men_wna, women_wna = int(row["men_wna"]), int(row["women_wna"])
        by_group = {
            _WNI_L: int(row["men"]) - men_wna,
            _WNI_P: int(row["women"]) - women_wna,
            _WNA_L: men_wna,
            _WNA_P: women_wna,
        }
        for g, n in by_group.items():
            tally.cells[START * 4 + g] += n
            tally.cells[END * 4 + g] += n
        heads = int(row["heads"])
        tally.kk[0] += heads
        tally.kk[1] += heads

    first, next_first = month.first, month.next_first
    people = await people_since(conn, area, first, counts_only=True)
    for person in people.values():
        g = group_index(person.citizenship, person.sex)
        for change in person.changes:
            flow = change.flow
            if flow is None or not area.contains(change.rt):
                continue
            assert change.rt is not None
            tally = tallies.setdefault(change.rt, Tally())
            sign = SIGN[flow]
            tally.cells[START * 4 + g] -= sign  # every row here is dated >= first
            if change.day >= next_first:
                tally.cells[END * 4 + g] -= sign
            else:
                tally.cells[METRICS.index(flow) * 4 + g] += 1
        if not person.may_head:
            continue  # no family head on either day: adds to no kk count
        for index, day in enumerate((first, next_first)):
            if not any(c.day >= day for c in person.changes):
                continue  # unchanged since ``day``: counted from the current state
            now_rt = person.now_rt
            if now_rt is not None and area.contains(now_rt) and person.is_head():
                tallies.setdefault(now_rt, Tally()).kk[index] -= 1
            then_rt = person.present_rt(day)
            if then_rt is not None and area.contains(then_rt) and person.is_head(day):
                tallies.setdefault(then_rt, Tally()).kk[index] += 1
    return tallies


async def _part_names(conn: Connection, codes: Iterable[str], level: str) -> dict[str, str]:
    codes = list(codes)
    if level in ("rt", "rw"):
        kelurahan = await region_names(conn, sorted({c.split("-")[0] for c in codes}))
        return {
            c: f"{short_label(c, level)} {kelurahan.get(c.split('-')[0], '')}".strip()
            for c in codes
        }
    names = await region_names(conn, codes)
    return {c: names.get(c, c) for c in codes}


async def compute_rekap(conn: Connection, area: Area, month: Month) -> Rekap:
    """The B.3 book of ``area`` for ``month``."""
    tallies = await rt_tallies(conn, area, month)
    total = Tally()
    for tally in tallies.values():
        total.add(tally)
    rekap = Rekap(area=area, month=month, total=total)
    rt_names = await _part_names(conn, tallies, "rt")
    rekap.rts = [Part(rt, "rt", rt_names[rt], tallies[rt]) for rt in sorted(tallies)]
    child = CHILD_LEVEL.get(area.level)
    if child is not None:
        units: dict[str, Tally] = {}
        for rt in sorted(tallies):
            units.setdefault(unit_of(rt, child), Tally()).add(tallies[rt])
        names = await _part_names(conn, units, child)
        rekap.parts = [Part(code, child, names[code], units[code]) for code in sorted(units)]
    return rekap
