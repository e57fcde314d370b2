"""Sending: claim due deliveries, call their channels' senders outside any unit of
work, several at once, and record each outcome (backoff with full jitter; dead after
the last attempt, or at once for an address that can never work).

One pass reads up to ``send_batch`` due deliveries and keeps up to
``send_concurrency`` sends in flight. Every delivery is claimed (a conditional
UPDATE, see :func:`rtbook.core.notify.deliveries.claim_deliveries`) before its send
starts and settled after it ends, so a delivery is never sent by two workers at once
and never again once sent. Deliveries are claimed only when a send slot is free (a
claimed delivery starts at once: its lease is not spent waiting), and each write
both settles the sends that ended and claims as many as there are free slots: one
short write transaction per round, whatever the concurrency.

A plugin notice's files (rtbook.core.notify.notices, ``notice_attachment``) are read
once per round for the claimed deliveries that may carry them (one query) and passed
as ``attachments=[Attachment, ...]`` only to a sender that names that parameter and
only when the delivery's key has files: WhatsApp gets the text only.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from rtbook.core.db import Connection, Database
from rtbook.core.dispatch.redact import error_text, scrub, secret_values
from rtbook.core.dispatch.streams import EnabledPlugins
from rtbook.core.notify import deliveries as store
from rtbook.core.notify.channels import (
    Channel,
    TargetOutcome,
    channel_senders,
    error_outcomes,
    read_answer,
)
from rtbook.core.notify.compose import scrub as scrub_nik
from rtbook.core.notify.notices import Attachment, accepts_attachments, read_attachments
from rtbook.core.notify.options import NotifyOptions, NotifyStats

log = logging.getLogger("rtbook.notify")

_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|pwd|token|api[_-]?key|apikey|secret|authorization)(\s*[=:]\s*)"
    r"(bearer\s+)?[^\s,;&\"']+"
)

UNUSABLE_ADDRESS = (
    "alamat penerima tidak dapat dipakai, tidak dicoba lagi "
    "(the recipient's address can never work; not retried)"
)


def clean_error(text: str) -> str:
    """An error text fit to store and show (the plugin's secrets are masked before, by
    ``error_text``): ``password=...``-like pairs and NIK-like digit runs masked."""
    masked = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return scrub_nik(masked)


@dataclass(frozen=True, slots=True)
class _Job:
    """A delivery to send with its channel, and how to make texts safe to keep."""

    delivery: store.DueDelivery
    channel: Channel
    config: Mapping[str, Any]
    secrets: Sequence[str]

    def clean(self, text: str) -> str:
        """No secret, no full address, no NIK."""
        return clean_error(store.hide_address(scrub(text, self.secrets), self.delivery.address))


@dataclass(slots=True)
class _Outcome:
    job: _Job
    attempts: int  # the count after the claim
    finished_at: datetime
    message_id: str | None = None
    error: str | None = None  # None: the provider accepted the message
    final: bool = False  # never retried (the address can never work)
    results: tuple[TargetOutcome, ...] = field(default_factory=tuple)


async def send_due(
    db: Database,
    registry: Any,
    enabled_plugins: EnabledPlugins,
    options: NotifyOptions,
    now: Callable[[], datetime],
    rng: random.Random,
    stats: NotifyStats,
) -> None:
    """Send what is due now (at most ``options.send_batch`` deliveries)."""
    started = now()
    due = await db.read(lambda conn: store.due_deliveries(conn, started, options.send_batch))
    stats.full_batch = len(due) >= options.send_batch
    jobs = await _jobs(db, registry, enabled_plugins, due)
    sendable = {job.delivery.id for job in jobs}
    waiting = [d.id for d in due if d.id not in sendable]
    if waiting:  # their channel is off in their city: they wait, behind the others
        at = now()
        until = at + timedelta(seconds=options.channel_off_wait_seconds)
        await db.write(partial(store.postpone_deliveries, ids=waiting, now=at, until=until))
    if jobs:
        await _Round(db, options, now, rng, stats).run(jobs)


async def _jobs(
    db: Database, registry: Any, enabled_plugins: EnabledPlugins, due: list[store.DueDelivery]
) -> list[_Job]:
    """The due deliveries whose channel's plugin is enabled in their city, each with
    its channel and the plugin's config there."""
    offered = channel_senders(registry)
    enabled_by_city: dict[str, Mapping[str, Any]] = {}
    secrets: dict[tuple[str, str], list[str]] = {}
    jobs = []
    for delivery in due:
        city = delivery.city_code
        if city not in enabled_by_city:
            enabled_by_city[city] = await db.read(lambda conn, c=city: enabled_plugins(conn, c))
        enabled = enabled_by_city[city]
        channel = next(
            (
                ch
                for plugin in sorted(enabled)
                for ch in offered.get(plugin, [])
                if ch.name == delivery.channel
            ),
            None,
        )
        if channel is None:
            continue
        config = dict(getattr(enabled[channel.plugin], "config", {}) or {})
        key = (city, channel.plugin)
        if key not in secrets:
            secrets[key] = secret_values(config, _secret_fields(registry, channel.plugin))
        jobs.append(_Job(delivery, channel, config, secrets[key]))
    return jobs


def _secret_fields(registry: Any, plugin: str) -> tuple[str, ...]:
    info = getattr(registry, "info", None)
    if not callable(info):
        return ()
    try:
        return tuple(getattr(info(plugin), "secret_fields", ()) or ())
    except Exception:
        return ()


