"""A city-wide lansia CSV: rtbook's export beside a raw sqlite3 query + csv.writer.

The city at full scale (760,000 residents by default, ~7.6 % of them 60 or over),
the lansia plugin enabled with ``min_age`` 60, the list as of today. Three ways to
produce the same CSV (the contract's header and rows, checked byte for byte):

- ``raw``: one sqlite3 query over the whole city ordered by RT, name, NIK, iterated
  row by row into ``csv.writer`` (the floor: no scope check, no audit, no paging);
- ``rtbook (in process)``: what ``GET /api/v1/lansia`` runs, minus HTTP: the
  write unit that checks the area and the scope, reads the first page and writes the
  audit row, then one read unit per page of 1,000 rows (keyset over RTs and names),
  through the CSV encoder;
- ``rtbook (HTTP)``: ``GET /api/v1/lansia?area=64.71`` with ``Accept: text/csv``
  from a real ``rtbook serve``, downloaded as a stream with httpx.

Times are the best of ``--repeat`` runs, after one run of each that is not counted
(the in-process export keeps its Database open across runs, as a server does).
Memory: the peak of Python allocations while producing the CSV (tracemalloc, in a
separate run: tracing slows Python down) for the in-process ways, and the server's
peak RSS before and after the HTTP downloads (VmHWM) for the HTTP way. Target:
rtbook within 2x the raw time, memory flat (independent of the list's length).

    .venv/bin/python bench/lansia.py [--residents N] [--repeat 3]
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import sqlite3
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import _city
import httpx

import rtbook_lansia
from rtbook.core.auth import load_principal
from rtbook.core.db import Connection, Database, make_database
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.settings import DatabaseURL
from rtbook_lansia.ages import age_on, latest_birth_date
from rtbook_lansia.exports import csv_chunks
from rtbook_lansia.listing import iter_pages, parse_query, start_list

MIN_AGE = 60
RAW_SQL = (
    "SELECT nik, name, sex, birth_date, rt_code, address FROM resident"
    " WHERE city_code = ? AND status = 'active' AND birth_date <= ?"
    " ORDER BY rt_code, name, nik"
)


class Sink:
    """Where a CSV goes: counted and hashed, never kept (like a socket)."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.bytes = 0

    def write(self, data: str | bytes) -> int:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        self.hash.update(raw)
        self.bytes += len(raw)
        return len(data)


# -- the three ways ------------------------------------------------------------------


def raw_csv(path: Path, as_of: date, sink: Sink) -> int:
    """The raw floor: one query, csv.writer, the same columns and age rule."""
    conn = sqlite3.connect(path)
    try:
        writer = csv.writer(sink)
        writer.writerow(("nik", "name", "sex", "birth_date", "age", "rt", "address"))
        rows = 0
        cutoff = latest_birth_date(as_of, MIN_AGE).isoformat()
        for nik, name, sex, birth, rt, address in conn.execute(RAW_SQL, (_city.CITY, cutoff)):
            born = date.fromisoformat(birth)
            writer.writerow((nik, name, sex, birth, age_on(born, as_of), rt, address or ""))
            rows += 1
        return rows
    finally:
        conn.close()


async def rtbook_csv(
    db: Database, user_id: int, as_of: date, sink: Sink, area: str = _city.CITY
) -> int:
    """The route's own path (rtbook_lansia.routes.lansia_list) without HTTP, on an
    open Database (as a server has)."""
    principal = await db.read(lambda conn: load_principal(conn, user_id))
    query = parse_query(area, as_of.isoformat())
    start = await db.write(start_list(principal, query, "csv", with_doses=False))
    rows = 0

    async def counted() -> Any:
        nonlocal rows
        async for page in iter_pages(db, start):
            rows += len(page)
            yield page

    async for chunk in csv_chunks(counted()):
        sink.write(chunk)
    return rows


class InProcess:
    """The in-process export on one long-lived event loop and open Database."""

    def __init__(self, url: DatabaseURL, user_id: int, as_of: date) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = make_database(url)
        self.loop.run_until_complete(self.db.open())
        self.user_id, self.as_of = user_id, as_of

    def __call__(self, sink: Sink, area: str = _city.CITY) -> int:
        return self.loop.run_until_complete(
            rtbook_csv(self.db, self.user_id, self.as_of, sink, area)
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.db.close())
        self.loop.close()


def http_csv(base: str, token: str, as_of: date, sink: Sink) -> int:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
    params = {"area": _city.CITY, "as_of": as_of.isoformat()}
    with (
        httpx.Client(base_url=base, timeout=600) as http,
        http.stream("GET", "/api/v1/lansia", params=params, headers=headers) as answer,
    ):
        if answer.status_code != 200:
            raise SystemExit(f"HTTP {answer.status_code}: {answer.read()[:300]!r}")
        for chunk in answer.iter_raw():
            sink.write(chunk)
    return -1  # rows are counted from the bytes by the caller


# -- setup ---------------------------------------------------------------------------


