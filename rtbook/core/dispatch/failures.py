"""Failed hook calls: retries with backoff, dead letters, and replaying them.

One ``dispatch_failure`` row per (plugin, city, seq) whose hook call raised:

- ``retrying``: called again when ``next_attempt_at`` has come;
- ``dead``: the last allowed attempt failed too (a dead letter); an admin can replay it;
- ``done``: a retry succeeded (kept as history).

``attempts`` counts the calls that failed. A replay makes a dead letter ``retrying``
and due now with ``attempts`` reset to 0, so it gets the whole retry schedule again;
``last_error`` keeps the previous error until the next attempt replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection, Row
from rtbook.core.db.paging import Filters, page_by_id
from rtbook.core.errors import Forbidden, NotFound, RtbookError

RETRYING = "retrying"
DEAD = "dead"
DONE = "done"
STATUSES = (RETRYING, DEAD, DONE)
LIST_STATUSES = (DEAD, RETRYING, DONE, "all")

LIST_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 1000


class NotReplayable(RtbookError):
    """The failure was delivered since (``done``): there is nothing to replay."""


class DeadLetter(msgspec.Struct):
    """A failed delivery as admins see it (API and CLI)."""

    id: int
    plugin: str
    city: str
    seq: int
    event_id: str  # the CloudEvent id the hook receives: "<city>-<seq>"
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeadLetterPage(msgspec.Struct):
    items: list[DeadLetter]
    next_after: int | None  # pass back as ``after`` for the next page; null at the end


_COLUMNS = (
    "id, plugin, city_code, seq, status, attempts, last_error, next_attempt_at,"
    " created_at, updated_at"
)


def _dead_letter(row: Row) -> DeadLetter:
    city, seq = row["city_code"], int(row["seq"])
    return DeadLetter(
        id=int(row["id"]),
        plugin=row["plugin"],
        city=city,
        seq=seq,
        event_id=f"{city}-{seq}",
        status=row["status"],
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# -- the worker's side ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewFailure:
    """A first failed call of one event, to be recorded with the checkpoint."""

    seq: int
    error: str
    next_attempt_at: datetime | None  # None: max_attempts is 1, dead at once


async def insert_failures(
    conn: Connection, plugin: str, city: str, failures: Sequence[NewFailure], now: datetime
) -> None:
    """Record first failures. A row already there (the same event failed before a
    crash re-delivered it) keeps its history."""
    if failures:
        await conn.executemany(
            "INSERT INTO dispatch_failure (plugin, city_code, seq, status, attempts,"
            " next_attempt_at, last_error, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7)"
            " ON CONFLICT (plugin, city_code, seq) DO NOTHING",
            [
                (
                    plugin,
                    city,
                    f.seq,
                    DEAD if f.next_attempt_at is None else RETRYING,
                    f.next_attempt_at,
                    f.error,
                    now,
                )
                for f in failures
            ],
        )


@dataclass(frozen=True, slots=True)
class DueFailure:
    id: int
    seq: int
    attempts: int


async def due_failures(
    conn: Connection, plugin: str, city: str, cutoff: datetime, limit: int
) -> list[DueFailure]:
    rows = await conn.fetch(
        "SELECT id, seq, attempts FROM dispatch_failure"
        " WHERE plugin = $1 AND city_code = $2 AND status = $3 AND next_attempt_at <= $4"
        " ORDER BY seq LIMIT $5",
        plugin,
        city,
        RETRYING,
        cutoff,
        limit,
    )
    return [DueFailure(int(r["id"]), int(r["seq"]), int(r["attempts"])) for r in rows]


async def due_failure_counts(conn: Connection, cutoff: datetime) -> dict[tuple[str, str], int]:
    """(plugin, city) -> number of retries due at ``cutoff``."""
    rows = await conn.fetch(
        "SELECT plugin, city_code, count(*) AS n FROM dispatch_failure"
        " WHERE status = $1 AND next_attempt_at <= $2 GROUP BY plugin, city_code",
        RETRYING,
        cutoff,
    )
    return {(r["plugin"], r["city_code"]): int(r["n"]) for r in rows}


async def settle_retry(
    conn: Connection,
    failure: DueFailure,
    *,
    error: str | None,
    next_attempt_at: datetime | None,
    now: datetime,
) -> bool:
    """Record the outcome of a retry: delivered (``error`` None) -> done; failed ->
    retrying at ``next_attempt_at``, or dead when that is None. Guarded by the attempt
    count read before the call, so a replay that happened meanwhile wins."""
    if error is None:
        status, attempts, last_error, next_at = DONE, failure.attempts, None, None
    else:
        status = DEAD if next_attempt_at is None else RETRYING
        attempts, last_error, next_at = failure.attempts + 1, error, next_attempt_at
    changed = await conn.execute(
        "UPDATE dispatch_failure SET status = $1, attempts = $2, next_attempt_at = $3,"
        " last_error = COALESCE($4, last_error), updated_at = $5"
        " WHERE id = $6 AND status = $7 AND attempts = $8",
        status,
        attempts,
        next_at,
        last_error,
        now,
        failure.id,
        RETRYING,
        failure.attempts,
    )
    return changed > 0


# -- the admins' side -------------------------------------------------------------------


def check_city_access(principal: Principal | None, city: str | None) -> str | None:
    """The city a caller may list: admins (or the CLI, ``principal`` None) any or all,
    a city_admin their own; anyone else is refused."""
    if principal is None or principal.is_admin:
        return city
    if principal.role is Role.CITY_ADMIN and principal.city_code:
        if city is not None and city != principal.city_code:
            raise Forbidden("hanya untuk admin kota itu (only for that city's admin)")
        return principal.city_code
    raise Forbidden("hanya admin kota dan admin (city admins and admins only)")


async def list_dead_letters(
    conn: Connection,
    *,
    city: str | None = None,
    plugin: str | None = None,
    status: str = DEAD,
    after: int | None = None,
    limit: int = LIST_LIMIT_DEFAULT,
) -> DeadLetterPage:
    """Failures in id order; ``status`` one of dead (default), retrying, done, all."""
    if status not in LIST_STATUSES:
        raise RtbookError(
            f"status harus salah satu dari {', '.join(LIST_STATUSES)} "
            f"(status must be one of {', '.join(LIST_STATUSES)})"
        )
    if isinstance(limit, bool) or not 1 <= limit <= LIST_LIMIT_MAX:
        raise RtbookError(
            f"limit harus 1 sampai {LIST_LIMIT_MAX} (limit must be 1..{LIST_LIMIT_MAX})"
        )
    filters = Filters()
    if city is not None:
        filters.add("city_code = {}", city)
    if plugin is not None:
        filters.add("plugin = {}", plugin)
    if status != "all":
        filters.add("status = {}", status)
    rows, next_after = await page_by_id(conn, _COLUMNS, "dispatch_failure", filters, after, limit)
    return DeadLetterPage([_dead_letter(r) for r in rows], next_after)


async def get_dead_letter(conn: Connection, failure_id: int) -> DeadLetter | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM dispatch_failure WHERE id = $1", failure_id)
    return None if row is None else _dead_letter(row)


async def replay_dead_letter(
    conn: Connection, failure_id: int, now: datetime, principal: Principal | None = None
) -> DeadLetter:
    """Make a dead (or still retrying) failure due now with ``attempts`` reset to 0.

    :class:`NotFound` for an unknown id, :class:`Forbidden` outside the caller's city
    (``principal`` None: the CLI, allowed everywhere), :class:`NotReplayable` for one
    already delivered. The worker calls the hook at its next poll, if the plugin is
    still enabled in the city (otherwise when it is enabled again)."""
    found = await get_dead_letter(conn, failure_id)
    if found is None:
        raise NotFound(f"kegagalan kirim {failure_id} tidak ada (no failed delivery {failure_id})")
    if principal is not None and not principal.can_manage_city(found.city):
        raise Forbidden("hanya untuk admin kota itu (only for that city's admin)")
    if found.status == DONE:
        raise NotReplayable(
            f"kegagalan kirim {failure_id} sudah terkirim ulang (already delivered by a retry)"
        )
    await conn.execute(
        "UPDATE dispatch_failure SET status = $1, attempts = 0, next_attempt_at = $2,"
        " updated_at = $2 WHERE id = $3",
        RETRYING,
        now,
        failure_id,
    )
    replayed = await get_dead_letter(conn, failure_id)
    assert replayed is not None
    return replayed
