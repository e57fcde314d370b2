"""Helpers of the notification tests: a fake channel plugin, feed events, a clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from factories import NOW

from rtbook import hookimpl
from rtbook.core.db import Connection, Database
from rtbook.core.ledger.feed import event_data
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin

FULL_NIK = "6471064101901234"
KELURAHAN = "64.71.06.1005"


@dataclass
class FakeChannels:
    """A channel plugin: records each send; ``fail`` sends raise before succeeding."""

    fail: int = 0
    broken: set[str] = field(default_factory=set)  # channels whose every send fails
    sent: list[dict[str, Any]] = field(default_factory=list)
    tries: int = 0

    @hookimpl
    def rtbook_notification_channels(self) -> dict[str, Any]:
        return {"whatsapp": self.send_whatsapp, "email": self.send_email}

    async def send_whatsapp(self, address: str, text: str, *, subject: Any, config: Any) -> str:
        return self._send("whatsapp", address, text, subject)

    def send_email(self, address: str, text: str, *, subject: Any, config: Any) -> str:
        return self._send("email", address, text, subject)

    def _send(self, channel: str, address: str, text: str, subject: Any) -> str:
        self.tries += 1
        if channel in self.broken:
            raise TimeoutError(f"{channel} timed out, password=hunter2")
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError(f"gateway 500 for {FULL_NIK} token=s3cret")
        self.sent.append({"channel": channel, "address": address, "text": text, "subject": subject})
        return f"msg-{len(self.sent)}"


def fake_registry(plugin: FakeChannels, name: str = "fake_channels") -> PluginRegistry:
    registry = PluginRegistry()
    registry.register(name, plugin)
    return registry


async def enable(db: Database, registry: PluginRegistry, city: str = "64.71") -> None:
    name = registry.names()[0]
    await db.write(
        lambda conn: set_plugin(conn, registry, city, name, enabled=True, config={}, user_id=None)
    )


async def add_kelurahan(conn: Connection) -> None:
    await conn.execute(
        "INSERT INTO region (code, name, level, parent_code, city_code)"
        " VALUES ($1, $2, $3, $4, $5)",
        KELURAHAN,
        "Damai",
        "kelurahan",
        "64.71.06",
        "64.71",
    )


async def post_event(
    db: Database,
    rt: str,
    *,
    city: str = "64.71",
    service_type: str = "kk",
    name: str = "SITI AMINAH",
    nik: str = FULL_NIK,
    at: datetime = NOW,
) -> int:
    """A feed event the way ingestion writes it; its seq."""

    async def unit(conn: Connection) -> int:
        seq = int(
            await conn.fetchval(
                "UPDATE city SET event_seq = event_seq + 1 WHERE code = $1 RETURNING event_seq",
                city,
            )
        )
        data = event_data(
            service_type=service_type,
            service_id=f"svc-{seq}",
            effect="document_issued",
            name=name,
            nik=nik,
            summary=f"Kartu Keluarga diterbitkan untuk {name}",
        )
        await conn.execute(
            "INSERT INTO event (city_code, seq, rt_code, effect, time, data, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            city,
            seq,
            rt,
            "document_issued",
            at,
            msgspec.json.encode(data).decode(),
            at,
        )
        return seq

    return await db.write(unit)


class Clock:
    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def deliveries(db: Database) -> list[dict[str, Any]]:
    rows = await db.read(lambda conn: conn.fetch("SELECT * FROM delivery ORDER BY id"))
    return [dict(r) for r in rows]