async def prepare(url: DatabaseURL) -> tuple[int, str]:
    """Enable lansia (min_age 60) in the city; a city_admin: (user id, token)."""
    registry = PluginRegistry()
    registry.register("lansia", rtbook_lansia)
    async with make_database(url) as db:

        async def unit(conn: Connection) -> None:
            await set_plugin(
                conn, registry, _city.CITY, "lansia", enabled=True,
                config={"min_age": MIN_AGE}, user_id=None,
            )  # fmt: skip

        await db.write(unit)
        token = await _city.user_with_token(db, "bench-lansia-admin", "city_admin", city=_city.CITY)
        user_id = await db.read(
            lambda conn: conn.fetchval(
                "SELECT id FROM rtbook_user WHERE username = $1", "bench-lansia-admin"
            )
        )
    return int(user_id), token


def timed(run: Callable[[Sink], int], repeat: int) -> tuple[float, Sink, int]:
    """Best wall time of ``repeat`` runs, the last run's sink and rows."""
    best = float("inf")
    sink, rows = Sink(), 0
    for _ in range(repeat):
        sink = Sink()
        started = time.perf_counter()
        rows = run(sink)
        best = min(best, time.perf_counter() - started)
    return best, sink, rows


def traced_peak(run: Callable[[Sink], int]) -> float:
    """Peak MiB of Python allocations during one run (tracemalloc)."""
    tracemalloc.start()
    try:
        run(Sink())
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def server_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve(url: DatabaseURL, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _city.free_port()
    env = dict(os.environ, RTBOOK_DATABASE_URL=url.raw, RTBOOK_SECRET_KEY=_city.SECRET_KEY)
    out = log_path.open("wb")
    proc = subprocess.Popen(
        [str(_city.RTBOOK), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    _city._wait_healthy(base, proc, log_path)
    return proc, base


def main() -> None:
    p = _city.parser(__doc__.splitlines()[0], "rtbook_bench_lansia")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if args.postgres:
        raise SystemExit("bench/lansia.py compares with raw sqlite3: SQLite only")
    built = _city.sqlite_city(args, "lansia")
    assert built.url.sqlite_path is not None
    path = built.url.sqlite_path
    as_of = date.today()
    user_id, token = asyncio.run(prepare(built.url))
    _city.log(f"city of {built.residents:,} residents; lansia list as of {as_of} ...")

    def raw(sink: Sink) -> int:
        return raw_csv(path, as_of, sink)

    in_process = InProcess(built.url, user_id, as_of)
    in_process(Sink())  # warm-up, not counted (a server's connections are warm too)
    raw(Sink())
    raw_s, raw_sink, rows = timed(raw, args.repeat)
    _city.log(f"  raw: {rows:,} rows in {raw_s:.2f} s")
    ours_s, ours_sink, ours_rows = timed(in_process, args.repeat)
    _city.log(f"  rtbook in process: {ours_rows:,} rows in {ours_s:.2f} s")
    if (ours_sink.hash.digest(), ours_rows) != (raw_sink.hash.digest(), rows):
        raise SystemExit("rtbook's CSV differs from the raw CSV")

    proc, base = serve(built.url, args.workdir / "lansia-serve.log")
    try:
        http_csv(base, token, as_of, Sink())  # warm-up, not counted
        rss_before = server_peak_mib(proc.pid)
        http_s, http_sink, _ = timed(lambda s: http_csv(base, token, as_of, s), args.repeat)
        rss_after = server_peak_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if http_sink.hash.digest() != raw_sink.hash.digest():
        raise SystemExit("the CSV served over HTTP differs from the raw CSV")
    _city.log(f"  rtbook over HTTP: {http_s:.2f} s")

    raw_mib = traced_peak(raw)
    ours_mib = traced_peak(in_process)
    # flat memory: the same export for one kelurahan (a fraction of the city)
    kelurahan = built.rts[0].split("-")[0]
    one_area = traced_peak(lambda sink: in_process(sink, kelurahan))
    area_rows = in_process(Sink(), kelurahan)
    in_process.close()

    _city.print_table(
        f"City-wide lansia CSV, {built.residents:,} residents, {rows:,} lansia "
        f"({_city.machine_note()})",
        ["method", f"seconds (best of {args.repeat})", "rows/s", "x raw", "MiB", "memory"],
        [
            ["raw sqlite3 query + csv.writer", raw_s, rows / raw_s, "1.00", raw_mib,
             "tracemalloc peak"],
            ["rtbook export (in process)", ours_s, rows / ours_s, f"{ours_s / raw_s:.2f}",
             ours_mib, "tracemalloc peak"],
            ["rtbook GET /api/v1/lansia (HTTP)", http_s, rows / http_s,
             f"{http_s / raw_s:.2f}", rss_after - rss_before,
             f"server peak RSS growth ({rss_before:.0f} -> {rss_after:.0f} MiB)"],
            [f"rtbook export, one kelurahan ({area_rows:,} rows)", "", "", "", one_area,
             "tracemalloc peak (flat: about the city's)"],
        ],
    )  # fmt: skip
    _city.log(f"CSV: {raw_sink.bytes:,} bytes, identical across the three")
    _city.remove_sqlite(path)


if __name__ == "__main__":
    main()
