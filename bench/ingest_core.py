"""Time ``ingest_services`` itself (no HTTP): batches of ktp_el items on SQLite.

    .venv/bin/python bench/ingest_core.py [--items 500] [--rounds 5] [--residents 5000]

Prints services per second for each round and the median. A figure, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection, make_database
from rtbook.core.ledger.ingest import ingest_services
from rtbook.core.schema import run_migrations
from rtbook.core.settings import DatabaseURL

CITY = "64.71"
RT = "64.71.06.1005-003-005"
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def nik(serial: int) -> str:
    return f"64710605078{serial:05d}"


async def load(conn: Connection, residents: int) -> None:
    await conn.execute(
        "INSERT INTO city (code, name, province_code, timezone, event_seq, created_at)"
        " VALUES ($1, 'Kota Balikpapan', '64', 'Asia/Makassar', 0, $2)",
        CITY,
        NOW,
    )
    await conn.execute(
        "INSERT INTO rt (code, city_code, kecamatan_code, kelurahan_code, rw, rt, created_at)"
        " VALUES ($1, $2, '64.71.06', '64.71.06.1005', '003', '005', $3)",
        RT,
        CITY,
        NOW,
    )
    await conn.executemany(
        "INSERT INTO resident (nik, name, sex, birth_date, no_kk, rt_code, city_code, status,"
        " origin, registered_at, updated_at)"
        " VALUES ($1, $2, 'L', $3, $4, $5, $6, 'active', 'import', $7, $7)",
        [
            (nik(i), f"WARGA {i}", date(1978, 7, 5), f"64710601010{i:05d}", RT, CITY, NOW)
            for i in range(residents)
        ],
    )


async def main(items: int, rounds: int, residents: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = DatabaseURL.parse(f"sqlite:///{Path(tmp) / 'bench.db'}")
        run_migrations(url)
        db = make_database(url)
        await db.open()
        try:
            await db.write(lambda conn: load(conn, residents))
            who = Principal(user_id=1, username="siak", role=Role.INTEGRATOR, city_code=CITY)
            rates = []
            for r in range(rounds):
                batch = [
                    {
                        "source": "siak-6471",
                        "id": f"ktp-{r}-{i}",
                        "type": "ktp_el",
                        "completed_at": "2026-11-20T09:30:00+08:00",
                        "nik": nik((r * items + i) % residents),
                        "document_number": f"KTP/{r}/{i}",
                        "data": {},
                    }
                    for i in range(items)
                ]
                start, cpu = time.perf_counter(), time.process_time()
                results = await ingest_services(db, who, batch)
                elapsed = time.perf_counter() - start
                cpu = time.process_time() - cpu
                assert all(x["status"] == "applied" for x in results), results[:3]
                rates.append(items / elapsed)
                print(
                    f"round {r + 1}: {items} ktp_el in {elapsed * 1000:.1f} ms = "
                    f"{items / elapsed:,.0f} services/s (CPU {cpu * 1000:.1f} ms)"
                )
            print(f"median: {statistics.median(rates):,.0f} services/s")
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--residents", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.rounds, args.residents))
