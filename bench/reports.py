"""B.3 rekapitulasi of a whole city: rtbook beside raw sqlite3 / asyncpg doing the same work.

The city at full scale (760,000 residents by default) gets a year of history first:
``--months`` months (default 12) of ``--per-month`` completed services each (default
3,000, the mix of bench/_services.py: births, deaths, moves in, out and between RTs,
documents, KK changes), applied through rtbook's own ingestion, dated inside their
month (births and deaths a few weeks before their report, as in life). Then, for the
oldest month (the most history to roll back) and the newest:

- ``raw``: what the book needs from the database, without rtbook: one GROUP BY over
  the city's active residents by RT, citizenship and sex, and one over the history
  rows since the month began (joined to the residents for sex and citizenship) by RT,
  kind, citizenship, sex and whether the row falls inside the month; start and end
  per RT computed from them. It leaves out the household (KK) counts' history, which
  rtbook adds (a pass over the residents changed since the month began);
- ``rtbook (in process)``: ``compute_rekap`` for the city on an open Database (what the
  route runs, minus HTTP, the audit row and the JSON encoding);
- ``rtbook GET (HTTP, JSON)`` and ``(HTTP, XLSX)``: ``GET /api/v1/reports/rekapitulasi?
  area=64.71`` from a real ``rtbook serve``.

rtbook's L/P/total per metric are checked against raw's for the whole city and every
RT (the run stops when they differ). Times are the best of ``--repeat`` runs after one
that is not counted. Target: under 5 s for the city on SQLite.

    .venv/bin/python bench/reports.py [--residents N] [--postgres [URL]] [--repeat 3]
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import _city
import _services
import asyncpg
import httpx

import rtbook_reports
from rtbook.core.auth import load_principal
from rtbook.core.db import Database, make_database
from rtbook.core.ledger.ingest import ingest_services
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.settings import DatabaseURL
from rtbook_reports.areas import resolve_area
from rtbook_reports.months import Month
from rtbook_reports.rekap import GROUPS, METRICS, Rekap, compute_rekap

BATCH = 500
FLOWS = {
    "resident_added": ("births", 1),
    "resident_moved_in": ("arrivals", 1),
    "resident_deceased": ("deaths", -1),
    "resident_moved_out": ("departures", -1),
}
# the same aggregate rtbook's query makes (one row per RT: no sort of 760,000 rows)
NOW_SQL = (
    "SELECT rt_code, count(*) FILTER (WHERE sex = 'L'),"
    " count(*) FILTER (WHERE sex = 'L' AND citizenship = 'WNA'),"
    " count(*) FILTER (WHERE sex <> 'L'),"
    " count(*) FILTER (WHERE sex <> 'L' AND citizenship = 'WNA')"
    " FROM resident WHERE city_code = {p1} AND status = 'active' GROUP BY rt_code"
)
FLOW_SQL = (
    "SELECT c.rt_code, c.kind, r.citizenship, r.sex, c.event_date >= {p3} AS later,"
    " count(*) FROM resident_change c LEFT JOIN resident r ON r.nik = c.nik"
    " WHERE c.city_code = {p1} AND c.event_date >= {p2} AND c.kind IN"
    " ('resident_added', 'resident_moved_in', 'resident_deceased', 'resident_moved_out')"
    " GROUP BY c.rt_code, c.kind, r.citizenship, r.sex, c.event_date >= {p3}"
)

Counts = dict[str, dict[tuple[str, str, str], int]]  # metric -> (rt, cit, sex) -> n


# -- history ------------------------------------------------------------------------


class MonthMix(_services.ServiceMix):
    """bench/_services.py's mix, completed inside a chosen month (``self.today`` is a
    day of that month, so births and deaths are dated up to two months before)."""

    def _item(self, service_type: str, nik: str, **extra: Any) -> dict[str, Any]:
        item = super()._item(service_type, nik, **extra)
        day = self.today  # births and deaths are dated before their report
        if service_type not in ("akta_kelahiran", "akta_kematian"):
            day -= timedelta(days=self.rng.randrange(0, 25))
        moment = datetime(day.year, day.month, day.day, 10, 0, tzinfo=_services.WITA)
        item["completed_at"] = moment.isoformat(timespec="seconds")
        return item


def history_months(count: int) -> list[Month]:
    last = Month.of(date.today()).previous()
    months = [last]
    while len(months) < count:
        months.append(months[-1].previous())
    return sorted(months)


async def add_history(
    url: DatabaseURL, rts: Sequence[str], months: Sequence[Month], per: int
) -> int:
    people = await _services.load_people(url)
    mix = MonthMix(people, rts, seed=7, source="bench-reports")
    applied = 0
    async with make_database(url) as db:
        token_user = await _city.user_with_token(
            db, "bench-reports-int", "integrator", city=_city.CITY
        )
        del token_user
        user_id = await db.read(
            lambda c: c.fetchval("SELECT id FROM rtbook_user WHERE username = 'bench-reports-int'")
        )
        principal = await db.read(lambda c: load_principal(c, int(user_id)))
        assert principal is not None
        for month in months:
            mix.today = min(month.next_first - timedelta(days=1), date.today() - timedelta(days=1))
            for start in range(0, per, BATCH):
                items = mix.batch(min(BATCH, per - start))
                results = await ingest_services(db, principal, items)
                applied += sum(1 for r in results if r["status"] == "applied")
    return applied


async def prepare(url: DatabaseURL) -> str:
    """Enable reports in the city; a city_admin's token."""
    registry = PluginRegistry()
    registry.register("reports", rtbook_reports)
    async with make_database(url) as db:
        await db.write(
            lambda conn: set_plugin(
                conn, registry, _city.CITY, "reports", enabled=True, config={}, user_id=None
            )
        )
        return await _city.user_with_token(db, "bench-reports-admin", "city_admin", city=_city.CITY)


