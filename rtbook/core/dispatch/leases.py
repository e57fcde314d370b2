"""Leases: which worker works on which stream, and the one dispatcher of a SQLite file.

A *stream* is one plugin reading one city's feed; its row in ``dispatch_checkpoint``
carries the checkpoint and a lease (``lease_owner``, ``lease_until``). A worker claims
a stream by setting the lease where it has expired; every checkpoint it writes is
conditional on still holding the lease, so a worker that stalled past its lease and
lost the stream can never move a checkpoint the new holder is using. On PostgreSQL the
claim picks rows with ``SELECT ... FOR UPDATE SKIP LOCKED``, so workers claiming at the
same moment take different streams instead of queueing on each other's row locks.

On SQLite a single worker dispatches: it holds the ``worker_lease`` row ``dispatch``
and a second worker is refused with :class:`WorkerBusy`.

Owner ids are ``host:pid:random``. A lease whose owner ran on this host and whose
process no longer exists (a worker killed with SIGKILL) is free at once instead of
after its expiry, so a restarted worker picks up immediately.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rtbook.core.db import Connection
from rtbook.core.errors import RtbookError

DISPATCH_LEASE = "dispatch"
_HOST_MAX = 32
PRESENCE_PREFIX = "worker:"


class WorkerBusy(RtbookError):
    """Another live worker holds the dispatch lease of this (SQLite) database."""


class LeaseLost(Exception):
    """This worker no longer holds a stream's lease: its work on the stream stops and
    the transaction that noticed is rolled back."""


def this_host() -> str:
    return socket.gethostname()[:_HOST_MAX] or "localhost"


def new_owner() -> str:
    """A worker's id: unique per run, and telling which host and process it is."""
    return f"{this_host()}:{os.getpid()}:{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def owner_is_gone(owner: str | None) -> bool:
    """True when ``owner`` ran on this host in a process that no longer exists."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != this_host() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    return pid != os.getpid() and not pid_alive(pid)


def _marks(start: int, count: int) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count))


# -- the SQLite dispatcher lease -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    owner: str
    expires_at: datetime


async def take_worker_lease(
    conn: Connection, owner: str, now: datetime, ttl: timedelta, name: str = DISPATCH_LEASE
) -> LeaseHolder | None:
    """Take (or renew) the named lease; None when taken, else who holds it."""
    row = await conn.fetchrow("SELECT owner, expires_at FROM worker_lease WHERE name = $1", name)
    if row is None:
        taken = await conn.execute(
            "INSERT INTO worker_lease (name, owner, expires_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO NOTHING",
            name,
            owner,
            now + ttl,
        )
        if taken:
            return None
        row = await conn.fetchrow(
            "SELECT owner, expires_at FROM worker_lease WHERE name = $1", name
        )
        assert row is not None
    holder, expires_at = row["owner"], row["expires_at"]
    if holder == owner or expires_at <= now or owner_is_gone(holder):
        taken = await conn.execute(
            "UPDATE worker_lease SET owner = $1, expires_at = $2 WHERE name = $3 AND owner = $4",
            owner,
            now + ttl,
            name,
            holder,
        )
        if taken:
            return None
    return LeaseHolder(holder, expires_at)


async def renew_worker_lease(
    conn: Connection, owner: str, now: datetime, ttl: timedelta, name: str = DISPATCH_LEASE
) -> bool:
    """Extend the lease; False when this worker no longer holds it."""
    changed = await conn.execute(
        "UPDATE worker_lease SET expires_at = $1 WHERE name = $2 AND owner = $3",
        now + ttl,
        name,
        owner,
    )
    return changed > 0


async def release_worker_lease(conn: Connection, owner: str, name: str = DISPATCH_LEASE) -> None:
    await conn.execute("DELETE FROM worker_lease WHERE name = $1 AND owner = $2", name, owner)


# -- presence: how many workers share the streams (PostgreSQL) -------------------------


def presence_name(owner: str) -> str:
    """The ``worker_lease`` row through which a worker says it is there."""
    return PRESENCE_PREFIX + owner


async def live_workers(conn: Connection, now: datetime) -> int:
    """Workers whose presence has not expired (and whose process is not gone)."""
    rows = await conn.fetch(
        "SELECT owner FROM worker_lease WHERE name LIKE $1 AND expires_at > $2",
        PRESENCE_PREFIX + "%",
        now,
    )
    return sum(1 for r in rows if not owner_is_gone(r["owner"]))


async def forget_expired_workers(conn: Connection, now: datetime) -> None:
    await conn.execute(
        "DELETE FROM worker_lease WHERE name LIKE $1 AND expires_at < $2",
        PRESENCE_PREFIX + "%",
        now,
    )


# -- stream leases -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedStream:
    """A stream this worker now holds, with its checkpoint as read under the claim."""

    checkpoint_id: int
    plugin: str
    city: str
    last_seq: int


async def ensure_checkpoints(
    conn: Connection, streams: Sequence[tuple[str, str, int]], now: datetime
) -> None:
    """Create missing checkpoint rows: (plugin, city, start position)."""
    if streams:
        await conn.executemany(
            "INSERT INTO dispatch_checkpoint (plugin, city_code, last_seq, updated_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (plugin, city_code) DO NOTHING",
            [(plugin, city, start, now) for plugin, city, start in streams],
        )


async def claim_streams(
    conn: Connection,
    wanted: Sequence[tuple[str, str]],
    owner: str,
    now: datetime,
    ttl: timedelta,
    *,
    limit: int,
    stale_owners: Collection[str] = (),
) -> list[ClaimedStream]:
    """Lease up to ``limit`` of the ``wanted`` (plugin, city) streams whose lease is
    free (none, expired, held by a process that is gone, or already ours). Run it in
    a write transaction; the checkpoint rows must exist."""
    if not wanted or limit < 1:
        return []
    args: list[object] = []
    for plugin, city in wanted:
        args += [plugin, city]
    pairs = ", ".join(f"(${i}, ${i + 1})" for i in range(1, len(args), 2))
    owners = [owner, *sorted(set(stale_owners) - {owner})]
    n = len(args)
    owner_marks = _marks(n + 2, len(owners))
    limit_mark = f"${n + 2 + len(owners)}"
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgres" else ""
    rows = await conn.fetch(
        "SELECT id, plugin, city_code, last_seq FROM dispatch_checkpoint"
        f" WHERE (plugin, city_code) IN (VALUES {pairs})"
        f" AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until < ${n + 1}"
        f" OR lease_owner IN ({owner_marks}))"
        f" ORDER BY updated_at, id LIMIT {limit_mark}{lock}",
        *args,
        now,
        *owners,
        limit,
    )
    if not rows:
        return []
    ids = [int(r["id"]) for r in rows]
    await conn.execute(
        f"UPDATE dispatch_checkpoint SET lease_owner = $1, lease_until = $2"
        f" WHERE id IN ({_marks(3, len(ids))})",
        owner,
        now + ttl,
        *ids,
    )
    return [
        ClaimedStream(int(r["id"]), r["plugin"], r["city_code"], int(r["last_seq"])) for r in rows
    ]


async def advance_checkpoint(
    conn: Connection,
    checkpoint_id: int,
    owner: str,
    last_seq: int,
    now: datetime,
    ttl: timedelta,
) -> None:
    """Move the checkpoint forward and renew the lease, or raise :class:`LeaseLost`
    (rolling back the caller's transaction) when the lease is no longer ours."""
    changed = await conn.execute(
        "UPDATE dispatch_checkpoint SET last_seq = $1, lease_until = $2, updated_at = $3"
        " WHERE id = $4 AND lease_owner = $5",
        last_seq,
        now + ttl,
        now,
        checkpoint_id,
        owner,
    )
    if not changed:
        raise LeaseLost(checkpoint_id)


async def hold_stream(
    conn: Connection, checkpoint_id: int, owner: str, now: datetime, ttl: timedelta
) -> None:
    """Renew one stream's lease, or raise :class:`LeaseLost`."""
    changed = await conn.execute(
        "UPDATE dispatch_checkpoint SET lease_until = $1 WHERE id = $2 AND lease_owner = $3",
        now + ttl,
        checkpoint_id,
        owner,
    )
    if not changed:
        raise LeaseLost(checkpoint_id)


async def renew_streams(conn: Connection, owner: str, now: datetime, ttl: timedelta) -> int:
    """Extend every stream lease this worker holds (its heartbeat)."""
    return await conn.execute(
        "UPDATE dispatch_checkpoint SET lease_until = $1 WHERE lease_owner = $2",
        now + ttl,
        owner,
    )


async def release_stream(conn: Connection, checkpoint_id: int, owner: str) -> None:
    await conn.execute(
        "UPDATE dispatch_checkpoint SET lease_owner = NULL, lease_until = NULL"
        " WHERE id = $1 AND lease_owner = $2",
        checkpoint_id,
        owner,
    )


async def release_streams(conn: Connection, owner: str) -> None:
    await conn.execute(
        "UPDATE dispatch_checkpoint SET lease_owner = NULL, lease_until = NULL"
        " WHERE lease_owner = $1",
        owner,
    )
