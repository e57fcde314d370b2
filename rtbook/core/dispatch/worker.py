"""The dispatcher: calls ``rtbook_service_completed`` once per feed event for every
plugin enabled in the event's city, durably (``rtbook worker``; docs/worker.md).

For each stream (plugin, city) it claims, a worker reads the next events after the
stream's position in one ``db.read``, calls the hook for each of them outside any
unit of work (plugins may await anything), and writes the checkpoint, together with
the failures to retry, in one ``db.write`` after every ``checkpoint_every`` events
(default: every event). So a worker killed with SIGKILL delivers again at most the
events it had called but not yet checkpointed (one per stream by default) and skips
none: delivery is at-least-once for what a hook does outside the database, and hooks
get the CloudEvent ``id`` (``<city>-<seq>``) as an idempotency key.

A hook that raises never blocks anything: the event is recorded in
``dispatch_failure`` with a backoff time and the stream moves on; other streams
(other plugins, other cities) run on their own. Failures are retried when due and,
after the last attempt, are dead letters for an admin to replay.

The hook gets the worker's ``db`` and a ``notifier`` for the city (plugin notices,
rtbook.core.notify.notices). The worker also calls ``rtbook_daily`` once per
city-local day per (plugin, city) (rtbook.core.dispatch.daily) and runs the
notification hub (rtbook.core.notify.hub).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from rtbook.core.db import Database, Row
from rtbook.core.dispatch import leases
from rtbook.core.dispatch.daily import daily_loop, run_daily
from rtbook.core.dispatch.failures import (
    DueFailure,
    NewFailure,
    due_failures,
    insert_failures,
    settle_retry,
)
from rtbook.core.dispatch.leases import ClaimedStream, LeaseLost, WorkerBusy
from rtbook.core.dispatch.options import HOOK, WorkerOptions
from rtbook.core.dispatch.redact import error_text, secret_values, traceback_text
from rtbook.core.dispatch.streams import (
    EnabledPlugins,
    StreamPlan,
    Survey,
    events_by_seq,
    read_chunk,
    survey,
)
from rtbook.core.ledger.feed import cloud_event
from rtbook.core.notify.hub import NotifyOptions, NotifyStats, notify_loop, run_notify
from rtbook.core.notify.notices import Notifier

__all__ = ["PluginCaller", "WorkerBusy", "WorkerStats", "run_worker", "utcnow"]

log = logging.getLogger("rtbook.worker")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class PluginCaller(Protocol):
    """What the worker needs of rtbook.core.plugins.registry.PluginRegistry (it also
    uses ``implements(name, hook)`` and ``info(name).secret_fields`` when present)."""

    def names(self) -> Any: ...

    def call(self, name: str, hook: str, **kwargs: Any) -> Awaitable[Any]: ...


@dataclass
class WorkerStats:
    """What one run did (``--once`` prints it)."""

    delivered: int = 0  # new events whose hook call returned
    failed: int = 0  # new events whose hook call raised (recorded for retry)
    retried: int = 0  # retries that succeeded
    retry_failed: int = 0  # retries that raised again
    dead: int = 0  # failures that became dead letters during this run
    errors: int = 0  # streams abandoned on a database error (tried again later)
    streams: set[tuple[str, str]] = field(default_factory=set)  # (plugin, city) worked on
    notify: Any = None  # --once: what the notification hub did (rtbook.core.notify.hub)
    daily: Any = None  # --once: the rtbook_daily calls (rtbook.core.dispatch.daily)

    @property
    def calls(self) -> int:
        return self.delivered + self.failed + self.retried + self.retry_failed


def _default_enabled_plugins() -> EnabledPlugins:
    from rtbook.core.plugins.settings import enabled_plugins

    return enabled_plugins  # type: ignore[return-value]


class _Dispatcher:
    def __init__(
        self,
        db: Database,
        registry: PluginCaller,
        enabled_plugins: EnabledPlugins,
        options: WorkerOptions,
        now: Clock,
        owner: str,
        rng: random.Random,
        stop: asyncio.Event,
    ) -> None:
        self.db = db
        self.registry = registry
        self.enabled_plugins = enabled_plugins
        self.options = options
        self.now = now
        self.owner = owner
        self.rng = rng
        self.stop = stop
        self.ttl = timedelta(seconds=options.lease_seconds)
        self.stats = WorkerStats()
        self._warned_missing: set[tuple[str, str]] = set()
        self._secret_fields_cache: dict[str, tuple[str, ...]] = {}

    # -- the loop ---------------------------------------------------------------------

    async def run(self, once: bool) -> WorkerStats:
        cutoff_once = self.now() if once else None
        running: dict[tuple[str, str], asyncio.Task[int]] = {}
        # --once: streams not to claim again in this run (a database error, or no
        # progress although the survey saw work: never loop on them)
        broken: set[tuple[str, str]] = set()
        stop_wait = asyncio.ensure_future(self.stop.wait())
        try:
            while not self.stop.is_set():
                cutoff = cutoff_once or self.now()
                free = self.options.max_streams - len(running)
                if free > 0:
                    try:
                        claims = await self._claim(cutoff, free, {*running, *broken}, len(running))
                    except Exception as exc:
                        if once:
                            raise
                        # The database is away (restart, network): keep the streams
                        # being worked on, try again after a pause.
                        log.warning(
                            "aliran tidak bisa dibaca, dicoba lagi (cannot read streams, "
                            "retrying): %s",
                            traceback_text(exc).splitlines()[-1],
                        )
                        claims = []
                        if not running:
                            await self._pause()
                            continue
                    for claimed, plan in claims:
                        task = asyncio.create_task(self._stream(claimed, plan, cutoff))
                        running[plan.key] = task
                if not running:
                    if once:
                        break
                    await self._pause()
                    continue
                done, _ = await asyncio.wait(
                    [*running.values(), stop_wait],
                    timeout=self.options.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                errors = False
                for key, task in list(running.items()):
                    if task in done:
                        del running[key]
                        failed = self._failed(key, task)
                        errors = errors or failed
                        if once and (failed or not task.result()):
                            broken.add(key)
                if errors and not once:
                    await self._pause()  # no tight loop on a failing database
            # Stopping: every stream ends after its event in flight.
            if running:
                await asyncio.wait(running.values())
                for key, task in running.items():
                    self._failed(key, task)
                running.clear()
        finally:
            stop_wait.cancel()
            for task in running.values():
                task.cancel()
            if running:
                await asyncio.gather(*running.values(), return_exceptions=True)
        return self.stats

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=self.options.poll_seconds)

    def _failed(self, key: tuple[str, str], task: asyncio.Task[int]) -> bool:
        if task.cancelled():
            return True
        exc = task.exception()
        if exc is None:
            return False
        self.stats.errors += 1
        log.error(
            "aliran %s/%s berhenti karena galat basis data, dicoba lagi nanti "
            "(stream stopped on a database error, tried again later)\n%s",
            key[0],
            key[1],
            traceback_text(exc),
        )
        return True

    # -- claiming ---------------------------------------------------------------------

    async def _claim(
        self, cutoff: datetime, free: int, busy: set[tuple[str, str]], running: int
    ) -> list[tuple[ClaimedStream, StreamPlan]]:
        """Claim streams with work: at most ``free``, and no more than this worker's
        fair share (streams with work / live workers, PostgreSQL) counting the
        ``running`` ones, so a worker that joins gets streams as slices end."""
        installed = set(self.registry.names())
        implements = getattr(self.registry, "implements", None)
        dispatchable = {
            name for name in installed if not callable(implements) or implements(name, HOOK)
        }
        now = self.now()
        found: Survey = await self.db.read(
            lambda conn: survey(
                conn, self.enabled_plugins, installed, dispatchable, now, cutoff, self.owner
            )
        )
        for plugin, city in sorted(found.not_installed - self._warned_missing):
            log.warning(
                "plugin %s aktif di kota %s tetapi tidak terpasang; peristiwanya menunggu "
                "(plugin %s is enabled in city %s but not installed; its events wait)",
                plugin,
                city,
                plugin,
                city,
            )
        self._warned_missing |= found.not_installed
        share = -(-(len(found.plans) + found.held_elsewhere) // found.workers)
        limit = min(free, share - running)
        plans = {p.key: p for p in found.plans if p.key not in busy}
        if not plans or limit < 1:
            return []

        async def claim(conn: Any) -> list[ClaimedStream]:
            await leases.ensure_checkpoints(
                conn,
                [(p.plugin, p.city, p.start_seq) for p in plans.values() if not p.has_checkpoint],
                now,
            )
            return await leases.claim_streams(
                conn,
                list(plans),
                self.owner,
                now,
                self.ttl,
                limit=limit,
                stale_owners=found.stale_owners,
            )

        claimed = await self.db.write(claim)
        return [(c, plans[(c.plugin, c.city)]) for c in claimed]

    # -- one stream -------------------------------------------------------------------

    def _secrets(self, plugin: str, config: Mapping[str, Any]) -> list[str]:
        """Values to mask in logs and errors: the plugin's secret fields, and keys that
        look like secrets (see rtbook.core.dispatch.redact)."""
        if plugin not in self._secret_fields_cache:
            fields: tuple[str, ...] = ()
            info = getattr(self.registry, "info", None)
            if callable(info):
                try:
                    fields = tuple(getattr(info(plugin), "secret_fields", ()) or ())
                except Exception:  # the heuristics still apply
                    fields = ()
            self._secret_fields_cache[plugin] = fields
        return secret_values(config, self._secret_fields_cache[plugin])

    async def _call(
        self, plugin: str, city: str, config: Mapping[str, Any], row: Row, secrets: list[str]
    ) -> str | None:
        """Call the hook for one event: None when it returned, else the error text."""
        event_id = f"{row['city_code']}-{row['seq']}"
        try:
            event = cloud_event(row)  # a damaged event row fails like a hook would
            notifier = Notifier(
                self.db, self.registry, city, enabled_plugins=self.enabled_plugins, now=self.now
            )
            await self.registry.call(
                plugin, HOOK, event=event, city=city, config=config, db=self.db, notifier=notifier
            )
        except (Exception, SystemExit) as exc:  # a plugin's sys.exit() stops nothing
            log.error(
                "plugin %s gagal untuk peristiwa %s, dicoba lagi nanti "
                "(hook failed for event %s, will be retried)\n%s",
                plugin,
                event_id,
                event_id,
                traceback_text(exc, secrets),
            )
            return error_text(exc, secrets)
        return None

    def _next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        policy = self.options.retry
        if policy.is_last(attempts):
            return None
        return now + policy.delay(attempts, self.rng)

    async def _stream(self, claimed: ClaimedStream, plan: StreamPlan, cutoff: datetime) -> int:
        """Work on a claimed stream for one slice; the number of hook calls made."""
        self.stats.streams.add(plan.key)
        released = False
        calls = 0
        try:
            calls += await self._retries(claimed, plan, cutoff)
            calls += await self._new_events(claimed, plan)
        except LeaseLost:
            released = True  # not ours any more: nothing to release
            log.warning(
                "aliran %s/%s diambil alih worker lain (stream taken over by another worker)",
                plan.plugin,
                plan.city,
            )
        finally:
            if not released:
                try:
                    await asyncio.shield(
                        self.db.write(
                            lambda conn: leases.release_stream(
                                conn, claimed.checkpoint_id, self.owner
                            )
                        )
                    )
                except Exception as exc:  # the lease expires on its own
                    log.warning("lease tidak bisa dilepas (cannot release a lease): %s", exc)
        return calls

    async def _retries(self, claimed: ClaimedStream, plan: StreamPlan, cutoff: datetime) -> int:
        if not plan.due_retries:
            return 0
        due: list[DueFailure] = await self.db.read(
            lambda conn: due_failures(
                conn, plan.plugin, plan.city, cutoff, self.options.retries_per_slice
            )
        )
        rows = await self.db.read(lambda conn: events_by_seq(conn, plan.city, {f.seq for f in due}))
        secrets = self._secrets(plan.plugin, plan.config)
        calls = 0
        for failure in due:
            if self.stop.is_set():
                break
            calls += 1
            row = rows.get(failure.seq)
            if row is None:
                error: str | None = (
                    "peristiwa tidak ada lagi di umpan (event no longer in the feed)"
                )
            else:
                error = await self._call(plan.plugin, plan.city, plan.config, row, secrets)
            now = self.now()
            next_at = None if error is None else self._next_attempt(failure.attempts + 1, now)
            settle = self._settle_unit(claimed, failure, error, next_at, now)
            if not await self.db.write(settle):
                continue  # replayed meanwhile: the replay stands
            if error is None:
                self.stats.retried += 1
            else:
                self.stats.retry_failed += 1
                if next_at is None:
                    self.stats.dead += 1
                    log.error(
                        "plugin %s: peristiwa %s-%s menjadi surat mati setelah %s percobaan "
                        "(event is a dead letter after %s attempts)",
                        plan.plugin,
                        plan.city,
                        failure.seq,
                        failure.attempts + 1,
                        failure.attempts + 1,
                    )
        return calls

    def _settle_unit(
        self,
        claimed: ClaimedStream,
        failure: DueFailure,
        error: str | None,
        next_at: datetime | None,
        now: datetime,
    ) -> Callable[[Any], Awaitable[bool]]:
        async def settle(conn: Any) -> bool:
            await leases.hold_stream(conn, claimed.checkpoint_id, self.owner, now, self.ttl)
            return await settle_retry(conn, failure, error=error, next_attempt_at=next_at, now=now)

        return settle

    async def _new_events(self, claimed: ClaimedStream, plan: StreamPlan) -> int:
        options = self.options
        position = max(claimed.last_seq, plan.start_seq)
        deadline = time.monotonic() + options.slice_seconds
        sent = 0
        config: Mapping[str, Any] = plan.config
        secrets = self._secrets(plan.plugin, config)
        while not self.stop.is_set() and sent < options.slice_events:
            if time.monotonic() >= deadline:
                break
            chunk = await self.db.read(
                lambda conn, position=position: read_chunk(
                    conn, self.enabled_plugins, plan.plugin, plan.city, position, options.chunk
                )
            )
            if not chunk.enabled or not chunk.rows:
                break
            if chunk.config != config:
                config = chunk.config
                secrets = self._secrets(plan.plugin, config)
            pending = 0
            failures: list[NewFailure] = []
            for row in chunk.rows:
                seq = int(row["seq"])
                error = await self._call(plan.plugin, plan.city, config, row, secrets)
                if error is None:
                    self.stats.delivered += 1
                else:
                    self.stats.failed += 1
                    next_at = self._next_attempt(1, self.now())
                    if next_at is None:
                        self.stats.dead += 1
                    failures.append(NewFailure(seq, error, next_at))
                position = seq
                pending += 1
                sent += 1
                last = (
                    self.stop.is_set()
                    or sent >= options.slice_events
                    or time.monotonic() >= deadline
                )
                if pending >= options.checkpoint_every or failures or last:
                    await self._checkpoint(claimed, plan, position, failures)
                    pending, failures = 0, []
                if last:
                    return sent
            if pending:
                await self._checkpoint(claimed, plan, position, failures)
            if len(chunk.rows) < options.chunk:
                break
        return sent

    async def _checkpoint(
        self,
        claimed: ClaimedStream,
        plan: StreamPlan,
        position: int,
        failures: list[NewFailure],
    ) -> None:
        """Write the checkpoint (and renew the lease), with the failures to retry in
        the same transaction. Without failures it is one conditional UPDATE, atomic
        on its own, so it runs without BEGIN/COMMIT: one statement per checkpoint."""
        now = self.now()

        async def unit(conn: Any) -> None:
            await leases.advance_checkpoint(
                conn, claimed.checkpoint_id, self.owner, position, now, self.ttl
            )
            await insert_failures(conn, plan.plugin, plan.city, failures, now)

        await (self.db.write(unit) if failures else self.db.session(unit))

    def _renew_unit(self, now: datetime, single: bool) -> Callable[[Any], Awaitable[bool]]:
        """Renew the stream leases, and the SQLite dispatch lease (False when it was
        lost) or the PostgreSQL presence (taken again when it had expired)."""

        async def renew(conn: Any) -> bool:
            await leases.renew_streams(conn, self.owner, now, self.ttl)
            if single:
                return await leases.renew_worker_lease(conn, self.owner, now, self.ttl)
            await leases.forget_expired_workers(conn, now)
            name = leases.presence_name(self.owner)
            await leases.take_worker_lease(conn, self.owner, now, self.ttl, name)
            return True

        return renew

    # -- heartbeat --------------------------------------------------------------------

    async def heartbeat(self, single: bool) -> None:
        """Renew this worker's leases every lease_seconds / 3 until cancelled."""
        interval = self.options.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                held = await self.db.write(self._renew_unit(self.now(), single))
                if not held:
                    log.error(
                        "lease worker hilang, worker berhenti "
                        "(lost the dispatch lease to another worker; stopping)"
                    )
                    self.stop.set()
                    return
            except Exception as exc:  # a database hiccup: try again at the next beat
                log.warning("lease tidak bisa diperbarui (cannot renew leases): %s", exc)


