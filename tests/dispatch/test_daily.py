"""rtbook_daily on both backends with a driven clock: once per (plugin, city) per
city-local day, from 06:00 city time (WITA and WIB cities apart), a failure logged
with secrets and NIKs masked and retried at a later pass without blocking others, a
notice sent from the hook in the same ``--once`` run, and ``rtbook worker --once``."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from factories import RT_A, add_city, add_user

from rtbook import hookimpl
from rtbook.cli import main
from rtbook.core.auth import Role
from rtbook.core.db import Database, make_database
from rtbook.core.dispatch.daily import RETRY_SECONDS
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.notify.notices import Notice
from rtbook.core.plugins import Secret
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.settings import DatabaseURL

JAKARTA = "31.71"
FULL_NIK = "6471064101901234"
SECRET = "rahasia-daily-991"
# 20 Nov 2026 05:59 WITA = 04:59 WIB
BEFORE_SIX = datetime(2026, 11, 19, 21, 59, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class DailyConfig(msgspec.Struct, forbid_unknown_fields=True):
    token: Secret | None = None


class Daily:
    """Records each call; ``fail`` calls raise first (with a NIK and the token)."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[str, date, dict[str, Any]]] = []
        self.fail = fail

    @hookimpl
    def rtbook_config_schema(self) -> type[DailyConfig]:
        return DailyConfig

    @hookimpl
    async def rtbook_daily(self, city: str, config: Any, db: Database, day: date) -> None:
        self.calls.append((city, day, dict(config)))
        assert await db.read(lambda conn: conn.fetchval("SELECT count(*) FROM city")) >= 2
        if self.fail > 0:
            self.fail -= 1
            raise RuntimeError(f"laporan gagal untuk {FULL_NIK} memakai {config['token']}")


