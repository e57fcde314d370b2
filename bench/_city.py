"""Shared setup for the benchmarks: a Balikpapan-sized city database, users and tokens,
a real ``rtbook serve`` process, and the figures (percentiles, tables).

A city is Kota Balikpapan (64.71) with its kecamatan and kelurahan from the shared
region list, RTs spread over its 34 kelurahan (~450 residents each) and residents from
:func:`rtbook.synthetic.generate_residents`, loaded with the real importer. Building a
full city takes a minute, so a SQLite city is kept in the work directory (keyed by
size, seed and schema) and copied for each run; ``--fresh`` builds it again.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/x.py` from anywhere
    sys.path.insert(0, str(REPO))

from rtbook.core.auth import create_token  # noqa: E402
from rtbook.core.db import Database, make_database  # noqa: E402
from rtbook.core.importer import ImportReport, import_residents  # noqa: E402
from rtbook.core.regions import add_city, read_city_regions  # noqa: E402
from rtbook.core.rts import add_rts  # noqa: E402
from rtbook.core.schema import migration_ids, run_migrations  # noqa: E402
from rtbook.core.settings import DatabaseURL  # noqa: E402
from rtbook.core.users import insert_user, new_user  # noqa: E402
from rtbook.synthetic import generate_residents, spread_rts  # noqa: E402

REGIONS_FILE = REPO.parent / "shared" / "data" / "wilayah" / "wilayah.csv"
CITY = "64.71"
CITY_TIMEZONE = "Asia/Makassar"
HOUSEHOLDS_PER_RT = 150
RESIDENTS_PER_RT = 450  # ~3 per household
FULL_RESIDENTS = 760_000  # Balikpapan: ~1,700 RTs
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/"
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})
RTBOOK = REPO / ".venv" / "bin" / "rtbook"
SECRET_KEY = "bench-secret-key-" + "x" * 40


# -- command line ----------------------------------------------------------------------


def parser(description: str, database: str) -> argparse.ArgumentParser:
    """The options every benchmark takes; ``database`` names its own PostgreSQL
    database (created and dropped by the run; never the test suite's ``test``)."""
    default_postgres = POSTGRES_SERVER + database
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--residents",
        type=int,
        default=FULL_RESIDENTS,
        help=f"city size (default {FULL_RESIDENTS:,}: Balikpapan); ~{RESIDENTS_PER_RT} per RT",
    )
    p.add_argument(
        "--postgres",
        nargs="?",
        const=default_postgres,
        default=None,
        metavar="URL",
        help=f"also run on PostgreSQL (default URL {default_postgres}); the database is "
        "created and dropped by the benchmark",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "rtbook-bench",
        help="where databases and the cached city live",
    )
    p.add_argument("--fresh", action="store_true", help="build the cached SQLite city again")
    return p


def rt_count(residents: int) -> int:
    return max(1, math.ceil(residents / RESIDENTS_PER_RT))


def kelurahan_of_city(path: Path = REGIONS_FILE, city: str = CITY) -> list[str]:
    prefix = city + "."
    codes = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            code = line.split(",", 1)[0].strip()
            if code.startswith(prefix) and len(code) == 13:
                codes.append(code)
    return codes


def city_rts(residents: int) -> list[str]:
    return spread_rts(kelurahan_of_city(), rt_count(residents))


