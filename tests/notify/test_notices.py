"""Plugin notices on both backends: a plugin's rtbook_service_completed gets ``db`` and
a ``notifier`` from the worker and tells health workers; notices follow the
recipients' preferences (channels, quiet hours, digest), are never planned twice for
one key, and carry no full NIK."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import RT_A, add_user, standard_city
from notify_support import (
    FULL_NIK,
    Clock,
    FakeChannels,
    add_kelurahan,
    deliveries,
    post_event,
)

from rtbook import hookimpl
from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.notify.notices import Notice, Notifier
from rtbook.core.notify.preferences import parse_input, save_preferences
from rtbook.core.notify.recipients import health_workers_for
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import enabled_plugins, set_plugin

MORNING = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 WITA


class Kader:
    """A plugin like lansia: tells the health workers of the event's RT."""

    def __init__(self) -> None:
        self.planned: list[int] = []

    @hookimpl
    async def rtbook_service_completed(self, event: dict[str, Any], db, notifier) -> None:
        workers = await db.read(lambda conn: health_workers_for(conn, event["subject"]))
        name = event["data"]["resident"]["name"]
        notice = Notice(
            key=f"{event['id']}:kader",
            user_ids=[w.user_id for w in workers],
            subject={"id": f"Warga baru: {name}", "en": f"New resident: {name}"},
            body={"id": f"{name} ({FULL_NIK}) tercatat di {event['subject']}."},
            service_type=event["data"]["service_type"],
        )
        self.planned.append(await notifier.notify([notice]))


