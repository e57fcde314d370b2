"""Helpers of the dispatch tests: feed events, plugin settings, the sample plugin's sink.

Events are written the way ingestion writes them (the city's ``event_seq`` taken with
an UPDATE, one event row per sequence number, the CloudEvent ``data`` as JSON), but
straight with SQL, so these tests do not depend on the ledger's code.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from factories import NOW, RT_A, RT_B, RT_OTHER_CITY

from rtbook.core.db import Connection, Database, rows_dicts
from rtbook.core.ledger.feed import event_data
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO / "tests" / "plugins" / "sample"
SAMPLE_PLUGINS = "sample,sample_async"
CITY_B = "64.72"
CITY_RT = {"64.71": RT_A, CITY_B: RT_OTHER_CITY}


async def add_events(
    conn: Connection, city: str, count: int, rt: str | None = None, *, at: datetime = NOW
) -> list[int]:
    """``count`` feed events of ``city`` (alternating RT 005/006 in 64.71); their seqs."""
    last = int(
        await conn.fetchval(
            "UPDATE city SET event_seq = event_seq + $2 WHERE code = $1 RETURNING event_seq",
            city,
            count,
        )
    )
    seqs = list(range(last - count + 1, last + 1))
    rows = []
    for seq in seqs:
        subject = rt or (CITY_RT.get(city) if city != "64.71" else (RT_A, RT_B)[seq % 2])
        nik = f"6471060507{seq:06d}"
        data = event_data(
            service_type="ktp_el",
            service_id=f"svc-{city}-{seq}",
            effect="document_issued",
            name=f"WARGA {seq}",
            nik=nik,
            summary=f"KTP-el diterbitkan untuk WARGA {seq}",
        )
        rows.append(
            (city, seq, subject, "document_issued", at, msgspec.json.encode(data).decode(), at)
        )
    await conn.executemany(
        "INSERT INTO event (city_code, seq, rt_code, effect, time, data, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        rows,
    )
    return seqs


def load_registry() -> PluginRegistry:
    """The installed plugins, limited to the sample ones (the entry points of
    tests/plugins/sample must be on sys.path: see the ``sample_installed`` fixture)."""
    registry = PluginRegistry.load({"RTBOOK_PLUGINS": SAMPLE_PLUGINS})
    assert registry.names() == ["sample", "sample_async"], registry.failures
    return registry


async def enable(
    db: Database,
    registry: PluginRegistry,
    city: str,
    name: str = "sample",
    **config: Any,
) -> None:
    await db.write(
        lambda conn: set_plugin(
            conn, registry, city, name, enabled=True, config=config, user_id=None
        )
    )


async def disable(db: Database, registry: PluginRegistry, city: str, name: str = "sample") -> None:
    await db.write(
        lambda conn: set_plugin(
            conn, registry, city, name, enabled=False, config=None, user_id=None
        )
    )


def received(sink: Path, plugin: str | None = None) -> list[dict[str, Any]]:
    """The events the sample plugin wrote down, in the order it received them."""
    if not sink.exists():
        return []
    text = sink.read_text()
    # A worker may be writing right now: a line without its newline is not whole yet.
    text = text[: text.rfind("\n") + 1]
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [r for r in lines if plugin is None or r.get("plugin") == plugin]


def ids(records: Iterable[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in records]


def event_ids(city: str, seqs: Iterable[int]) -> list[str]:
    return [f"{city}-{s}" for s in seqs]


async def wait_until(
    condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
) -> None:
    """Poll ``condition`` (sync or async) until true; fail after ``timeout`` seconds.
    A guard against hanging, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def wait_until_sync(
    condition: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Clock:
    """A clock the test moves by hand (``now=clock`` for run_worker)."""

    at: datetime = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def subprocess_env(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a real ``rtbook`` child process with the sample plugins."""
    env = dict(os.environ)
    paths = [str(SAMPLE_DIR), str(REPO)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(paths),
            "RTBOOK_DATABASE_URL": url,
            "RTBOOK_PLUGINS": SAMPLE_PLUGINS,
            "RTBOOK_SECRET_KEY": "test-secret-key-" + "x" * 32,
        }
    )
    env.pop("RTBOOK_SAMPLE_SINK", None)
    env.update(extra or {})
    return env


async def fetch(db: Database, sql: str, *args: Any) -> list[dict[str, Any]]:
    return rows_dicts(await db.read(lambda conn: conn.fetch(sql, *args)))


async def failures(db: Database) -> list[dict[str, Any]]:
    return await fetch(
        db,
        "SELECT id, plugin, city_code, seq, status, attempts, last_error, next_attempt_at"
        " FROM dispatch_failure ORDER BY id",
    )