class _Round:
    """One pass's sends: at most ``send_concurrency`` in flight; each write settles
    the sends that ended and claims one delivery per free slot."""

    def __init__(
        self,
        db: Database,
        options: NotifyOptions,
        now: Callable[[], datetime],
        rng: random.Random,
        stats: NotifyStats,
    ) -> None:
        self.db, self.options, self.now, self.rng, self.stats = db, options, now, rng, stats

    async def run(self, jobs: list[_Job]) -> None:
        waiting = deque(jobs)
        running: set[asyncio.Task[_Outcome]] = set()
        ended: list[_Outcome] = []
        limit = self.options.send_concurrency
        try:
            while waiting or running or ended:
                take = [waiting.popleft() for _ in range(min(limit - len(running), len(waiting)))]
                if take or ended:
                    claimed = await self._write(ended, take)
                    ended = []
                    files = await self._files([j for j, _ in claimed])
                    running.update(
                        asyncio.create_task(self._send(j, n, files.get(j.delivery.id)))
                        for j, n in claimed
                    )
                if running:
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    ended = [task.result() for task in done]
        finally:
            await self._finish(running, ended)

    async def _finish(self, running: set[asyncio.Task[_Outcome]], ended: list[_Outcome]) -> None:
        """After an error (a failed write, a cancelled pass): let the sends in flight
        end and record what they did, so no accepted message is sent again once its
        lease runs out."""
        if not running and not ended:
            return
        if running:
            done = await asyncio.gather(*running, return_exceptions=True)
            ended = ended + [o for o in done if isinstance(o, _Outcome)]
        try:
            await self._write(ended, [])
        except Exception:
            log.exception(
                "hasil %d pengiriman tidak tercatat (%d delivery outcomes not recorded)",
                len(ended),
                len(ended),
            )

    async def _write(self, ended: list[_Outcome], take: list[_Job]) -> list[tuple[_Job, int]]:
        """One write: settle ``ended``, claim ``take``; the claimed jobs with their
        attempt numbers."""
        settles = [self._settlement(o) for o in ended]
        at = self.now()
        lease = at + timedelta(seconds=self.options.lease_seconds)

        async def unit(conn: Connection) -> tuple[list[bool], dict[int, int]]:
            settled = [
                await store.settle_delivery(
                    conn, outcome.job.delivery.id, outcome.attempts, **kwargs
                )
                for outcome, kwargs in settles
            ]
            ids = [j.delivery.id for j in take]
            return settled, await store.claim_deliveries(conn, ids, at, lease)

        settled, claimed = await self.db.write(unit)
        for (outcome, kwargs), recorded in zip(settles, settled, strict=True):
            if not recorded:  # the lease ran out and another worker took it over
                continue
            if outcome.error is None:
                self.stats.sent += 1
            elif kwargs["next_attempt_at"] is None:
                self.stats.dead += 1
            else:
                self.stats.failed += 1
        return [(j, claimed[j.delivery.id]) for j in take if j.delivery.id in claimed]

    async def _files(self, jobs: list[_Job]) -> dict[int, list[Attachment]]:
        """Delivery id -> its files, for the claimed deliveries that may carry some (a
        plugin notice's key, a sender that takes ``attachments``), in one read."""
        carriers = [j for j in jobs if _may_carry_files(j)]
        if not carriers:
            return {}
        found = await self.db.read(
            partial(read_attachments, wanted=[_file_key(j) for j in carriers])
        )
        return {j.delivery.id: found[_file_key(j)] for j in carriers if _file_key(j) in found}

    def _settlement(self, outcome: _Outcome) -> tuple[_Outcome, dict[str, Any]]:
        next_at = None
        if (
            outcome.error is not None
            and not outcome.final
            and outcome.attempts < self.options.max_attempts
        ):
            next_at = outcome.finished_at + self.options.delay(outcome.attempts, self.rng)
        return outcome, {
            "provider_message_id": outcome.message_id,
            "error": outcome.error,
            "next_attempt_at": next_at,
            "now": outcome.finished_at,
            "result": store.results_json(outcome.results),
        }

    async def _send(
        self, job: _Job, attempts: int, files: list[Attachment] | None = None
    ) -> _Outcome:
        """One attempt; never raises (a sender's exception is its outcome)."""
        delivery = job.delivery
        try:
            extra: dict[str, Any] = {"attachments": list(files)} if files else {}
            answer = job.channel.sender(
                delivery.address,
                delivery.body,
                subject=delivery.subject,
                config=job.config,
                **extra,
            )
            if inspect.isawaitable(answer):
                answer = await answer
            receipt = read_answer(answer)
            return _Outcome(
                job,
                attempts,
                self.now(),
                message_id=receipt.message_id,
                results=_cleaned(job, receipt.results),
            )
        except (Exception, SystemExit) as exc:
            final = isinstance(exc, ValueError)
            error = job.clean(error_text(exc, job.secrets))
            if final:
                error = f"{UNUSABLE_ADDRESS}: {error}"
            log.warning(
                "pengiriman %s gagal, percobaan %s (delivery failed, attempt %s): %s",
                delivery.id,
                attempts,
                attempts,
                error,
            )
            return _Outcome(
                job,
                attempts,
                self.now(),
                error=error,
                final=final,
                results=_cleaned(job, error_outcomes(exc)),
            )


# feed event ids ("64.71-12") and digest keys never have files
_NOT_A_NOTICE = re.compile(r"[0-9]{2}\.[0-9]{2}-[0-9]+|digest:.*", re.DOTALL)


def _file_key(job: _Job) -> tuple[str, str]:
    return (job.delivery.city_code, job.delivery.event_id)


def _may_carry_files(job: _Job) -> bool:
    key = job.delivery.event_id
    return (
        bool(key) and not _NOT_A_NOTICE.fullmatch(key) and accepts_attachments(job.channel.sender)
    )


def _cleaned(job: _Job, results: tuple[TargetOutcome, ...]) -> tuple[TargetOutcome, ...]:
    return tuple(r.cleaned(job.clean) for r in results)
