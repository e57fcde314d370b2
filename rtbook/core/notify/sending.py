"""Sending: claim each due delivery, call its channel's sender outside any unit of
work, and record the outcome (backoff with full jitter; dead after the last attempt).
"""

from __future__ import annotations

import inspect
import logging
import random
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from rtbook.core.db import Database
from rtbook.core.dispatch.redact import error_text, secret_values
from rtbook.core.dispatch.streams import EnabledPlugins
from rtbook.core.notify import deliveries as store
from rtbook.core.notify.channels import channel_senders
from rtbook.core.notify.compose import scrub
from rtbook.core.notify.options import NotifyOptions, NotifyStats

log = logging.getLogger("rtbook.notify")

_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|pwd|token|api[_-]?key|apikey|secret|authorization)(\s*[=:]\s*)"
    r"(bearer\s+)?[^\s,;&\"']+"
)


def clean_error(text: str) -> str:
    """An error text fit to store and show (the plugin's secrets are masked before, by
    ``error_text``): ``password=...``-like pairs and NIK-like digit runs masked."""
    masked = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return scrub(masked)


async def send_due(
    db: Database,
    registry: Any,
    enabled_plugins: EnabledPlugins,
    options: NotifyOptions,
    now: Callable[[], datetime],
    rng: random.Random,
    stats: NotifyStats,
) -> None:
    offered = channel_senders(registry)
    started = now()
    due = await db.read(lambda conn: store.due_deliveries(conn, started, options.send_batch))
    enabled_by_city: dict[str, Mapping[str, Any]] = {}
    for delivery in due:
        if delivery.city_code not in enabled_by_city:
            enabled_by_city[delivery.city_code] = await db.read(
                lambda conn, c=delivery.city_code: enabled_plugins(conn, c)
            )
        enabled = enabled_by_city[delivery.city_code]
        channel = next(
            (
                ch
                for plugin in sorted(enabled)
                for ch in offered.get(plugin, [])
                if ch.name == delivery.channel
            ),
            None,
        )
        if channel is None:  # the channel's plugin is off in the city: it waits
            continue
        config = dict(getattr(enabled[channel.plugin], "config", {}) or {})
        claimed_at = now()
        lease = claimed_at + timedelta(seconds=options.lease_seconds)
        if not await db.write(
            partial(store.claim_delivery, due=delivery, now=claimed_at, lease_until=lease)
        ):
            continue
        attempts = delivery.attempts + 1
        provider_id: str | None = None
        error: str | None = None
        try:
            result = channel.sender(
                delivery.address, delivery.body, subject=delivery.subject, config=config
            )
            if inspect.isawaitable(result):
                result = await result
            provider_id = None if result is None else str(result)[:255]
        except (Exception, SystemExit) as exc:
            fields: tuple[str, ...] = ()
            info = getattr(registry, "info", None)
            if callable(info):
                try:
                    fields = tuple(getattr(info(channel.plugin), "secret_fields", ()) or ())
                except Exception:
                    fields = ()
            error = clean_error(error_text(exc, secret_values(config, fields)))
            log.warning(
                "pengiriman %s gagal, percobaan %s (delivery failed, attempt %s): %s",
                delivery.id,
                attempts,
                attempts,
                error,
            )
        finished = now()
        next_at = None
        if error is not None and attempts < options.max_attempts:
            next_at = finished + options.delay(attempts, rng)
        await db.write(
            partial(
                store.settle_delivery,
                delivery_id=delivery.id,
                attempts=attempts,
                provider_message_id=provider_id,
                error=error,
                next_attempt_at=next_at,
                now=finished,
            )
        )
        if error is None:
            stats.sent += 1
        elif next_at is None:
            stats.dead += 1
        else:
            stats.failed += 1