class Announcer:
    """Sends the city's RT heads a morning notice through the notifier."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    @hookimpl
    def rtbook_notification_channels(self) -> dict[str, Any]:
        return {"email": self.send}

    def send(self, address: str, text: str, *, subject: Any, config: Any) -> None:
        self.sent.append((address, text))

    @hookimpl
    async def rtbook_daily(self, city: str, notifier: Any, db: Database, day: date) -> None:
        heads = await db.read(
            lambda conn: conn.fetch("SELECT id FROM rtbook_user WHERE role = 'rt_head'")
        )
        await notifier.notify(
            [
                Notice(
                    key=f"pagi-{city}-{day.isoformat()}",
                    user_ids=[int(h["id"]) for h in heads],
                    subject={"id": "Selamat pagi"},
                    body={"id": f"Rekap {day:%d-%m-%Y} kota {city}."},
                )
            ]
        )


async def _world(
    db: Database, registry: PluginRegistry, cities: tuple[str, ...], **config: Any
) -> None:
    async def unit(conn):
        await add_city(conn, "64.71")  # WITA
        await add_city(conn, "64.72")  # WITA, plugin not enabled
        await add_city(conn, JAKARTA, tz="Asia/Jakarta")  # WIB

    await db.write(unit)
    for name in registry.names():
        for city in cities:
            await db.write(
                lambda conn, name=name, city=city: set_plugin(
                    conn, registry, city, name, enabled=True, config=config, user_id=None
                )
            )


def _registry(**plugins: Any) -> PluginRegistry:
    registry = PluginRegistry()
    for name, plugin in plugins.items():
        registry.register(name, plugin)
    return registry


async def test_rtbook_daily_runs_once_per_city_day_from_six_city_time(db: Database) -> None:
    daily = Daily()
    registry = _registry(daily=daily)
    await _world(db, registry, ("64.71", JAKARTA))
    clock = Clock(BEFORE_SIX)

    async def run() -> list[tuple[str, date]]:
        await run_worker(db, registry, once=True, now=clock)
        return [(city, day) for city, day, _ in daily.calls]

    assert await run() == []  # 05:59 WITA, 04:59 WIB
    clock.now += timedelta(minutes=1)  # 06:00 WITA
    assert await run() == [("64.71", date(2026, 11, 20))]
    clock.now += timedelta(minutes=30)
    assert await run() == [("64.71", date(2026, 11, 20))]
    clock.now = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)  # 06:00 WIB
    calls = await run()
    assert calls == [("64.71", date(2026, 11, 20)), (JAKARTA, date(2026, 11, 20))]
    clock.now += timedelta(hours=15)  # 21:00 WIB, 22:00 WITA: the same day everywhere
    assert len(await run()) == 2
    clock.now = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)  # 06:00 WITA on 21 Nov
    assert (await run())[2:] == [("64.71", date(2026, 11, 21))]
    # a lost checkpoint is the only way to a second call for a day
    rows = await db.read(
        lambda conn: conn.fetch(
            "SELECT plugin, city_code, last_day, attempts FROM daily_checkpoint ORDER BY city_code"
        )
    )
    got = [(r["plugin"], r["city_code"], str(r["last_day"]), r["attempts"]) for r in rows]
    assert got == [("daily", JAKARTA, "2026-11-20", 0), ("daily", "64.71", "2026-11-21", 0)]


async def test_a_failing_rtbook_daily_is_retried_later_and_blocks_nothing(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    failing, fine = Daily(fail=2), Daily()
    registry = _registry(failing=failing, fine=fine)
    await _world(db, registry, ("64.71",), token=SECRET)
    clock = Clock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))  # 09:00 WITA
    with caplog.at_level(logging.ERROR, logger="rtbook.worker"):
        stats = await run_worker(db, registry, once=True, now=clock)
    assert (stats.daily.called, stats.daily.failed) == (1, 1)
    assert len(fine.calls) == 1 and len(failing.calls) == 1
    assert failing.calls[0][2] == {"token": SECRET}  # the plugin gets its secret
    logged = caplog.text
    assert "laporan gagal" in logged and SECRET not in logged and FULL_NIK not in logged
    row = await db.read(
        lambda conn: conn.fetchrow(
            "SELECT last_day, attempts, last_error FROM daily_checkpoint WHERE plugin = 'failing'"
        )
    )
    assert row["last_day"] is None and row["attempts"] == 1
    assert SECRET not in row["last_error"] and FULL_NIK not in row["last_error"]

    clock.now += timedelta(seconds=RETRY_SECONDS - 1)  # too soon: not called
    await run_worker(db, registry, once=True, now=clock)
    assert len(failing.calls) == 1
    clock.now += timedelta(seconds=1)
    await run_worker(db, registry, once=True, now=clock)
    clock.now += timedelta(seconds=RETRY_SECONDS)
    stats = await run_worker(db, registry, once=True, now=clock)
    assert (stats.daily.called, stats.daily.failed) == (1, 0)
    assert len(failing.calls) == 3 and len(fine.calls) == 1
    clock.now += timedelta(hours=1)
    await run_worker(db, registry, once=True, now=clock)
    assert len(failing.calls) == 3
    row = await db.read(
        lambda conn: conn.fetchrow(
            "SELECT last_day, attempts, last_error FROM daily_checkpoint WHERE plugin = 'failing'"
        )
    )
    assert str(row["last_day"]) == "2026-11-20" and row["attempts"] == 0
    assert row["last_error"] is None


async def test_a_notice_from_rtbook_daily_is_sent_in_the_same_once_run(
    db: Database,
) -> None:
    announcer = Announcer()
    registry = _registry(announcer=announcer)
    await _world(db, registry, ("64.71",))

    async def unit(conn):
        await conn.execute(
            "INSERT INTO rt (code, city_code, kecamatan_code, kelurahan_code, rw, rt,"
            " created_at) VALUES ($1, '64.71', '64.71.06', '64.71.06.1005', '003', '005', $2)",
            RT_A,
            BEFORE_SIX,
        )
        await add_user(conn, "ketua005", Role.RT_HEAD, city="64.71", rts=(RT_A,),
                       email="ketua005@example.org")  # fmt: skip

    await db.write(unit)
    clock = Clock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    stats = await run_worker(db, registry, once=True, now=clock)
    assert stats.daily.called == 1 and stats.notify.sent == 1
    assert announcer.sent == [("ketua005@example.org", "Rekap 20-11-2026 kota 64.71.")]
    clock.now += timedelta(days=1)
    await run_worker(db, registry, once=True, now=clock)
    assert announcer.sent[-1] == ("ketua005@example.org", "Rekap 21-11-2026 kota 64.71.")
    assert len(announcer.sent) == 2


def _noon_here() -> str:
    """An IANA zone where it is about noon now (Etc/GMT signs are reversed)."""
    offset = 12 - datetime.now(UTC).hour
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def test_rtbook_worker_once_calls_what_is_due(
    db_env: DatabaseURL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command itself (in this process, for its signal handlers: on the main
    thread), with a city where it is about noon now."""
    daily = Daily()
    registry = _registry(daily=daily)

    async def setup() -> None:
        db = make_database(db_env)
        await db.open()
        try:
            await _world(db, registry, ())
            await db.write(
                lambda conn: conn.execute(
                    "UPDATE city SET timezone = $1 WHERE code = $2", _noon_here(), "64.72"
                )
            )
            await db.write(
                lambda conn: set_plugin(
                    conn, registry, "64.72", "daily", enabled=True, config={}, user_id=None
                )
            )
        finally:
            await db.close()

    asyncio.run(setup())
    monkeypatch.setattr(PluginRegistry, "load", classmethod(lambda cls, *a, **k: registry))
    assert main(["worker", "--once"]) == 0
    assert [city for city, _, _ in daily.calls] == ["64.72"]
    assert main(["worker", "--once"]) == 0
    assert len(daily.calls) == 1
    assert "rtbook worker --once" in capsys.readouterr().out
