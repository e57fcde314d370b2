"""Service ingestion over HTTP: completed services per second into a loaded city.

A real ``rtbook serve`` process on loopback, an integrator token, and one httpx client
posting batches of 500 realistic items (KTP-el, KIA, KK, births, moves, deaths,
marriages, divorces) to ``POST /api/v1/services``, one batch after the other (and, with
``--clients N``, N clients at once). The city is loaded first (full Balikpapan scale by
default), so every item is applied against a ledger of that size.

Prints services/s and the p50/p99 latency of one batch, on SQLite and, with
``--postgres [URL]``, on PostgreSQL. Target: >= 2,000 services/s on SQLite.

    .venv/bin/python bench/ingest_http.py [--residents N] [--postgres [URL]]
        [--batches 40] [--batch-size 500] [--clients 1]
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import _city
import _services
import httpx

from rtbook.core.db import make_database
from rtbook.core.settings import DatabaseURL


async def integrator_token(url: DatabaseURL) -> str:
    db = make_database(url)
    await db.open()
    try:
        return await _city.user_with_token(db, "bench-integrator", "integrator", city=_city.CITY)
    finally:
        await db.close()


async def post_batches(
    base: str, token: str, batches: list[list[dict[str, Any]]], clients: int
) -> tuple[float, list[float], Counter[str], Counter[str]]:
    """Send every batch; (wall seconds, per-batch seconds, statuses, first errors)."""
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as http:
            while not queue.empty():
                batch = queue.get_nowait()
                started = time.perf_counter()
                answer = await http.post("/api/v1/services", json={"services": batch})
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"HTTP {answer.status_code}: {answer.text[:300]}")
                for result in answer.json()["results"]:
                    statuses[result["status"]] += 1
                    for error in result.get("errors", []):
                        errors[f"{error['field']}: {error['message'][:90]}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, statuses, errors


def run_backend(label: str, built: _city.BuiltCity, args: Any, table: list[list[object]]) -> None:
    url = built.url
    token = asyncio.run(integrator_token(url))
    _city.log(f"{label}: loading residents for the service mix ...")
    people = asyncio.run(_services.load_people(url))
    mix = _services.ServiceMix(people, built.rts, seed=args.seed, source="siak-6471")
    warmup = [mix.batch(args.batch_size)]
    batches = [mix.batch(args.batch_size) for _ in range(args.batches)]
    log_path = args.workdir / f"ingest-{label.lower()}-server.log"
    with _city.running_server(url, log_path) as base:
        _city.log(f"{label}: warm-up batch, then {args.batches} x {args.batch_size} items ...")
        asyncio.run(post_batches(base, token, warmup, 1))
        wall, latencies, statuses, errors = asyncio.run(
            post_batches(base, token, batches, args.clients)
        )
    sent = sum(len(b) for b in batches)
    p50, p99, mean = _city.latency_summary(latencies)
    table.append(
        [
            label,
            f"{built.residents:,}",
            sent,
            args.clients,
            sent / wall,
            p50,
            p99,
            mean,
            f"{statuses['applied']:,}/{statuses['rejected']:,}/{statuses['duplicate']:,}",
        ]
    )
    if errors:
        _city.log(f"{label}: rejections: {errors.most_common(5)}")


def main() -> None:
    p = _city.parser(__doc__.splitlines()[0], "rtbook_bench_ingest")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--clients", type=int, default=1)
    args = p.parse_args()
    table: list[list[object]] = []

    built = _city.sqlite_city(args, "ingest")
    try:
        run_backend("SQLite", built, args, table)
    finally:
        assert built.url.sqlite_path is not None
        _city.remove_sqlite(built.url.sqlite_path)
    if args.postgres:
        try:
            run_backend("PostgreSQL", _city.postgres_city(args), args, table)
        finally:
            asyncio.run(_city.drop_postgres(args.postgres))

    _city.print_table(
        f"Services over HTTP, batches of {args.batch_size} ({_city.machine_note()})",
        [
            "backend",
            "residents",
            "services",
            "clients",
            "services/s",
            "batch p50 ms",
            "batch p99 ms",
            "batch mean ms",
            "applied/rejected/dup",
        ],
        table,
    )


if __name__ == "__main__":
    main()
