"""The notification hub's pass in the worker: plan deliveries from the feed
(rtbook.core.notify.planning), then send what is due (rtbook.core.notify.sending).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rtbook.core.db import Database
from rtbook.core.dispatch.streams import EnabledPlugins
from rtbook.core.notify.options import NotifyOptions, NotifyStats
from rtbook.core.notify.planning import plan_all
from rtbook.core.notify.sending import send_due

__all__ = ["NotifyOptions", "NotifyStats", "notify_loop", "run_notify"]

log = logging.getLogger("rtbook.notify")


async def run_notify(
    db: Database,
    registry: Any,
    *,
    now: Callable[[], datetime],
    enabled_plugins: EnabledPlugins,
    options: NotifyOptions | None = None,
    rng: random.Random | None = None,
) -> NotifyStats:
    """One pass: plan deliveries for new feed events, then send what is due."""
    options = options or NotifyOptions()
    stats = NotifyStats()
    stats.planned = await plan_all(db, registry, enabled_plugins, options, now())
    await send_due(db, registry, enabled_plugins, options, now, rng or random.Random(), stats)
    return stats


async def notify_loop(
    db: Database,
    registry: Any,
    *,
    stop: Any,
    now: Callable[[], datetime],
    enabled_plugins: EnabledPlugins,
    poll_seconds: float,
    options: NotifyOptions | None = None,
) -> None:
    """:func:`run_notify` every ``poll_seconds`` until ``stop`` (an asyncio.Event) is
    set; a failing pass is logged and tried again at the next poll."""
    rng = random.Random()
    while not stop.is_set():
        try:
            stats = await run_notify(
                db, registry, now=now, enabled_plugins=enabled_plugins, options=options, rng=rng
            )
            if stats.full_batch:  # a backlog: the next pass at once
                continue
        except Exception:
            log.exception("pemberitahuan gagal, dicoba lagi (notification pass failed, retrying)")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
