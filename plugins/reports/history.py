"""Reading the ledger's history for the books: who was where on a past day.

The ledger keeps the current state (``resident``) and an append-only history
(``resident_change``) whose rows carry the event date (birth, death, move date in city
time), the RT, the kind of change and the fields ``before`` and ``after`` it. Imported
residents have no row: they count as present before the first month.

A *presence* row moves a resident into an RT (``resident_added``: a birth;
``resident_moved_in``: an arrival, from another city or, for ``pindah_dalam``, from
another RT) or out of one (``resident_deceased``, ``resident_moved_out``). The number
of residents in an RT before day D is therefore the number there now minus what the
presence rows dated D or later added::

    present(RT, D) = active_now(RT) - sum(+1 per arrival/birth, -1 per death/departure
                                          in RT with event_date >= D)

so ``end = start + births + arrivals - deaths - departures`` holds by construction, for
every RT, sex and citizenship, whatever order the services were posted in. The same
rule per resident tells where one resident was (:func:`present_rt`), and their other
fields (marital status, SHDK, No. KK, ...) on day D are the current ones with the
``before`` values of the rows dated D or later put back, newest first (:func:`rollback`).

Sex and citizenship are the resident's current ones (a purged resident, see
rtbook.core.retention, keeps only ``{"sex"}`` in the history and counts as WNI).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec

from rtbook.core.db import Connection
from rtbook.core.ledger import effects as fx
from rtbook_reports.areas import Area

BIRTHS, ARRIVALS, DEATHS, DEPARTURES = "births", "arrivals", "deaths", "departures"
FLOW_OF_KIND = {
    fx.RESIDENT_ADDED: BIRTHS,
    fx.RESIDENT_MOVED_IN: ARRIVALS,
    fx.RESIDENT_DECEASED: DEATHS,
    fx.RESIDENT_MOVED_OUT: DEPARTURES,
}
SIGN = {BIRTHS: 1, ARRIVALS: 1, DEATHS: -1, DEPARTURES: -1}
# rows whose ``before`` may hold a field the books show (marital status, SHDK, No. KK)
STATE_KINDS = (*FLOW_OF_KIND, fx.HOUSEHOLD_CHANGED, fx.STATUS_CHANGED)
HEAD = "kepala_keluarga"

RESIDENT_COLUMNS = (
    "nik",
    "name",
    "sex",
    "birth_place",
    "birth_date",
    "religion",
    "education",
    "occupation",
    "marital_status",
    "shdk",
    "citizenship",
    "no_kk",
    "address",
    "rt_code",
    "status",
    "date_of_death",
)
_decode = msgspec.json.Decoder().decode


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = _decode(text)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(slots=True)
class Change:
    """One history row."""

    id: int
    nik: str
    rt: str | None
    kind: str
    day: date
    before_text: str | None
    after_text: str | None

    @property
    def flow(self) -> str | None:
        return FLOW_OF_KIND.get(self.kind)

    @property
    def before(self) -> dict[str, Any]:
        return _json(self.before_text) or {}

    @property
    def after(self) -> dict[str, Any]:
        return _json(self.after_text) or {}


@dataclass(slots=True)
class Person:
    """One resident's history since a day: the current row (None when purged by
    retention) and the history rows dated that day or later, oldest first."""

    nik: str
    current: dict[str, Any] | None
    changes: list[Change] = field(default_factory=list)

    @property
    def sex(self) -> str:
        if self.current is not None and self.current.get("sex") in ("L", "P"):
            return self.current["sex"]
        for change in self.changes:  # a purged resident: {"sex": ...} in the history
            for part in (change.after, change.before):
                if part.get("sex") in ("L", "P"):
                    return part["sex"]
        return "L"

    @property
    def citizenship(self) -> str:
        value = self.current.get("citizenship") if self.current is not None else None
        return "WNA" if value == "WNA" else "WNI"

    @property
    def now_rt(self) -> str | None:
        """The RT the resident is active in now (None: not active anywhere)."""
        if self.current is None or self.current.get("status") != "active":
            return None
        return self.current.get("rt_code")

    def present_rt(self, day: date) -> str | None:
        """The RT the resident was in before ``day`` by the presence rule of the
        module docstring; None when in none."""
        count: dict[str | None, int] = defaultdict(int)
        now = self.now_rt
        if now is not None:
            count[now] += 1
        for change in self.changes:
            flow = change.flow
            if flow is not None and change.day >= day:
                count[change.rt] -= SIGN[flow]
        best = max(((n, rt) for rt, n in count.items() if rt is not None and n >= 1), default=None)
        return None if best is None else best[1]

    def rollback(self, day: date) -> dict[str, Any]:
        """The resident's fields before ``day``: the current ones with the ``before``
        values of the rows dated ``day`` or later put back, newest first."""
        state = dict(self.current or {"nik": self.nik, "sex": self.sex})
        for change in sorted(self.changes, key=lambda c: (c.day, c.id), reverse=True):
            if change.day < day:
                break
            if change.kind in (fx.HOUSEHOLD_CHANGED, fx.STATUS_CHANGED, fx.RESIDENT_MOVED_IN):
                for key, value in change.before.items():
                    if key in RESIDENT_COLUMNS and key not in ("nik", "rt_code", "status"):
                        state[key] = value
        return state

    @property
    def may_head(self) -> bool:
        """False when the resident is no family head now and no row since the day
        asked for could have changed that (a quick test before :meth:`is_head`)."""
        if self.current is not None and self.current.get("shdk") == HEAD:
            return True
        return any(c.kind in (fx.HOUSEHOLD_CHANGED, fx.RESIDENT_MOVED_IN) for c in self.changes)

    def is_head(self, day: date | None = None) -> bool:
        """Head of a family (SHDK kepala_keluarga with a No. KK) now or before ``day``."""
        state = (self.current or {}) if day is None else self.rollback(day)
        return state.get("shdk") == HEAD and state.get("no_kk") is not None


def is_head_row(shdk: Any, no_kk: Any) -> bool:
    return shdk == HEAD and no_kk is not None


# -- reading ------------------------------------------------------------------------


def area_filter(area: Area, column: str, first_param: int) -> tuple[str, list[Any]]:
    """A WHERE fragment putting ``column`` (an RT code) inside the area, and its
    parameters numbered from ``first_param``. The city is always filtered by the caller."""
    if area.level == "city":
        return "", []
    if area.level == "rt":
        return f" AND {column} = ${first_param}", [area.code]
    # the RT table is small: the RT codes come from it, the residents by index
    return (
        f" AND {column} IN (SELECT code FROM rt WHERE city_code = ${first_param}"
        f" AND code LIKE ${first_param + 1})",
        [area.city, area.rt_pattern()],
    )


async def area_rts(conn: Connection, area: Area) -> list[str]:
    """The RT codes registered inside the area, in code order."""
    if area.level == "rt":
        rows = await conn.fetch("SELECT code FROM rt WHERE code = $1", area.code)
    elif area.level == "city":
        rows = await conn.fetch("SELECT code FROM rt WHERE city_code = $1", area.city)
    else:
        rows = await conn.fetch(
            "SELECT code FROM rt WHERE city_code = $1 AND code LIKE $2",
            area.city,
            area.rt_pattern(),
        )
    return sorted(r["code"] for r in rows)


# What the counts (B.3) need of a resident now; the registers (B.1, B.2) take them all.
COUNT_COLUMNS = ("nik", "sex", "citizenship", "status", "rt_code", "shdk", "no_kk")
# Kinds whose ``before`` may hold SHDK / No. KK (kk services, a re-activated resident)
_STATE_BEFORE = (fx.HOUSEHOLD_CHANGED, fx.RESIDENT_MOVED_IN, fx.STATUS_CHANGED)


async def changes_since(
    conn: Connection,
    area: Area,
    day: date,
    *,
    columns: Sequence[str] = RESIDENT_COLUMNS,
    texts: bool = True,
) -> tuple[list[Change], dict[str, dict[str, Any]]]:
    """The city's history rows of the presence and state kinds dated ``day`` or later,
    oldest first (by event date, then posting order), and the current ``columns`` of
    each resident they name (none for a purged resident). City-wide, as a resident's
    path may leave the area. ``texts=False`` leaves out the ``before``/``after`` JSON
    the counts never read (a birth's ``after`` is the whole resident record)."""
    marks = ", ".join(f"${i}" for i in range(3, len(STATE_KINDS) + 3))
    resident = ", ".join(f"r.{c} AS r_{c}" for c in columns)
    if texts:
        before, after = "c.before", "c.after"
    else:
        state = ", ".join(f"'{k}'" for k in _STATE_BEFORE)
        before = f"CASE WHEN c.kind IN ({state}) THEN c.before END"
        after = "CASE WHEN r.nik IS NULL THEN c.after END"  # a purged resident's sex
    rows = await conn.fetch(
        f"SELECT c.id, c.nik, c.rt_code, c.kind, c.event_date, {before} AS before,"
        f" {after} AS after, r.nik AS r_nik, {resident}"
        " FROM resident_change c LEFT JOIN resident r ON r.nik = c.nik"
        f" WHERE c.city_code = $1 AND c.event_date >= $2 AND c.kind IN ({marks})",
        area.city,
        day,
        *STATE_KINDS,
    )
    changes: list[Change] = []
    current: dict[str, dict[str, Any]] = {}
    for r in rows:
        nik = r["nik"]
        changes.append(
            Change(
                int(r["id"]),
                nik,
                r["rt_code"],
                r["kind"],
                as_date(r["event_date"]),
                r["before"],
                r["after"],
            )
        )
        if r["r_nik"] is not None and nik not in current:
            current[nik] = {c: r[f"r_{c}"] for c in columns}
    changes.sort(key=lambda c: (c.day, c.id))
    return changes, current


async def people_since(
    conn: Connection, area: Area, day: date, *, counts_only: bool = False
) -> dict[str, Person]:
    """Every resident with a history row dated ``day`` or later that touches the area
    (the row's RT is inside it), with all their rows since ``day`` in the city.
    ``counts_only``: just what B.3 needs (see :func:`changes_since`)."""
    if counts_only:
        changes, current = await changes_since(conn, area, day, columns=COUNT_COLUMNS, texts=False)
    else:
        changes, current = await changes_since(conn, area, day)
    touching = {c.nik for c in changes if area.contains(c.rt)}
    people = {nik: Person(nik, current.get(nik)) for nik in touching}
    for change in changes:
        person = people.get(change.nik)
        if person is not None:
            person.changes.append(change)
    # someone now active in the area whose rows there are all older than ``day`` has
    # no row here; one whose only recent rows are elsewhere (a household change in
    # another RT) is not touched: both are counted from the current state.
    return people
