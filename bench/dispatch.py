"""Events per second that ``rtbook worker`` dispatches to a no-op plugin.

    .venv/bin/python bench/dispatch.py [--events 50000] [--postgres [URL]]
                                       [--streams 4] [--workdir DIR]

The events are loaded straight into the ``event`` table (set-up, not timed). Each run
starts from empty checkpoints and runs N worker processes (the real
``rtbook.core.dispatch.worker.run_worker`` loop, with a no-op plugin registered on the
real ``PluginRegistry``); the clock starts when every worker is ready and stops when
every stream's checkpoint has reached the end of its city's feed. Streams are
(plugin, city) pairs: one plugin enabled in 1 or ``--streams`` cities, the events
split evenly between them. Default checkpointing (one write per event) unless the
row says otherwise. A figure, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import _city
from _city import log, print_table

import rtbook
from rtbook.core.db import Connection, Database, make_database
from rtbook.core.settings import DatabaseURL

DEFAULT_POSTGRES = _city.POSTGRES_SERVER + "rtbook_bench_dispatch"
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
DATA = json.dumps(
    {
        "service_type": "ktp_el",
        "service_id": "bench",
        "effect": "document_issued",
        "resident": {"name": "WARGA", "nik_masked": "************0001"},
        "summary": "KTP-el diterbitkan untuk WARGA",
    }
)
PLUGIN = "noop"


async def load(url: DatabaseURL, events: int, cities: list[str]) -> None:
    """Cities, their events and the no-op plugin enabled in each (start_seq 0)."""
    db = make_database(url)
    await db.open()
    per_city = events // len(cities)

    async def unit(conn: Connection) -> None:
        for code in cities:
            await conn.execute(
                "INSERT INTO city (code, name, province_code, timezone, event_seq, created_at)"
                " VALUES ($1, $2, '64', 'Asia/Makassar', $3, $4)",
                code,
                f"Kota {code}",
                per_city,
                NOW,
            )
            rt = f"{code}.01.1001-001-001"
            await conn.copy_rows(
                "event",
                ["city_code", "seq", "rt_code", "effect", "time", "data", "created_at"],
                [
                    (code, seq, rt, "document_issued", NOW, DATA, NOW)
                    for seq in range(1, per_city + 1)
                ],
            )
            await conn.execute(
                "INSERT INTO plugin_setting (city_code, plugin, enabled, config, start_seq,"
                " updated_at) VALUES ($1, $2, $3, '{}', 0, $4)",
                code,
                PLUGIN,
                True,
                NOW,
            )

    try:
        await db.write(unit)
    finally:
        await db.close()


async def reset(db: Database, cities: list[str]) -> None:
    async def unit(conn: Connection) -> None:
        await conn.execute("DELETE FROM dispatch_checkpoint")
        await conn.execute("DELETE FROM dispatch_failure")
        await conn.execute("DELETE FROM worker_lease")
        marks = ", ".join(f"${i}" for i in range(1, len(cities) + 1))
        await conn.execute(f"UPDATE plugin_setting SET enabled = (city_code IN ({marks}))", *cities)

    await db.write(unit)


async def dispatched(db: Database, cities: list[str]) -> int:
    marks = ", ".join(f"${i}" for i in range(1, len(cities) + 1))
    value = await db.read(
        lambda conn: conn.fetchval(
            f"SELECT COALESCE(sum(last_seq), 0) FROM dispatch_checkpoint"
            f" WHERE plugin = '{PLUGIN}' AND city_code IN ({marks})",
            *cities,
        )
    )
    return int(value)


# -- a worker process ----------------------------------------------------------------------


class NoopPlugin:
    """Implements the hook and does nothing."""

    @rtbook.hookimpl
    def rtbook_service_completed(self, event: dict, city: str, config: dict) -> None:
        return None


def child(url: str, go_file: str, checkpoint_every: int) -> None:
    """One worker: ready, wait for the go file, dispatch until SIGTERM."""
    import signal

    from rtbook.core.dispatch.options import WorkerOptions
    from rtbook.core.dispatch.worker import run_worker
    from rtbook.core.plugins.registry import PluginRegistry

    registry = PluginRegistry()
    registry.register(PLUGIN, NoopPlugin())

    async def main() -> None:
        db = make_database(DatabaseURL.parse(url))
        await db.open()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        while not os.path.exists(go_file):
            await asyncio.sleep(0.002)
        options = WorkerOptions(checkpoint_every=checkpoint_every, poll_seconds=0.05)
        stats = await run_worker(db, registry, once=False, stop=stop, options=options)
        print(json.dumps({"delivered": stats.delivered, "errors": stats.errors}), flush=True)
        await db.close()

    asyncio.run(main())


@dataclass
class Row:
    backend: str
    workers: int
    streams: int
    events: int
    checkpoint_every: int
    seconds: float
    per_worker: list[int]

    def cells(self) -> list[object]:
        return [
            self.backend,
            self.workers,
            self.streams,
            self.events,
            self.checkpoint_every,
            self.seconds,
            self.events / self.seconds,
            "/".join(f"{n:,}" for n in self.per_worker),
        ]


async def measure(
    backend: str, url: DatabaseURL, cities: list[str], workers: int, checkpoint_every: int
) -> Row:
    db = make_database(url)
    await db.open()
    try:
        await reset(db, cities)
        total = int(
            await db.read(
                lambda conn: conn.fetchval(
                    "SELECT sum(event_seq) FROM city WHERE code IN ("
                    + ", ".join(f"${i}" for i in range(1, len(cities) + 1))
                    + ")",
                    *cities,
                )
            )
        )
        with tempfile.TemporaryDirectory() as tmp:
            go = Path(tmp) / "go"
            procs = [
                subprocess.Popen(
                    [sys.executable, __file__, "--child", url.raw, str(go), str(checkpoint_every)],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(workers)
            ]
            for proc in procs:
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise SystemExit("a worker did not start")
            start = time.perf_counter()
            go.touch()
            while await dispatched(db, cities) < total:
                await asyncio.sleep(0.01)
            seconds = time.perf_counter() - start
            per_worker = []
            for proc in procs:
                proc.terminate()
                out, _ = proc.communicate(timeout=60)
                result = json.loads(out.strip().splitlines()[-1])
                per_worker.append(int(result["delivered"]))
        log(f"  {backend}: {workers} worker(s), {len(cities)} stream(s): {total / seconds:,.0f}/s")
        return Row(backend, workers, len(cities), total, checkpoint_every, seconds, per_worker)
    finally:
        await db.close()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--streams", type=int, default=4, help="cities for multi-stream rows")
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, default=None)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "rtbook-bench"
    )
    args = parser.parse_args()

    rows: list[Row] = []
    path = args.workdir / "dispatch.db"
    sqlite = _city.migrated_sqlite(path)
    try:
        rows += asyncio.run(_single_and_multi("SQLite", sqlite, args, sqlite_plans()))
    finally:
        _city.remove_sqlite(path)
    if args.postgres:
        url = asyncio.run(_city.recreate_postgres(args.postgres))
        try:
            rows += asyncio.run(_single_and_multi("PostgreSQL", url, args, postgres_plans()))
        finally:
            asyncio.run(_city.drop_postgres(args.postgres))
    print_table(
        f"Dispatch to a no-op plugin ({_city.machine_note()})",
        [
            "backend",
            "workers",
            "streams",
            "events",
            "checkpoint every",
            "seconds",
            "events/s",
            "delivered per worker",
        ],
        [row.cells() for row in rows],
    )


# (workers, streams: 1 = one city, 0 = --streams cities, checkpoint every N events)
def sqlite_plans() -> list[tuple[int, int, int]]:
    return [(1, 1, 1), (1, 0, 1), (1, 1, 50)]


def postgres_plans() -> list[tuple[int, int, int]]:
    return [(1, 1, 1), (1, 0, 1), (2, 0, 1), (1, 1, 50)]


async def _single_and_multi(
    backend: str, url: DatabaseURL, args: argparse.Namespace, plans: list[tuple[int, int, int]]
) -> list[Row]:
    """Load ``events`` into one city (single-stream rows) and the same number spread
    over ``--streams`` other cities (multi-stream rows: streams 0 in a plan)."""
    multi = [f"65.{i + 1:02d}" for i in range(args.streams)]
    single = ["64.71"]
    log(f"{backend}: loading {args.events:,} events into 1 city and {len(multi)} cities ...")
    await load(url, args.events, single)
    await load(url, args.events, multi)
    rows = []
    for workers, streams, every in plans:
        rows.append(await measure(backend, url, single if streams == 1 else multi, workers, every))
    return rows


if __name__ == "__main__":
    main()
