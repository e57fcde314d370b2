"""``rtbook_daily``: once per city-local day per (plugin, city), from the worker.

A plugin enabled in a city that implements ``rtbook_daily`` is called the first time
a worker runs after :data:`DAILY_HOUR` (06:00) city time each day, with that ``day``
(only the current day: days the worker did not run are not made up). The row of
``daily_checkpoint`` for (plugin, city) keeps ``last_day``, the last day whose call
returned, so a restart or a second worker does not call twice for a day. A worker
claims the row before calling (a conditional UPDATE, ``claimed_until`` 30 minutes
ahead: a worker killed during the call leaves it to be called again after that).
A call that raises is logged (secrets and NIKs masked), recorded in ``attempts`` and
``last_error``, and tried again at a pass at least :data:`RETRY_SECONDS` later; it
never stops the others. Calls of one pass run concurrently, a few at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rtbook.core.db import Connection, Database
from rtbook.core.dispatch.redact import error_text, traceback_text
from rtbook.core.dispatch.streams import EnabledPlugins
from rtbook.core.notify.notices import Notifier

log = logging.getLogger("rtbook.worker")

DAILY_HOOK = "rtbook_daily"
DAILY_HOUR = 6  # city time
CLAIM_SECONDS = 30 * 60
RETRY_SECONDS = 60
CONCURRENT_CALLS = 4
LOOP_SECONDS = 60.0

Clock = Callable[[], datetime]
Secrets = Callable[[str, Mapping[str, Any]], list[str]]


@dataclass
class DailyStats:
    called: int = 0  # calls that returned
    failed: int = 0  # calls that raised (tried again later)


@dataclass(frozen=True, slots=True)
class DailyCall:
    plugin: str
    city: str
    day: date
    config: Mapping[str, Any]


def city_day(now: datetime, timezone: str) -> date | None:
    """The city-local day whose call is due at ``now``; None before DAILY_HOUR."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() if local.hour >= DAILY_HOUR else None


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _as_moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def due_calls(
    conn: Connection, enabled_plugins: EnabledPlugins, plugins: set[str], now: datetime
) -> list[DailyCall]:
    """The (plugin, city) calls due at ``now`` among ``plugins`` (installed ones that
    implement the hook): enabled in the city, past 06:00 there, not yet returned for
    today, not claimed by a worker nor pausing after a failure."""
    marks = {
        (r["plugin"], r["city_code"]): r
        for r in await conn.fetch(
            "SELECT plugin, city_code, last_day, claimed_until FROM daily_checkpoint"
        )
    }
    calls: list[DailyCall] = []
    for city in await conn.fetch("SELECT code, timezone FROM city ORDER BY code"):
        day = city_day(now, city["timezone"])
        if day is None:
            continue
        enabled = await enabled_plugins(conn, city["code"])
        for plugin in sorted(plugins & set(enabled)):
            mark = marks.get((plugin, city["code"]))
            if mark is not None:
                last, held = _as_date(mark["last_day"]), _as_moment(mark["claimed_until"])
                if (last is not None and last >= day) or (held is not None and held > now):
                    continue
            config = dict(getattr(enabled[plugin], "config", {}) or {})
            calls.append(DailyCall(plugin, city["code"], day, config))
    return calls


async def _claim(conn: Connection, call: DailyCall, owner: str, now: datetime) -> bool:
    await conn.execute(
        "INSERT INTO daily_checkpoint (plugin, city_code, last_day, claimed_by, claimed_until,"
        " attempts, last_error, updated_at) VALUES ($1, $2, NULL, NULL, NULL, 0, NULL, $3)"
        " ON CONFLICT (plugin, city_code) DO NOTHING",
        call.plugin,
        call.city,
        now,
    )
    claimed = await conn.execute(
        "UPDATE daily_checkpoint SET claimed_by = $1, claimed_until = $2, updated_at = $3"
        " WHERE plugin = $4 AND city_code = $5 AND (last_day IS NULL OR last_day < $6)"
        " AND (claimed_until IS NULL OR claimed_until <= $3)",
        owner,
        now + timedelta(seconds=CLAIM_SECONDS),
        now,
        call.plugin,
        call.city,
        call.day,
    )
    return claimed > 0


