"""Read latency of an RT head's pages over HTTP, beside the raw query for the same page.

A city at full scale (760,000 residents by default) behind a real ``rtbook serve``;
RT heads of a sample of RTs each have a token. Their feeds get events first (services
posted over HTTP, not timed). Then, for random RTs of the sample, one request at a
time on a kept-alive connection:

- ``GET /api/v1/rts/{rt}/residents?status=active&limit=50`` (first page)
- ``GET /api/v1/rts/{rt}/events?after=0&limit=50``

and, beside them, the page's own SQL on a long-lived raw connection (sqlite3, or
asyncpg with ``--postgres``): the floor the HTTP path is compared with.
Targets (SQLite, HTTP): p50 <= 10 ms, p99 <= 50 ms.

    .venv/bin/python bench/read_latency.py [--residents N] [--postgres [URL]]
        [--requests 1000] [--sample-rts 50]
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import _city
import _services
import asyncpg
import httpx

from rtbook.core.db import make_database
from rtbook.core.db.sqlite import connect, to_sqlite_sql

# The app's own page queries (rtbook.core.ledger.reads), so the raw baseline runs
# exactly the SQL the endpoint runs, minus the scope check and the JSON.
from rtbook.core.ledger import reads
from rtbook.core.settings import DatabaseURL

PAGE = 50
RESIDENTS_SQL = (
    f"SELECT {reads.RESIDENT_COLUMNS} FROM resident WHERE rt_code = $1 AND status = $2"
    " ORDER BY name, nik LIMIT $3"
)
EVENTS_SQL = reads.EVENTS_SQL
SEED_ITEMS_PER_RT = 20


async def heads_and_integrator(url: DatabaseURL, rts: list[str]) -> tuple[dict[str, str], str]:
    """A token per sampled RT's head, and an integrator token."""
    db = make_database(url)
    await db.open()
    try:
        tokens = {}
        for n, rt in enumerate(rts):
            tokens[rt] = await _city.user_with_token(db, f"ketua-rt-{n:03d}", "rt_head", rts=[rt])
        integrator = await _city.user_with_token(
            db, "bench-integrator", "integrator", city=_city.CITY
        )
        return tokens, integrator
    finally:
        await db.close()


def seed_events(base: str, token: str, mix: _services.ServiceMix, rts: list[str]) -> int:
    """Services about residents of the sampled RTs, so their feeds are not empty."""
    items = mix.batch_for_rts(rts, SEED_ITEMS_PER_RT * len(rts))
    headers = {"Authorization": f"Bearer {token}"}
    applied = 0
    with httpx.Client(base_url=base, headers=headers, timeout=300) as http:
        for start in range(0, len(items), 500):
            answer = http.post("/api/v1/services", json={"services": items[start : start + 500]})
            answer.raise_for_status()
            applied += sum(r["status"] == "applied" for r in answer.json()["results"])
    return applied


def http_latencies(
    base: str, tokens: dict[str, str], order: list[str], path: str
) -> tuple[list[float], int]:
    """Seconds per request (one at a time, kept-alive connection) and items seen."""
    seconds: list[float] = []
    items = 0
    with httpx.Client(base_url=base, timeout=60) as http:
        for rt in order[:20]:  # warm-up, not counted
            http.get(path.format(rt=rt), headers={"Authorization": f"Bearer {tokens[rt]}"})
        for rt in order:
            headers = {"Authorization": f"Bearer {tokens[rt]}"}
            started = time.perf_counter()
            answer = http.get(path.format(rt=rt), headers=headers)
            seconds.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"HTTP {answer.status_code} for {path}: {answer.text[:300]}")
            items += len(answer.json()["items"])
    return seconds, items