def resident_rows(
    rts: Sequence[str], seed: int, today: date | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) as the importer reads a CSV (line 1 is the header)."""
    rows = generate_residents(
        rts, households_per_rt=HOUSEHOLDS_PER_RT, seed=seed, today=today or date.today()
    )
    yield from enumerate(rows, start=2)


# -- databases -------------------------------------------------------------------------


def sqlite_url(path: Path) -> DatabaseURL:
    return DatabaseURL.parse(f"sqlite:///{path}")


def _database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit(f"--postgres URL needs a database name: {url}")
    if name in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to create/drop database {name!r}: pick another name")
    return name


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


async def recreate_postgres(url: str) -> DatabaseURL:
    """Drop and create the benchmark's own PostgreSQL database, then migrate it."""
    name = _database_name(url)
    conn = await asyncpg.connect(_maintenance_url(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parsed = DatabaseURL.parse(url)
    run_migrations(parsed)
    return parsed


async def drop_postgres(url: str) -> None:
    name = _database_name(url)
    conn = await asyncpg.connect(_maintenance_url(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrated_sqlite(path: Path) -> DatabaseURL:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_sqlite(path)
    url = sqlite_url(path)
    run_migrations(url)
    return url


def remove_sqlite(path: Path) -> None:
    """A SQLite file and its companions (WAL, shared memory, secret key)."""
    for suffix in ("", "-wal", "-shm", ".secret"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_sqlite(source: Path, target: Path) -> DatabaseURL:
    remove_sqlite(target)
    shutil.copyfile(source, target)
    return sqlite_url(target)


async def add_city_and_rts(db: Database, rts: Sequence[str]) -> None:
    regions = read_city_regions(REGIONS_FILE, CITY)

    async def unit(conn):  # type: ignore[no-untyped-def]
        await add_city(conn, regions, CITY_TIMEZONE)
        await add_rts(conn, rts)

    await db.write(unit)


async def prepare_city(url: DatabaseURL, rts: Sequence[str]) -> None:
    """The city and its RTs (no residents) in a migrated database."""
    db = make_database(url)
    await db.open()
    try:
        await add_city_and_rts(db, rts)
    finally:
        await db.close()


@dataclass(slots=True)
class BuiltCity:
    url: DatabaseURL
    rts: list[str]
    residents: int
    seconds: float  # generation + import


async def build_city(url: DatabaseURL, residents: int, seed: int) -> BuiltCity:
    """City, RTs and residents in a migrated, empty database."""
    rts = city_rts(residents)
    db = make_database(url)
    await db.open()
    try:
        await add_city_and_rts(db, rts)
        started = time.perf_counter()
        report: ImportReport = await import_residents(db, resident_rows(rts, seed), CITY)
        seconds = time.perf_counter() - started
    finally:
        await db.close()
    if report.bad_rows:
        raise SystemExit(f"city import refused rows: {report.bad_rows[:3]}")
    return BuiltCity(url, rts, report.imported, seconds)


def _schema_key() -> str:
    ids = sorted(f"{app}:{mid}" for app, mids in migration_ids().items() for mid in mids)
    synthetic = (REPO / "rtbook" / "synthetic.py").read_bytes()
    return hashlib.sha256("|".join(ids).encode() + synthetic).hexdigest()[:10]


def sqlite_city(args: argparse.Namespace, run_name: str) -> BuiltCity:
    """A SQLite copy of the cached city for this run (built first when missing)."""
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    stem = f"city-{args.residents}-s{args.seed}-"
    cached = workdir / f"{stem}{_schema_key()}.db"
    if args.fresh or not cached.exists():
        building = cached.with_suffix(".building")
        log(f"building SQLite city of ~{args.residents:,} residents (cached for next runs) ...")
        built = asyncio.run(build_city(migrated_sqlite(building), args.residents, args.seed))
        log(f"  {built.residents:,} residents in {len(built.rts):,} RTs, {built.seconds:.1f} s")
        _checkpoint(building)
        building.replace(cached)
        remove_sqlite(building)
        for stale in workdir.glob(f"{stem}*.db"):  # older schema or generator
            if stale != cached:
                remove_sqlite(stale)
    target = workdir / f"{run_name}.db"
    url = copy_sqlite(cached, target)
    return BuiltCity(url, city_rts(args.residents), _count_residents(url), 0.0)


def postgres_city(args: argparse.Namespace) -> BuiltCity:
    url = asyncio.run(recreate_postgres(args.postgres))
    log(f"building PostgreSQL city of ~{args.residents:,} residents ...")
    built = asyncio.run(build_city(url, args.residents, args.seed))
    log(f"  {built.residents:,} residents in {len(built.rts):,} RTs, {built.seconds:.1f} s")
    asyncio.run(_analyze(url))
    return built


async def _analyze(url: DatabaseURL) -> None:
    conn = await asyncpg.connect(url.raw)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def _checkpoint(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _count_residents(url: DatabaseURL) -> int:
    import sqlite3

    assert url.sqlite_path is not None
    conn = sqlite3.connect(url.sqlite_path)
    try:
        return int(conn.execute("SELECT count(*) FROM resident").fetchone()[0])
    finally:
        conn.close()


# -- users and tokens ------------------------------------------------------------------


async def user_with_token(
    db: Database, username: str, role: str, *, city: str | None = None, rts: Sequence[str] = ()
) -> str:
    user = new_user(username, role, city=city, rts=rts)

    async def unit(conn):  # type: ignore[no-untyped-def]
        user_id = await insert_user(conn, user)
        return await create_token(conn, user_id)

    return await db.write(unit)


# -- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(url: DatabaseURL, log_path: Path) -> Iterator[str]:
    """``rtbook serve`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = dict(os.environ, RTBOOK_DATABASE_URL=url.raw, RTBOOK_SECRET_KEY=SECRET_KEY)
    env.pop("RTBOOK_TRACE_PLUGINS", None)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [str(RTBOOK), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, proc, log_path)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rtbook serve exited ({proc.returncode}); see {log_path}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"rtbook serve did not become healthy; see {log_path}")


# -- figures ---------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> tuple[float, float, float]:
    """(p50, p99, mean) in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return percentile(ms, 50), percentile(ms, 99), statistics.fmean(ms)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table (pastes straight into bench/README.md)."""
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print()
    print(f"### {title}")
    print()
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print()


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine_note() -> str:
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}"
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