async def _settle(
    conn: Connection, call: DailyCall, owner: str, now: datetime, error: str | None
) -> None:
    if error is None:
        await conn.execute(
            "UPDATE daily_checkpoint SET last_day = $1, claimed_by = NULL,"
            " claimed_until = NULL, attempts = 0, last_error = NULL, updated_at = $2"
            " WHERE plugin = $3 AND city_code = $4 AND claimed_by = $5",
            call.day,
            now,
            call.plugin,
            call.city,
            owner,
        )
    else:
        await conn.execute(
            "UPDATE daily_checkpoint SET claimed_by = NULL, claimed_until = $1,"
            " attempts = attempts + 1, last_error = $2, updated_at = $3"
            " WHERE plugin = $4 AND city_code = $5 AND claimed_by = $6",
            now + timedelta(seconds=RETRY_SECONDS),
            error,
            now,
            call.plugin,
            call.city,
            owner,
        )


async def _release(conn: Connection, call: DailyCall, owner: str) -> None:
    await conn.execute(
        "UPDATE daily_checkpoint SET claimed_by = NULL, claimed_until = NULL"
        " WHERE plugin = $1 AND city_code = $2 AND claimed_by = $3",
        call.plugin,
        call.city,
        owner,
    )


async def run_daily(
    db: Database,
    registry: Any,
    *,
    enabled_plugins: EnabledPlugins,
    now: Clock,
    owner: str,
    secrets: Secrets,
) -> DailyStats:
    """One pass: call ``rtbook_daily`` wherever it is due now."""
    stats = DailyStats()
    implements = getattr(registry, "implements", None)
    if not callable(implements):
        return stats
    plugins = {name for name in registry.names() if implements(name, DAILY_HOOK)}
    if not plugins:
        return stats
    moment = now()
    calls = await db.read(lambda conn: due_calls(conn, enabled_plugins, plugins, moment))
    gate = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(call: DailyCall) -> None:
        async with gate:
            if not await db.write(lambda conn: _claim(conn, call, owner, now())):
                return  # another worker has it, or it returned meanwhile
            notifier = Notifier(db, registry, call.city, enabled_plugins=enabled_plugins, now=now)
            hidden = secrets(call.plugin, call.config)
            error: str | None = None
            try:
                await registry.call(
                    call.plugin,
                    DAILY_HOOK,
                    city=call.city,
                    config=call.config,
                    db=db,
                    notifier=notifier,
                    day=call.day,
                )
            except asyncio.CancelledError:  # the worker stops: someone calls it later
                with contextlib.suppress(Exception):
                    await asyncio.shield(db.write(lambda conn: _release(conn, call, owner)))
                raise
            except (Exception, SystemExit) as exc:
                error = error_text(exc, hidden)
                log.error(
                    "plugin %s: rtbook_daily gagal untuk kota %s hari %s, dicoba lagi nanti "
                    "(failed, will be retried)\n%s",
                    call.plugin,
                    call.city,
                    call.day,
                    traceback_text(exc, hidden),
                )
            await db.write(lambda conn: _settle(conn, call, owner, now(), error))
            if error is None:
                stats.called += 1
            else:
                stats.failed += 1

    await asyncio.gather(*(one(call) for call in calls))
    return stats


async def daily_loop(
    db: Database,
    registry: Any,
    *,
    stop: asyncio.Event,
    enabled_plugins: EnabledPlugins,
    now: Clock,
    owner: str,
    secrets: Secrets,
    interval: float = LOOP_SECONDS,
) -> None:
    """:func:`run_daily` at start and every ``interval`` seconds until ``stop``; a
    pass that fails (the database is away) is logged and tried at the next one."""
    while not stop.is_set():
        try:
            await run_daily(
                db,
                registry,
                enabled_plugins=enabled_plugins,
                now=now,
                owner=owner,
                secrets=secrets,
            )
        except Exception as exc:
            log.warning(
                "rtbook_daily tidak bisa dijalankan, dicoba lagi (daily pass failed, retrying): %s",
                traceback_text(exc).splitlines()[-1],
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


__all__ = ["DAILY_HOOK", "DAILY_HOUR", "DailyStats", "city_day", "daily_loop", "run_daily"]
