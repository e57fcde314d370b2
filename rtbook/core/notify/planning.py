"""Planning: turn new feed events into deliveries.

Planning reads each city's events after its ``notify_checkpoint``, finds the
recipients (the RT heads of the event's RT), the channels offered by plugins enabled
in the city (``rtbook_notification_channels``; a plugin enabled later plans only
events after its ``start_seq``), composes the text (``rtbook_compose_message`` of an
enabled plugin, else the templates) and inserts the deliveries with the checkpoint
in one transaction, ON CONFLICT DO NOTHING: a replayed or re-planned event never gets
a second delivery.

Recipients' preferences apply here: the channels and service types they want, their
quiet hours (a delivery planned inside them is due at their end, city time) and the
daily digest (their deliveries are held as ``digested`` for the next morning's digest,
rtbook.core.notify.digest, which :func:`plan_all` builds when due).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rtbook.core.db import Connection, Database, Row
from rtbook.core.dispatch.streams import EnabledPlugins
from rtbook.core.ledger.feed import cloud_event
from rtbook.core.notify import deliveries as store
from rtbook.core.notify.channels import Channel, channel_senders
from rtbook.core.notify.compose import EventPlace, render, scrub
from rtbook.core.notify.digest import DIGESTED, build_digests, insert_counted
from rtbook.core.notify.options import NotifyOptions
from rtbook.core.notify.recipients import Recipient, quiet_until, rt_heads

log = logging.getLogger("rtbook.notify")

COMPOSE_HOOK = "rtbook_compose_message"

__all__ = ["compose", "due_at", "plan_all", "plan_city", "quiet_until"]


def due_at(recipient: Recipient, now: datetime, timezone: str) -> datetime | None:
    """When a delivery planned ``now`` for ``recipient`` is due: now, or the end of
    their quiet hours; None when it is held for their daily digest."""
    if recipient.daily_digest:
        return None
    return quiet_until(recipient, now, timezone) or now


@dataclass
class _CityWork:
    city: str
    timezone: str
    last_seq: int
    enabled: Mapping[str, Any]
    events: list[Row] = field(default_factory=list)
    heads: dict[str, list[Recipient]] = field(default_factory=dict)
    kelurahan: dict[str, str] = field(default_factory=dict)


async def _read_city(
    conn: Connection, city: str, timezone: str, enabled_plugins: EnabledPlugins, chunk: int
) -> _CityWork:
    last = await conn.fetchval("SELECT last_seq FROM notify_checkpoint WHERE city_code = $1", city)
    work = _CityWork(city, timezone, int(last or 0), await enabled_plugins(conn, city))
    work.events = await conn.fetch(
        "SELECT e.id, e.city_code, e.seq, e.rt_code, e.effect, e.time, e.data,"
        " g.name AS kelurahan FROM event e LEFT JOIN rt r ON r.code = e.rt_code"
        " LEFT JOIN region g ON g.code = r.kelurahan_code"
        " WHERE e.city_code = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
        city,
        work.last_seq,
        chunk,
    )
    for row in work.events:
        rt = row["rt_code"]
        if rt not in work.heads:
            work.heads[rt] = await rt_heads(conn, rt)
        work.kelurahan[rt] = row["kelurahan"] or ""
    return work


async def compose(
    registry: Any,
    enabled: Mapping[str, Any],
    event: dict[str, Any],
    recipient: Recipient,
    channel: str,
    place: EventPlace,
) -> tuple[str | None, str]:
    """(subject, body): an enabled plugin's ``rtbook_compose_message`` if one answers,
    else the templates. Either way any NIK-like run of digits is masked."""
    subject, body = render(event, place, recipient.language)
    implements = getattr(registry, "implements", None)
    if callable(implements):
        for plugin in sorted(enabled):
            if plugin in registry and implements(plugin, COMPOSE_HOOK):
                try:
                    text = await registry.call(
                        plugin,
                        COMPOSE_HOOK,
                        event=event,
                        recipient=recipient.as_mapping(),
                        channel=channel,
                        language=recipient.language,
                    )
                except Exception:
                    log.exception("plugin %s: %s gagal (failed)", plugin, COMPOSE_HOOK)
                    continue
                if text:
                    return subject, scrub(str(text))
    return subject, body


async def plan_city(
    db: Database,
    registry: Any,
    offered: Mapping[str, list[Channel]],
    city: str,
    timezone: str,
    enabled_plugins: EnabledPlugins,
    options: NotifyOptions,
    now: datetime,
) -> int:
    """Plan one chunk of a city's events; the number of deliveries planned, those held
    for a digest included (-1: no events left, the city is up to date)."""
    work: _CityWork = await db.read(
        lambda conn: _read_city(conn, city, timezone, enabled_plugins, options.plan_chunk)
    )
    if not work.events:
        return -1
    planned: list[store.PlannedDelivery] = []
    held: list[store.PlannedDelivery] = []
    for row in work.events:
        seq = int(row["seq"])
        channels = [
            ch
            for plugin, state in work.enabled.items()
            if int(getattr(state, "start_seq", 0) or 0) < seq
            for ch in offered.get(plugin, [])
        ]
        if not channels:
            continue
        event = cloud_event(row)
        service_type = (event.get("data") or {}).get("service_type")
        place = EventPlace(timezone, work.kelurahan.get(row["rt_code"], ""))
        for recipient in work.heads.get(row["rt_code"], []):
            due = due_at(recipient, now, timezone)
            routes = recipient.routes((ch.name for ch in channels), service_type)
            for channel, address in routes:
                subject, body = await compose(
                    registry, work.enabled, event, recipient, channel, place
                )
                (held if due is None else planned).append(
                    store.PlannedDelivery(
                        event_id=event["id"],
                        city_code=city,
                        seq=seq,
                        user_id=recipient.user_id,
                        channel=channel,
                        address=address,
                        subject=subject,
                        body=body,
                        language=recipient.language,
                        due_at=due or now,
                    )
                )
    last = int(work.events[-1]["seq"])

    async def save(conn: Connection) -> None:
        await store.insert_deliveries(conn, planned, now)
        await insert_counted(conn, held, now, status=DIGESTED)
        await conn.execute(
            "INSERT INTO notify_checkpoint (city_code, last_seq, updated_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (city_code) DO UPDATE SET last_seq = excluded.last_seq,"
            " updated_at = excluded.updated_at"
            " WHERE notify_checkpoint.last_seq < excluded.last_seq",
            city,
            last,
            now,
        )

    await db.write(save)
    return len(planned) + len(held)


async def plan_all(
    db: Database,
    registry: Any,
    enabled_plugins: EnabledPlugins,
    options: NotifyOptions,
    now: datetime,
) -> int:
    offered = channel_senders(registry)
    cities = await db.read(lambda conn: conn.fetch("SELECT code, timezone FROM city ORDER BY code"))
    planned = 0
    for city in cities:
        while True:
            count = await plan_city(
                db, registry, offered, city["code"], city["timezone"], enabled_plugins,
                options, now,
            )  # fmt: skip
            if count < 0:
                break
            planned += count
        planned += await build_digests(db, city["code"], city["timezone"], now)
    return planned