# -- the raw floor ------------------------------------------------------------------


def fold(now_rows: Sequence[Sequence[Any]], flow_rows: Sequence[Sequence[Any]]) -> Counts:
    """start/end/flows per (rt, citizenship, sex) from the two GROUP BYs."""
    out: Counts = {m: defaultdict(int) for m in METRICS}
    for rt, men, men_wna, women, women_wna in now_rows:
        for key, n in (
            ((rt, "WNI", "L"), men - men_wna),
            ((rt, "WNA", "L"), men_wna),
            ((rt, "WNI", "P"), women - women_wna),
            ((rt, "WNA", "P"), women_wna),
        ):
            out["start"][key] += n
            out["end"][key] += n
    for rt, kind, cit, sex, later, n in flow_rows:
        flow, sign = FLOWS[kind]
        key = (rt, "WNA" if cit == "WNA" else "WNI", "P" if sex == "P" else "L")
        out["start"][key] -= sign * n
        if later:
            out["end"][key] -= sign * n
        else:
            out[flow][key] += n
    return out


def raw_sqlite(path: str, month: Month) -> Counts:
    conn = sqlite3.connect(path)
    try:
        now_rows = conn.execute(NOW_SQL.format(p1="?1"), (_city.CITY,)).fetchall()
        flow_rows = conn.execute(
            FLOW_SQL.format(p1="?1", p2="?2", p3="?3"),
            (_city.CITY, month.first.isoformat(), month.next_first.isoformat()),
        ).fetchall()
    finally:
        conn.close()
    return fold(now_rows, flow_rows)


async def raw_asyncpg(url: str, month: Month) -> Counts:
    conn = await asyncpg.connect(url)
    try:
        now_rows = await conn.fetch(NOW_SQL.format(p1="$1"), _city.CITY)
        flow_rows = await conn.fetch(
            FLOW_SQL.format(p1="$1", p2="$2", p3="$3"), _city.CITY, month.first, month.next_first
        )
    finally:
        await conn.close()
    return fold([tuple(r) for r in now_rows], [tuple(r) for r in flow_rows])


def check_same(rekap: Rekap, raw: Counts) -> None:
    """rtbook's L/P per metric equal raw's, for the city and for every RT."""
    for metric in METRICS:
        for cit, sex in GROUPS:
            theirs = sum(n for (rt, c, s), n in raw[metric].items() if (c, s) == (cit, sex))
            ours = rekap.total.get(metric, cit, sex)
            if ours != theirs:
                raise SystemExit(f"{metric} {cit} {sex}: rtbook {ours}, raw {theirs}")
    for part in rekap.rts:
        for metric in METRICS:
            for cit, sex in GROUPS:
                theirs = raw[metric].get((part.code, cit, sex), 0)
                if part.tally.get(metric, cit, sex) != theirs:
                    raise SystemExit(f"{part.code} {metric} {cit} {sex} differs from raw")


# -- timing -------------------------------------------------------------------------


def best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    run()  # warm-up, not counted
    seconds, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        seconds = min(seconds, time.perf_counter() - started)
    return seconds, result