def raw_sqlite_latencies(url: DatabaseURL, order: list[str]) -> dict[str, list[float]]:
    assert url.sqlite_path is not None
    conn = connect(url.sqlite_path, read_only=True)
    residents_sql, events_sql = to_sqlite_sql(RESIDENTS_SQL), to_sqlite_sql(EVENTS_SQL)
    out: dict[str, list[float]] = {"residents": [], "events": []}
    try:
        for rt in order[:20]:
            conn.execute(residents_sql, (rt, "active", PAGE + 1)).fetchall()
        for rt in order:
            started = time.perf_counter()
            conn.execute(residents_sql, (rt, "active", PAGE + 1)).fetchall()
            out["residents"].append(time.perf_counter() - started)
            started = time.perf_counter()
            conn.execute(events_sql, (rt, 0, PAGE)).fetchall()
            out["events"].append(time.perf_counter() - started)
    finally:
        conn.close()
    return out


async def raw_postgres_latencies(url: DatabaseURL, order: list[str]) -> dict[str, list[float]]:
    conn = await asyncpg.connect(url.raw)
    out: dict[str, list[float]] = {"residents": [], "events": []}
    try:
        for rt in order[:20]:
            await conn.fetch(RESIDENTS_SQL, rt, "active", PAGE + 1)
        for rt in order:
            started = time.perf_counter()
            await conn.fetch(RESIDENTS_SQL, rt, "active", PAGE + 1)
            out["residents"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await conn.fetch(EVENTS_SQL, rt, 0, PAGE)
            out["events"].append(time.perf_counter() - started)
    finally:
        await conn.close()
    return out


def run_backend(label: str, built: _city.BuiltCity, args: Any, table: list[list[object]]) -> None:
    rng = random.Random(args.seed)
    sample = sorted(rng.sample(built.rts, min(args.sample_rts, len(built.rts))))
    order = [rng.choice(sample) for _ in range(args.requests)]
    tokens, integrator = asyncio.run(heads_and_integrator(built.url, sample))
    people = asyncio.run(_services.load_people(built.url))
    mix = _services.ServiceMix(people, built.rts, seed=args.seed, source="siak-6471")
    log_path = args.workdir / f"read-{label.lower()}-server.log"
    paths = {
        "residents": f"/api/v1/rts/{{rt}}/residents?status=active&limit={PAGE}",
        "events": f"/api/v1/rts/{{rt}}/events?after=0&limit={PAGE}",
    }
    with _city.running_server(built.url, log_path) as base:
        applied = seed_events(base, integrator, mix, sample)
        _city.log(f"{label}: {applied:,} services applied to fill the sampled RTs' feeds")
        for page, path in paths.items():
            _city.log(f"{label}: {args.requests} x GET {path} ...")
            seconds, items = http_latencies(base, tokens, order, path)
            table.append(
                [
                    label,
                    page,
                    "HTTP (rtbook serve)",
                    len(seconds),
                    *_city.latency_summary(seconds),
                    items / len(seconds),
                ]
            )
    if built.url.dialect == "sqlite":
        raw = raw_sqlite_latencies(built.url, order)
        raw_name = "raw sqlite3 query"
    else:
        raw = asyncio.run(raw_postgres_latencies(built.url, order))
        raw_name = "raw asyncpg query"
    for page in paths:
        table.append([label, page, raw_name, len(raw[page]), *_city.latency_summary(raw[page]), ""])


def main() -> None:
    p = _city.parser(__doc__.splitlines()[0], "rtbook_bench_read")
    p.add_argument("--requests", type=int, default=1000, help="requests per page kind")
    p.add_argument("--sample-rts", type=int, default=50, help="RTs (and RT heads) sampled")
    args = p.parse_args()
    table: list[list[object]] = []
    built = _city.sqlite_city(args, "read")
    try:
        run_backend("SQLite", built, args, table)
    finally:
        assert built.url.sqlite_path is not None
        _city.remove_sqlite(built.url.sqlite_path)
    residents = built.residents
    if args.postgres:
        try:
            run_backend("PostgreSQL", _city.postgres_city(args), args, table)
        finally:
            asyncio.run(_city.drop_postgres(args.postgres))
    _city.print_table(
        f"RT head's pages, {residents:,} residents, {len(built.rts):,} RTs, "
        f"page of {PAGE} ({_city.machine_note()})",
        ["backend", "page", "path", "requests", "p50 ms", "p99 ms", "mean ms", "items/page"],
        table,
    )


if __name__ == "__main__":
    main()
