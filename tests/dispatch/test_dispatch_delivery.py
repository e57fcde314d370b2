"""Which events a plugin receives: its city's, each once, in order, from when it was
enabled, and nothing once it is disabled (no restart needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dispatch_support import (
    CITY_B,
    add_events,
    disable,
    enable,
    event_ids,
    fetch,
    ids,
    received,
    wait_until,
)
from factories import CITY

from rtbook.core.db import Database
from rtbook.core.dispatch.options import WorkerOptions
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.plugins.registry import PluginRegistry


async def test_a_plugin_receives_its_citys_events_once_in_order(
    world: Database, registry: PluginRegistry, sink: Path
) -> None:
    db = world
    await enable(db, registry, CITY, sink=str(sink))
    await enable(db, registry, CITY, "sample_async", sink=str(sink))
    ours = await db.write(lambda conn: add_events(conn, CITY, 7))
    await db.write(lambda conn: add_events(conn, CITY_B, 4))  # another city's feed
    ours += await db.write(lambda conn: add_events(conn, CITY, 5))

    stats = await run_worker(db, registry, once=True)

    expected = event_ids(CITY, ours)
    assert ids(received(sink, "sample")) == expected
    assert ids(received(sink, "sample_async")) == expected  # async def hooks too
    assert {r["city"] for r in received(sink)} == {CITY}
    assert stats.delivered == 2 * len(ours) and stats.failed == 0
    # What the hook got is the contract's CloudEvent, subject = the RT.
    first = received(sink, "sample")[0]
    assert first["sequence"] == ours[0] and first["effect"] == "document_issued"
    assert first["subject"].startswith("64.71.06.1005-003-")

    # A second run finds nothing new: nothing is delivered twice.
    again = await run_worker(db, registry, once=True)
    assert again.calls == 0
    assert ids(received(sink, "sample")) == expected
    checkpoints = await fetch(
        db, "SELECT plugin, city_code, last_seq, lease_owner FROM dispatch_checkpoint"
    )
    assert sorted((c["plugin"], c["city_code"], c["last_seq"]) for c in checkpoints) == [
        ("sample", CITY, ours[-1]),
        ("sample_async", CITY, ours[-1]),
    ]
    assert all(c["lease_owner"] is None for c in checkpoints)  # leases given back


async def test_a_plugin_enabled_later_starts_at_the_end_of_the_feed(
    world: Database, registry: PluginRegistry, sink: Path
) -> None:
    db = world
    await db.write(lambda conn: add_events(conn, CITY, 6))  # history before enabling
    await enable(db, registry, CITY, sink=str(sink))
    after = await db.write(lambda conn: add_events(conn, CITY, 3))

    await run_worker(db, registry, once=True)

    assert ids(received(sink)) == event_ids(CITY, after)


async def test_a_disabled_plugin_receives_nothing_more_without_a_restart(
    world: Database, registry: PluginRegistry, sink: Path
) -> None:
    db = world
    await enable(db, registry, CITY, sink=str(sink))
    stop = asyncio.Event()
    options = WorkerOptions(poll_seconds=0.02)
    worker = asyncio.create_task(run_worker(db, registry, once=False, stop=stop, options=options))
    try:
        first = await db.write(lambda conn: add_events(conn, CITY, 3))
        await wait_until(lambda: len(received(sink)) == 3, what="the first events")

        await disable(db, registry, CITY)
        while_disabled = await db.write(lambda conn: add_events(conn, CITY, 4))
        # Enabled again, it starts at the feed's end: the events of the pause are
        # never delivered. The stream is read in order, so once the event after the
        # pause has arrived, the skipped ones can no longer come.
        await enable(db, registry, CITY, sink=str(sink))
        later = await db.write(lambda conn: add_events(conn, CITY, 2))
        await wait_until(lambda: len(received(sink)) >= 5, what="the events after re-enabling")
    finally:
        stop.set()
        stats = await worker

    assert ids(received(sink)) == event_ids(CITY, first + later)
    assert not set(event_ids(CITY, while_disabled)) & set(ids(received(sink)))
    assert stats.errors == 0


async def test_a_plugin_that_is_not_enabled_anywhere_receives_nothing(
    world: Database, registry: PluginRegistry, sink: Path
) -> None:
    db = world
    await enable(db, registry, CITY_B, sink=str(sink))
    await disable(db, registry, CITY_B)
    await db.write(lambda conn: add_events(conn, CITY, 3))
    await db.write(lambda conn: add_events(conn, CITY_B, 3))

    stats = await run_worker(db, registry, once=True)

    assert received(sink) == [] and stats.calls == 0