class InProcess:
    def __init__(self, url: DatabaseURL) -> None:
        self.loop = asyncio.new_event_loop()
        self.db: Database = make_database(url)
        self.loop.run_until_complete(self.db.open())

    def rekap(self, month: Month, area: str = _city.CITY, level: str = "city") -> Rekap:
        async def unit(conn: Any) -> Rekap:
            return await compute_rekap(conn, await resolve_area(conn, area, level), month)

        return self.loop.run_until_complete(self.db.read(unit))

    def close(self) -> None:
        self.loop.run_until_complete(self.db.close())
        self.loop.close()


def http_get(base: str, token: str, month: Month, fmt: str, area: str = _city.CITY) -> int:
    response = httpx.get(
        f"{base}/api/v1/reports/rekapitulasi",
        params={"area": area, "month": str(month), "format": fmt},
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    )
    if response.status_code != 200:
        raise SystemExit(f"HTTP {response.status_code}: {response.text[:300]}")
    return len(response.content)


def measure(
    name: str, url: DatabaseURL, months: Sequence[Month], repeat: int, workdir: Any,
    raw: Callable[[Month], Counts],
) -> list[list[object]]:  # fmt: skip
    token = asyncio.run(prepare(url))
    rows: list[list[object]] = []
    ours = InProcess(url)
    try:
        some_rt = ours.rekap(months[-1]).rts[0].code
        for label, month in (("oldest", months[0]), ("newest", months[-1])):
            raw_s, raw_counts = best(lambda m=month: raw(m), repeat)
            ours_s, rekap = best(lambda m=month: ours.rekap(m), repeat)
            check_same(rekap, raw_counts)
            end = rekap.total.counts("end")
            flows = "/".join(
                str(rekap.total.get(m)) for m in ("births", "arrivals", "deaths", "departures")
            )
            note = f"end {end['total']:,} ({end['kk']:,} KK); b/a/d/p {flows}"
            rows.append(
                [
                    name,
                    f"{month} ({label})",
                    f"raw {'sqlite3' if name == 'SQLite' else 'asyncpg'}",
                    raw_s,
                    "1.00",
                    "",
                ]
            )
            rows.append(
                [
                    name,
                    f"{month} ({label})",
                    "rtbook compute_rekap (in process)",
                    ours_s,
                    f"{ours_s / raw_s:.2f}",
                    note,
                ]
            )
        rt_s, _ = best(lambda: ours.rekap(months[-1], some_rt, "rt"), repeat)
        rows.append(
            [name, f"{months[-1]}", f"rtbook compute_rekap, one RT ({some_rt})", rt_s, "", ""]
        )
    finally:
        ours.close()
    with _city.running_server(url, workdir / f"reports-serve-{name}.log") as base:
        for fmt in ("json", "xlsx"):
            seconds, size = best(lambda f=fmt: http_get(base, token, months[0], f), repeat)
            rows.append(
                [
                    name,
                    f"{months[0]} (oldest)",
                    f"rtbook GET (HTTP, {fmt.upper()})",
                    seconds,
                    "",
                    f"{size:,} bytes",
                ]
            )
    return rows


def main() -> None:
    p = _city.parser(__doc__.splitlines()[0], "rtbook_bench_reports")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--per-month", type=int, default=3000)
    args = p.parse_args()
    months = history_months(args.months)
    table: list[list[object]] = []

    built = _city.sqlite_city(args, "reports")
    assert built.url.sqlite_path is not None
    _city.log(
        f"SQLite city of {built.residents:,} residents; adding {args.months} months of history ..."
    )
    started = time.perf_counter()
    applied = asyncio.run(add_history(built.url, built.rts, months, args.per_month))
    _city.log(f"  {applied:,} services applied in {time.perf_counter() - started:.0f} s")
    path = str(built.url.sqlite_path)
    table += measure(
        "SQLite", built.url, months, args.repeat, args.workdir, lambda m: raw_sqlite(path, m)
    )
    _city.remove_sqlite(built.url.sqlite_path)

    if args.postgres:
        pg = _city.postgres_city(args)
        _city.log("  adding the same history on PostgreSQL ...")
        asyncio.run(add_history(pg.url, pg.rts, months, args.per_month))
        table += measure(
            "PostgreSQL", pg.url, months, args.repeat, args.workdir,
            lambda m: asyncio.run(raw_asyncpg(pg.url.raw, m)),
        )  # fmt: skip
        asyncio.run(_city.drop_postgres(pg.url.raw))

    _city.print_table(
        f"B.3 rekapitulasi of the whole city, {built.residents:,} residents, "
        f"{len(built.rts):,} RTs, {args.months} months x {args.per_month:,} services "
        f"({_city.machine_note()})",
        ["backend", "month", "method", f"seconds (best of {args.repeat})", "x raw", ""],
        table,
    )


if __name__ == "__main__":
    main()
