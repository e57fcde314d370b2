"""Load: 50 concurrent clients mixing reads and batch writes against one real
``rtbook serve`` on SQLite (issue 6, Targets).

Each client loops until time is up, picking at random (seeded): a page of an RT's
residents, events or households as the city admin (each client its own token), or a
batch of 50 completed services as an integrator. Everything is on loopback. Counts
every response by status and every "database is locked" in a response body or in
the server's log, and prints throughput (requests/s, services/s), p50/p99 latency per
kind, the 5xx count (target 0) and the locked count (target 0).

The general API rate limit stays on (every request still pays its counter write)
but is set high enough that 50 clients hammering at full speed are not refused:
what is measured is the database under concurrent reads and writes, not the limit.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 50] [--write-share 0.2]
        [--batch-size 50] [--residents 50000]
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import _city
import _services
import httpx

from rtbook.core.db import make_database
from rtbook.core.settings import DatabaseURL

LOCKED = "database is locked"
READS = ("residents", "events", "households")


async def tokens(url: DatabaseURL, clients: int) -> tuple[list[str], list[str]]:
    """(city admin tokens, integrator tokens), one of each per client."""
    db = make_database(url)
    await db.open()
    try:
        readers, writers = [], []
        for n in range(clients):
            readers.append(
                await _city.user_with_token(db, f"load-admin-{n}", "city_admin", city=_city.CITY)
            )
            writers.append(
                await _city.user_with_token(db, f"load-int-{n}", "integrator", city=_city.CITY)
            )
        return readers, writers
    finally:
        await db.close()


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.requests: Counter[str] = Counter()
        self.services = 0
        self.locked = 0
        self.transport_errors: Counter[str] = Counter()


async def client_loop(
    n: int,
    base: str,
    reader: str,
    writer: str,
    mix: _services.ServiceMix,
    rts: list[str],
    args: object,
    until: float,
    tally: Tally,
) -> None:
    rng = random.Random(1000 + n)
    write_share: float = args.write_share  # type: ignore[attr-defined]
    batch_size: int = args.batch_size  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        while time.monotonic() < until:
            if rng.random() < write_share:
                kind = "services"
                batch = mix.batch(batch_size)
                request = http.post(
                    "/api/v1/services",
                    json={"services": batch},
                    headers={"Authorization": f"Bearer {writer}"},
                )
            else:
                kind = rng.choice(READS)
                request = http.get(
                    f"/api/v1/rts/{rng.choice(rts)}/{kind}",
                    headers={"Authorization": f"Bearer {reader}"},
                )
            started = time.perf_counter()
            try:
                response = await request
            except httpx.HTTPError as exc:
                tally.transport_errors[type(exc).__name__] += 1
                continue
            tally.latency[kind].append(time.perf_counter() - started)
            tally.requests[kind] += 1
            tally.statuses[response.status_code] += 1
            if LOCKED in response.text:
                tally.locked += 1
            if kind == "services" and response.status_code == 200:
                tally.services += sum(r["status"] == "applied" for r in response.json()["results"])


async def run_load(base: str, built: _city.BuiltCity, args: object) -> tuple[Tally, float]:
    clients: int = args.clients  # type: ignore[attr-defined]
    readers, writers = await tokens(built.url, clients)
    people = await _services.load_people(built.url)
    mix = _services.ServiceMix(people, built.rts, seed=7, source="load")
    tally = Tally()
    started = time.monotonic()
    until = started + args.seconds  # type: ignore[attr-defined]
    await asyncio.gather(
        *(
            client_loop(n, base, readers[n], writers[n], mix, built.rts, args, until, tally)
            for n in range(clients)
        )
    )
    return tally, time.monotonic() - started


def main() -> None:
    p = _city.parser(__doc__.splitlines()[0], "rtbook_bench_load")
    p.set_defaults(residents=50_000)
    p.add_argument("--seconds", type=float, default=60.0, help="how long (1..600 s)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--write-share", type=float, default=0.2, help="share of batch writes")
    p.add_argument("--batch-size", type=int, default=50)
    args = p.parse_args()
    if not 1 <= args.seconds <= 600:
        raise SystemExit("--seconds must be 1..600")
    built = _city.sqlite_city(args, "load")
    log_path = Path(args.workdir) / "load-serve.log"
    # high enough not to refuse; every request still counts against it (a write)
    os.environ["RTBOOK_API_RATE_PER_MINUTE"] = "1000000"
    _city.log(
        f"{args.clients} clients for {args.seconds:.0f} s on SQLite "
        f"({built.residents:,} residents, {len(built.rts):,} RTs) ..."
    )
    with _city.running_server(built.url, log_path) as base:
        tally, wall = asyncio.run(run_load(base, built, args))
    server_locked = log_path.read_text(errors="replace").count(LOCKED)
    total = sum(tally.requests.values())
    server_errors = sum(c for s, c in tally.statuses.items() if s >= 500)
    rows = []
    for kind in (*READS, "services"):
        p50, p99, _ = _city.latency_summary(tally.latency[kind] or [float("nan")])
        rows.append([kind, tally.requests[kind], tally.requests[kind] / wall, p50, p99])
    _city.print_table(
        f"{args.clients} clients, {wall:.0f} s, SQLite, {built.residents:,} residents, "
        f"{args.write_share:.0%} batch writes of {args.batch_size} ({_city.machine_note()})",
        ["kind", "requests", "requests/s", "p50 ms", "p99 ms"],
        rows,
    )
    print(f"requests/s: {total / wall:,.1f}   services applied/s: {tally.services / wall:,.1f}")
    print(f"statuses: {dict(sorted(tally.statuses.items()))}")
    print(f"5xx responses: {server_errors} (target 0)")
    print(
        f"'database is locked': {tally.locked} in responses, {server_locked} in the server log"
        " (target 0)"
    )
    if tally.transport_errors:
        print(f"transport errors: {dict(tally.transport_errors)}")
    if built.url.sqlite_path is not None:
        _city.remove_sqlite(built.url.sqlite_path)
    if server_errors or tally.locked or server_locked:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
