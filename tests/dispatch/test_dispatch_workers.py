"""Workers and leases: the real ``rtbook worker`` command, a lease left by a killed
worker, a lease of a live one, two workers on PostgreSQL, one worker on SQLite."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from dispatch_support import (
    CITY_B,
    Clock,
    add_events,
    enable,
    event_ids,
    fetch,
    ids,
    received,
    subprocess_env,
    wait_until,
)
from factories import CITY, add_city, add_rt

from rtbook.core.db import Database, make_database
from rtbook.core.dispatch.leases import WorkerBusy, this_host
from rtbook.core.dispatch.options import WorkerOptions
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.settings import DatabaseURL

CLI = [sys.executable, "-m", "rtbook.cli"]


def rtbook_worker(url: DatabaseURL, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "worker", *args],
        env=subprocess_env(url.raw),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_rtbook_worker_once_delivers_and_exits_0(
    world: Database, registry: PluginRegistry, sink: Path, db_url: DatabaseURL, tmp_path: Path
) -> None:
    db = world
    await enable(db, registry, CITY, sink=str(sink))
    seqs = await db.write(lambda conn: add_events(conn, CITY, 4))

    done = await asyncio.to_thread(rtbook_worker, db_url, tmp_path, "--once")

    assert done.returncode == 0, done.stderr
    assert "4 peristiwa terkirim (events delivered)" in done.stdout
    assert ids(received(sink)) == event_ids(CITY, seqs)
    again = await asyncio.to_thread(rtbook_worker, db_url, tmp_path, "--once")
    assert again.returncode == 0 and "0 peristiwa terkirim" in again.stdout
    assert len(received(sink)) == 4


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def _lease_stream(db: Database, owner: str, until: object, last_seq: int = 0) -> None:
    await db.write(
        lambda conn: conn.execute(
            "INSERT INTO dispatch_checkpoint (plugin, city_code, last_seq, lease_owner,"
            " lease_until, updated_at) VALUES ('sample', $1, $2, $3, $4, $5)",
            CITY,
            last_seq,
            owner,
            until,
            Clock()(),
        )
    )


async def test_the_lease_of_a_killed_worker_is_taken_over_at_once(
    world: Database, registry: PluginRegistry, sink: Path
) -> None:
    db = world
    clock = Clock()
    await enable(db, registry, CITY, sink=str(sink))
    seqs = await db.write(lambda conn: add_events(conn, CITY, 3))
    # A worker on this host held the stream for another 10 minutes, then was killed.
    gone = f"{this_host()}:{_dead_pid()}:deadbeef"
    await _lease_stream(db, gone, clock.at.replace(hour=23))

    stats = await run_worker(db, registry, once=True, now=clock)

    assert stats.delivered == 3
    assert ids(received(sink)) == event_ids(CITY, seqs)


async def test_a_live_workers_lease_is_respected_until_it_expires(
    world: Database, registry: PluginRegistry, sink: Path
) -> None:
    db = world
    clock = Clock()
    await enable(db, registry, CITY, sink=str(sink))
    await enable(db, registry, CITY_B, sink=str(sink))
    seqs = await db.write(lambda conn: add_events(conn, CITY, 3))
    other = await db.write(lambda conn: add_events(conn, CITY_B, 2))
    # Another machine's worker holds 64.71's stream for 30 more seconds.
    await _lease_stream(db, "elsewhere:4242:cafe", clock.at.replace(second=30))

    stats = await run_worker(db, registry, once=True, now=clock)
    assert ids(received(sink)) == event_ids(CITY_B, other)  # the free stream is served
    assert stats.streams == {("sample", CITY_B)}

    clock.advance(minutes=1)  # it stopped renewing: the lease has expired
    stats = await run_worker(db, registry, once=True, now=clock)
    assert ids(received(sink)) == event_ids(CITY_B, other) + event_ids(CITY, seqs)


@pytest.mark.sqlite_only
async def test_a_second_worker_on_sqlite_is_refused(
    world: Database, registry: PluginRegistry, sink: Path, db_url: DatabaseURL, tmp_path: Path
) -> None:
    db = world
    await enable(db, registry, CITY, sink=str(sink))
    stop = asyncio.Event()
    first = asyncio.create_task(
        run_worker(db, registry, once=False, stop=stop, options=WorkerOptions(poll_seconds=0.02))
    )
    try:
        await wait_until(
            lambda: fetch(db, "SELECT owner FROM worker_lease WHERE name = 'dispatch'"),
            what="the first worker's lease",
        )
        with pytest.raises(WorkerBusy, match="another worker is running"):
            await run_worker(db, registry, once=True)
        refused = await asyncio.to_thread(rtbook_worker, db_url, tmp_path, "--once")
        assert refused.returncode == 2
        [line] = refused.stderr.strip().splitlines()
        assert "worker lain sedang berjalan" in line and "another worker is running" in line

        # The first worker still does the work.
        seqs = await db.write(lambda conn: add_events(conn, CITY, 2))
        await wait_until(lambda: len(received(sink)) == 2, what="delivery by the first worker")
    finally:
        stop.set()
        await first
    # Once it stopped, its lease is free: the next worker starts.
    assert await fetch(db, "SELECT owner FROM worker_lease") == []
    later = await db.write(lambda conn: add_events(conn, CITY, 1))
    done = await asyncio.to_thread(rtbook_worker, db_url, tmp_path, "--once")
    assert done.returncode == 0, done.stderr
    assert ids(received(sink)) == event_ids(CITY, seqs + later)


@pytest.mark.postgres_only
async def test_two_postgres_workers_deliver_each_event_exactly_once(
    world: Database, registry: PluginRegistry, sink: Path, db_url: DatabaseURL
) -> None:
    db = world
    cities = [CITY, CITY_B, "64.73", "64.74"]

    async def more_cities(conn: object) -> None:
        for code in cities[2:]:
            await add_city(conn, code)  # type: ignore[arg-type]
            await add_rt(conn, f"{code}.01.1001-001-001")  # type: ignore[arg-type]

    await db.write(more_cities)
    expected: list[str] = []
    for city in cities:
        await enable(db, registry, city, sink=str(sink))
        await enable(db, registry, city, "sample_async", sink=str(sink))
        rt = None if city == CITY else f"{city}.01.1001-001-001"
        seqs = await db.write(lambda conn, city=city, rt=rt: add_events(conn, city, 40, rt))
        expected += event_ids(city, seqs)

    # Small slices and one stream at a time each, so the two take turns on streams.
    options = WorkerOptions(max_streams=1, slice_events=7, poll_seconds=0.02)
    stop = asyncio.Event()
    second_db = make_database(db_url)
    await second_db.open()
    try:
        workers = [
            asyncio.create_task(run_worker(db, registry, once=False, stop=stop, options=options)),
            asyncio.create_task(
                run_worker(second_db, registry, once=False, stop=stop, options=options)
            ),
        ]
        await wait_until(
            lambda: len(received(sink)) >= 2 * len(expected), what="every event", timeout=60
        )
        stop.set()
        stats = await asyncio.gather(*workers)
    finally:
        await second_db.close()

    for plugin in ("sample", "sample_async"):
        got = Counter(ids(received(sink, plugin)))
        assert set(got) == set(expected)
        assert [i for i, n in got.items() if n > 1] == []  # exactly once
        for city in cities:  # and in feed order within each city
            mine = [i for i in ids(received(sink, plugin)) if i.startswith(city + "-")]
            assert mine == [i for i in expected if i.startswith(city + "-")]
    assert sum(s.delivered for s in stats) == 2 * len(expected)
    assert all(s.delivered > 0 for s in stats)  # both took part
    leases = await fetch(db, "SELECT lease_owner FROM dispatch_checkpoint")
    assert {row["lease_owner"] for row in leases} == {None}


def _lines(sink: Path) -> int:
    return len(received(sink))


async def test_a_worker_killed_with_sigkill_loses_and_skips_nothing(
    world: Database, registry: PluginRegistry, sink: Path, db_url: DatabaseURL, tmp_path: Path
) -> None:
    """A real ``rtbook worker`` is killed mid-run (while it delivers thousands of
    events), then started again: every event arrives, in order, and the only event
    that may arrive twice is each stream's event in flight at the kill."""
    db = world
    await enable(db, registry, CITY, sink=str(sink))
    await enable(db, registry, CITY, "sample_async", sink=str(sink))
    expected = event_ids(CITY, await db.write(lambda conn: add_events(conn, CITY, 1200)))
    env = subprocess_env(db_url.raw)
    log = (tmp_path / "worker.log").open("w")

    first = subprocess.Popen([*CLI, "worker"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        await wait_until(lambda: _lines(sink) >= 200, what="the first deliveries", timeout=60)
    finally:
        first.kill()  # SIGKILL: no chance to checkpoint or release anything
        first.wait()
    before = {plugin: ids(received(sink, plugin)) for plugin in ("sample", "sample_async")}
    assert sum(map(len, before.values())) < 2 * len(expected), "killed after the end, not mid-run"

    second = subprocess.Popen([*CLI, "worker"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        await wait_until(
            lambda: (
                len(set(ids(received(sink)))) == 2 * len(expected) // 2
                and all(set(ids(received(sink, p))) == set(expected) for p in before)
            ),
            what="every event after the restart",
            timeout=120,
        )
    finally:
        second.terminate()  # SIGTERM: a clean stop
        code = second.wait(timeout=60)
    assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]

    for plugin, got_before in before.items():
        got = ids(received(sink, plugin))
        k = len(got_before)
        assert got_before == expected[:k]  # in order, nothing skipped before the kill
        after = got[k:]
        again = len(expected) - k - len(after)  # -1 when one event came twice
        assert again in (0, -1), f"{plugin}: {-again} events delivered twice"
        assert after == expected[k + again :]  # in order, nothing skipped after it
    checkpoints = await fetch(db, "SELECT last_seq, lease_owner FROM dispatch_checkpoint")
    assert [(c["last_seq"], c["lease_owner"]) for c in checkpoints] == [(1200, None)] * 2
    done = await asyncio.to_thread(rtbook_worker, db_url, tmp_path, "--once")
    assert done.returncode == 0 and "0 peristiwa terkirim" in done.stdout
