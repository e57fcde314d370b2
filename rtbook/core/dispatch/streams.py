"""The streams there are to work on: one per (plugin, city) where the plugin is enabled.

A stream's position is ``max(checkpoint.last_seq, setting.start_seq)``: the setting's
``start_seq`` is the city's feed end when the plugin was (last) enabled, so a plugin
enabled later starts at the end of the feed, and one re-enabled after a pause does not
receive what happened while it was disabled.

These are units of work (``async def unit(conn)``) for ``db.read``; they await only
their connection, as SQLite units must.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rtbook.core.db import Connection, Row
from rtbook.core.dispatch.failures import due_failure_counts
from rtbook.core.dispatch.leases import live_workers, owner_is_gone


class PluginStateLike(Protocol):
    """What dispatch needs of a plugin's per-city setting (rtbook.core.plugins.settings)."""

    config: Mapping[str, Any]
    start_seq: int


EnabledPlugins = Callable[[Connection, str], Awaitable[Mapping[str, PluginStateLike]]]


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """A stream with work due: events after its position, or retries due."""

    plugin: str
    city: str
    config: Mapping[str, Any]
    start_seq: int
    position: int
    feed_end: int
    due_retries: int
    has_checkpoint: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.plugin, self.city)


@dataclass(frozen=True, slots=True)
class Survey:
    plans: list[StreamPlan]
    stale_owners: set[str]  # lease owners on this host whose process is gone
    not_installed: set[tuple[str, str]]  # enabled in a city but not installed here
    held_elsewhere: int  # streams with work that other live workers hold
    workers: int  # live workers sharing the streams (this one included), at least 1


async def survey(
    conn: Connection,
    enabled_plugins: EnabledPlugins,
    installed: Collection[str],
    dispatchable: Collection[str],
    now: datetime,
    retry_cutoff: datetime,
    owner: str,
) -> Survey:
    """Every enabled stream with work due that this worker could claim now.
    ``dispatchable``: installed plugins that implement the hook (others have no
    stream); an enabled plugin that is not ``installed`` is reported."""
    cities = await conn.fetch("SELECT code, event_seq FROM city ORDER BY code")
    checkpoints: dict[tuple[str, str], Row] = {
        (r["plugin"], r["city_code"]): r
        for r in await conn.fetch(
            "SELECT plugin, city_code, last_seq, lease_owner, lease_until FROM dispatch_checkpoint"
        )
    }
    due = await due_failure_counts(conn, retry_cutoff)
    stale: set[str] = set()
    gone_checked: dict[str, bool] = {}

    def lease_free(row: Row | None) -> bool:
        if row is None or row["lease_owner"] is None or row["lease_owner"] == owner:
            return True
        until = row["lease_until"]
        if until is None or until < now:
            return True
        holder = row["lease_owner"]
        if holder not in gone_checked:
            gone_checked[holder] = owner_is_gone(holder)
        if gone_checked[holder]:
            stale.add(holder)
        return gone_checked[holder]

    plans: list[StreamPlan] = []
    missing: set[tuple[str, str]] = set()
    held_elsewhere = 0
    for city_row in cities:
        city, feed_end = city_row["code"], int(city_row["event_seq"])
        for plugin, state in (await enabled_plugins(conn, city)).items():
            if plugin not in dispatchable:
                if plugin not in installed:
                    missing.add((plugin, city))
                continue
            checkpoint = checkpoints.get((plugin, city))
            start_seq = int(state.start_seq or 0)
            position = max(int(checkpoint["last_seq"]) if checkpoint else 0, start_seq)
            retries = due.get((plugin, city), 0)
            if not (position < feed_end or retries):
                continue
            if not lease_free(checkpoint):
                held_elsewhere += 1
            else:
                plans.append(
                    StreamPlan(
                        plugin=plugin,
                        city=city,
                        config=state.config,
                        start_seq=start_seq,
                        position=position,
                        feed_end=feed_end,
                        due_retries=retries,
                        has_checkpoint=checkpoint is not None,
                    )
                )
    workers = await live_workers(conn, now) if conn.dialect == "postgres" else 1
    return Survey(plans, stale, missing, held_elsewhere, max(workers, 1))


EVENT_COLUMNS = "id, city_code, seq, rt_code, effect, time, data"


@dataclass(frozen=True, slots=True)
class Chunk:
    """The next events of a stream, read together with its current setting."""

    enabled: bool
    config: Mapping[str, Any]
    start_seq: int
    rows: list[Row]


async def read_chunk(
    conn: Connection,
    enabled_plugins: EnabledPlugins,
    plugin: str,
    city: str,
    position: int,
    limit: int,
) -> Chunk:
    """Events after ``position`` (and after the setting's start_seq), in feed order.
    The setting is read again here so disabling a plugin takes effect within a chunk."""
    state = (await enabled_plugins(conn, city)).get(plugin)
    if state is None:
        return Chunk(False, {}, 0, [])
    start_seq = int(state.start_seq or 0)
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM event WHERE city_code = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3",
        city,
        max(position, start_seq),
        limit,
    )
    return Chunk(True, state.config, start_seq, rows)


async def events_by_seq(conn: Connection, city: str, seqs: Collection[int]) -> dict[int, Row]:
    if not seqs:
        return {}
    ordered = sorted(seqs)
    marks = ", ".join(f"${i}" for i in range(2, len(ordered) + 2))
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM event WHERE city_code = $1 AND seq IN ({marks})",
        city,
        *ordered,
    )
    return {int(r["seq"]): r for r in rows}