class OldStyle:
    """A plugin written for the three-argument hook keeps working."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def rtbook_service_completed(self, event: dict[str, Any], city: str, config: Any) -> None:
        self.seen.append(event["id"])


@pytest.fixture
async def world(db: Database) -> dict[str, Any]:
    ids: dict[str, int] = {}

    async def unit(conn):
        await standard_city(conn)
        await add_kelurahan(conn)
        for name, area, extra in (
            ("kader_kel", "64.71.06.1005", {"whatsapp": "+6281300000001"}),
            ("kader_kec", "64.71.06", {"email": "kec@example.org"}),
            ("kader_kota", "64.71", {"whatsapp": "+6281300000003", "email": "kota@example.org"}),
            ("kader_lain", "64.71.07", {"email": "lain@example.org"}),
            ("kader_b", "64.72", {"email": "b@example.org"}),
        ):
            user, _ = await add_user(
                conn, name, Role.HEALTH_WORKER, city=area[:5], areas=(area,), **extra
            )
            ids[name] = user.user_id
        head, _ = await add_user(
            conn, "ketua005", Role.RT_HEAD, city="64.71", rts=(RT_A,), email="k@example.org"
        )
        ids["head"] = head.user_id
        sleeper, _ = await add_user(
            conn, "kader_off", Role.HEALTH_WORKER, city="64.71", areas=("64.71",),
            email="off@example.org",
        )  # fmt: skip
        await conn.execute(
            "UPDATE rtbook_user SET is_active = $1 WHERE id = $2", False, sleeper.user_id
        )

    await db.write(unit)
    channels = FakeChannels()
    kader, old = Kader(), OldStyle()
    registry = PluginRegistry()
    registry.register("fake_channels", channels)
    registry.register("kader", kader)
    registry.register("old_style", old)
    for name in registry.names():
        await db.write(
            lambda conn, name=name: set_plugin(
                conn, registry, "64.71", name, enabled=True, config={}, user_id=None
            )
        )
    return {"db": db, "ids": ids, "channels": channels, "kader": kader, "old": old,
            "registry": registry}  # fmt: skip


async def test_health_workers_for_an_rt(world: dict[str, Any]) -> None:
    db, ids = world["db"], world["ids"]
    found = await db.read(lambda conn: health_workers_for(conn, RT_A))
    assert [r.user_id for r in found] == [ids["kader_kel"], ids["kader_kec"], ids["kader_kota"]]
    assert await db.read(lambda conn: health_workers_for(conn, "64.71.99.9999-001-001")) == []


async def test_the_worker_hands_plugins_a_notifier_and_notices_go_out_once(
    world: dict[str, Any],
) -> None:
    db, registry, channels = world["db"], world["registry"], world["channels"]
    await post_event(db, RT_A, name="SITI AMINAH")
    clock = Clock(MORNING)
    stats = await run_worker(db, registry, once=True, now=clock)
    assert stats.delivered == 2 and stats.failed == 0  # kader and old_style
    assert world["old"].seen == ["64.71-1"]
    assert world["kader"].planned == [4]
    to_workers = sorted(
        (s["channel"], s["address"]) for s in channels.sent if s["subject"].startswith("Warga")
    )
    assert to_workers == [
        ("email", "kec@example.org"),
        ("email", "kota@example.org"),
        ("whatsapp", "+6281300000001"),
        ("whatsapp", "+6281300000003"),
    ]
    text = next(s["text"] for s in channels.sent if s["address"] == "kec@example.org")
    assert "SITI AMINAH" in text and FULL_NIK not in text and "1234" in text
    rows = [r for r in await deliveries(db) if r["event_id"] == "64.71-1:kader"]
    assert len(rows) == 4 and {r["status"] for r in rows} == {"sent"}

    # the hook runs again (the dispatch checkpoint lost): nothing is planned twice
    await db.write(lambda conn: conn.execute("DELETE FROM dispatch_checkpoint"))
    clock.advance(minutes=5)
    await run_worker(db, registry, once=True, now=clock)
    assert world["kader"].planned == [4, 0]
    assert len([s for s in channels.sent if s["subject"].startswith("Warga")]) == 4


async def _notify(world: dict[str, Any], clock: Clock, *notices: Notice) -> int:
    notifier = Notifier(
        world["db"], world["registry"], "64.71", enabled_plugins=enabled_plugins, now=clock
    )
    return await notifier.notify(list(notices))


async def _send(world: dict[str, Any], clock: Clock) -> None:
    await run_notify(
        world["db"],
        world["registry"],
        now=clock,
        enabled_plugins=enabled_plugins,
        options=NotifyOptions(),
        rng=random.Random(1),
    )


async def test_notices_follow_each_recipients_preferences(world: dict[str, Any]) -> None:
    db, ids, channels = world["db"], world["ids"], world["channels"]

    async def prefs(user: str, **change: Any) -> None:
        await db.write(lambda conn: save_preferences(conn, ids[user], parse_input(change), MORNING))

    await prefs("kader_kota", channels=["email"], language="en")
    await prefs("kader_kel", quiet_start="08:00", quiet_end="12:00")
    await prefs("kader_kec", daily_digest=True)
    await prefs("head", service_types=["akta_kematian"])
    notice = Notice(
        key="kader-week-2026-W47",
        user_ids=[ids["kader_kota"], ids["kader_kel"], ids["kader_kec"], ids["head"]],
        subject={"id": "Rekap mingguan", "en": "Weekly recap"},
        body={"id": "Ada 3 lansia baru.", "en": "3 new elderly residents."},
        service_type="kk",
    )
    clock = Clock(MORNING)
    assert await _notify(world, clock, notice) == 3
    assert await _notify(world, clock, notice) == 0  # the same key: nothing again
    await _send(world, clock)
    assert [(s["address"], s["subject"], s["text"]) for s in channels.sent] == [
        ("kota@example.org", "Weekly recap", "3 new elderly residents.")
    ]  # e-mail only, in English; the head does not want kk; the others wait
    rows = {r["address"]: r for r in await deliveries(db)}
    assert rows["+6281300000001"]["next_attempt_at"] == MORNING + timedelta(hours=3)  # 12:00
    assert rows["kec@example.org"]["status"] == "digested"

    clock.advance(hours=3)
    await _send(world, clock)
    assert channels.sent[-1]["address"] == "+6281300000001"
    assert channels.sent[-1]["text"] == "Ada 3 lansia baru."
    clock.now = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # 07:00 WITA next day: digest
    await _send(world, clock)
    digest = channels.sent[-1]
    assert digest["address"] == "kec@example.org" and "Rekap mingguan" in digest["text"]
    assert len(channels.sent) == 3


async def test_bad_notices_are_refused(world: dict[str, Any]) -> None:
    clock = Clock(MORNING)
    good = {"key": "k", "user_ids": [1], "subject": {"id": "s"}, "body": {"id": "b"}}
    for bad in (
        {"key": "x" * 65},
        {"key": ""},
        {"key": "64.71-12"},  # a feed event's id
        {"key": "digest:64.71:2026-11-20"},
        {"subject": {"en": "only English"}},
        {"body": "text"},
        {"user_ids": "12"},
    ):
        with pytest.raises(ValueError):
            await _notify(world, clock, Notice(**{**good, **bad}))
    assert await deliveries(world["db"]) == []
    assert await _notify(world, clock, Notice(**{**good, "key": "x" * 64, "user_ids": []})) == 0
    assert await _notify(world, clock) == 0


async def test_notices_only_use_channels_enabled_in_the_city(world: dict[str, Any]) -> None:
    db, ids = world["db"], world["ids"]
    notifier = Notifier(db, world["registry"], "64.72", enabled_plugins=enabled_plugins)
    notice = Notice("kota-b", [ids["kader_b"]], {"id": "Halo"}, {"id": "Halo"})
    assert await notifier.notify([notice]) == 0  # no channel plugin enabled in 64.72
    assert await deliveries(db) == []