_ONCE_MAX_NOTIFY_PASSES = 500


async def _notify_all_due(
    db: Database,
    registry: Any,
    now: Callable[[], datetime],
    enabled_plugins: EnabledPlugins,
    options: NotifyOptions | None,
    rng: random.Random,
) -> NotifyStats:
    """``--once``: hub passes until a pass finds less than a full batch due (a backlog
    of thousands goes out in one run), the figures of all passes added up. Bounded,
    so a batch that stays due (a clock that does not move) cannot keep it running."""
    total = NotifyStats()
    for _ in range(_ONCE_MAX_NOTIFY_PASSES):
        stats = await run_notify(
            db, registry, now=now, enabled_plugins=enabled_plugins, options=options, rng=rng
        )
        total.planned += stats.planned
        total.sent += stats.sent
        total.failed += stats.failed
        total.dead += stats.dead
        if not stats.full_batch:
            break
    return total


async def run_worker(
    db: Database,
    registry: PluginCaller,
    *,
    once: bool,
    stop: asyncio.Event | None = None,
    now: Clock = utcnow,
    options: WorkerOptions | None = None,
    enabled_plugins: EnabledPlugins | None = None,
    owner: str | None = None,
    rng: random.Random | None = None,
    notify: bool = True,
    notify_options: NotifyOptions | None = None,
) -> WorkerStats:
    """Dispatch feed events to plugins until ``stop`` is set, or, with ``once``, until
    nothing this worker can claim is due (new events, and retries due when it started).

    ``now`` is the clock for leases and retry times (tests drive it). The
    ``rtbook_daily`` calls that are due run too (after the dispatch with ``once``,
    every minute otherwise; rtbook.core.dispatch.daily). With ``notify`` the
    notification hub plans and sends deliveries too (after the dispatch and the daily
    calls with ``once``, every poll otherwise; rtbook.core.notify.hub), with
    ``notify_options`` (its retries and leases). On SQLite the
    worker first takes the ``dispatch`` lease and raises :class:`WorkerBusy` when
    another live worker holds it. Leases are released on the way out.
    """
    options = options or WorkerOptions()
    stop = stop or asyncio.Event()
    owner = owner or leases.new_owner()
    if enabled_plugins is None:
        enabled_plugins = _default_enabled_plugins()
    dispatcher = _Dispatcher(
        db, registry, enabled_plugins, options, now, owner, rng or random.Random(), stop
    )
    single = db.dialect == "sqlite"
    ttl = timedelta(seconds=options.lease_seconds)
    started = now()
    lease_name = leases.DISPATCH_LEASE if single else leases.presence_name(owner)
    holder = await db.write(
        lambda conn: leases.take_worker_lease(conn, owner, started, ttl, lease_name)
    )
    if holder is not None:  # SQLite only: a presence name is unique to this worker
        raise WorkerBusy(
            "worker lain sedang berjalan untuk basis data SQLite ini "
            f"(another worker is running on this SQLite database: {holder.owner}, "
            f"lease until {holder.expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC); "
            "SQLite memakai satu worker (SQLite runs a single worker)"
        )
    beat = asyncio.create_task(dispatcher.heartbeat(single))
    daily_args: dict[str, Any] = {
        "enabled_plugins": enabled_plugins,
        "now": now,
        "owner": owner,
        "secrets": dispatcher._secrets,
    }
    daily = None
    if not once:
        daily = asyncio.create_task(daily_loop(db, registry, stop=stop, **daily_args))
    notifier = None
    if notify and not once:
        notifier = asyncio.create_task(
            notify_loop(
                db,
                registry,
                stop=stop,
                now=now,
                enabled_plugins=enabled_plugins,
                poll_seconds=options.poll_seconds,
                options=notify_options,
            )
        )
    try:
        stats = await dispatcher.run(once)
        if once:  # the daily calls due now, then the hub sends what they planned too
            stats.daily = await run_daily(db, registry, **daily_args)
        if notify and once:  # the hub plans the new events and sends what is due
            stats.notify = await _notify_all_due(
                db, registry, now, enabled_plugins, notify_options, dispatcher.rng
            )
        return stats
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        for task in (notifier, daily):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        async def release(conn: Any) -> None:
            await leases.release_streams(conn, owner)
            await leases.release_worker_lease(conn, owner, lease_name)

        try:
            await asyncio.shield(db.write(release))
        except Exception as exc:  # leases expire on their own
            log.warning("lease tidak bisa dilepas (cannot release leases): %s", exc)
