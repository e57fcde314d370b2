"""The notification hub end to end on both backends: planning in the worker, sending
through a fake channel plugin, retries, dead deliveries, never twice."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import msgspec
import pytest
from factories import NOW, RT_A, RT_B, add_user, standard_city
from notify_support import (
    FULL_NIK,
    Clock,
    FakeChannels,
    add_kelurahan,
    deliveries,
    enable,
    fake_registry,
    post_event,
)

from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.notify import deliveries as store
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.plugins.settings import enabled_plugins


@pytest.fixture
async def world(db: Database) -> Database:
    async def unit(conn):
        await standard_city(conn)
        await add_kelurahan(conn)
        await add_user(
            conn, "ketua005", Role.RT_HEAD, city="64.71", rts=(RT_A,),
            whatsapp="+6281234567890", email="ketua005@example.org",
        )  # fmt: skip
        await add_user(
            conn, "wakil005", Role.RT_HEAD, city="64.71", rts=(RT_A,), email="wakil@example.org"
        )
        await add_user(
            conn, "ketua006", Role.RT_HEAD, city="64.71", rts=(RT_B,),
            whatsapp="+6281200000006", email="ketua006@example.org",
        )  # fmt: skip

    await db.write(unit)
    return db


async def test_rt_heads_get_one_message_per_channel_once(world: Database) -> None:
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(world, registry)
    await post_event(world, RT_A)
    clock = Clock()

    stats = await run_worker(world, registry, once=True, now=clock)

    assert stats.notify.planned == 3 and stats.notify.sent == 3
    got = sorted((s["channel"], s["address"]) for s in plugin.sent)
    assert got == [
        ("email", "ketua005@example.org"),
        ("email", "wakil@example.org"),
        ("whatsapp", "+6281234567890"),
    ]  # the head of RT 006 gets nothing
    text = plugin.sent[0]["text"]
    assert "SITI AMINAH" in text
    assert "Kartu Keluarga" in text
    assert "20 November 2026" in text  # 01:00 UTC = 09:00 WITA
    assert "RT 005/RW 003" in text and "Damai" in text
    assert "1234" in text
    rows = await deliveries(world)
    assert {r["status"] for r in rows} == {"sent"}
    assert all(r["provider_message_id"] and r["sent_at"] for r in rows)

    clock.advance(hours=1)
    again = await run_worker(world, registry, once=True, now=clock)
    assert again.notify.planned == 0 and again.notify.sent == 0
    assert len(plugin.sent) == 3


async def test_no_full_nik_in_any_message(world: Database) -> None:
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(world, registry)
    for service in ("kk", "ktp_el", "akta_kelahiran", "akta_kematian", "unknown_type"):
        await post_event(world, RT_A, service_type=service, name=f"WARGA {FULL_NIK}")
    await run_worker(world, registry, once=True, now=Clock())
    assert len(plugin.sent) == 15
    for row in await deliveries(world):
        for text in (row["body"], row["subject"]):
            assert FULL_NIK not in text
            assert not re.search(r"[0-9]{16}", text)
    for sent in plugin.sent:
        assert FULL_NIK not in sent["text"]


async def test_replanning_an_event_plans_nothing_twice(world: Database) -> None:
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(world, registry)
    await post_event(world, RT_A)
    clock = Clock()
    await run_worker(world, registry, once=True, now=clock)
    # the checkpoint is lost (a crash before it was written): the event is planned again
    await world.write(lambda conn: conn.execute("DELETE FROM notify_checkpoint"))
    clock.advance(minutes=5)
    stats = await run_worker(world, registry, once=True, now=clock)
    assert stats.notify.sent == 0
    assert len(await deliveries(world)) == 3
    assert len(plugin.sent) == 3


async def test_events_before_the_channel_was_enabled_are_not_sent(world: Database) -> None:
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await post_event(world, RT_A)
    await enable(world, registry)
    await run_worker(world, registry, once=True, now=Clock())
    assert plugin.sent == []


async def test_disabled_city_plans_nothing(world: Database) -> None:
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(world, registry, city="64.72")
    await post_event(world, RT_A)
    await run_worker(world, registry, once=True, now=Clock())
    assert plugin.sent == [] and await deliveries(world) == []


async def _run(db: Database, registry, clock: Clock, **options) -> object:
    return await run_notify(
        db,
        registry,
        now=clock,
        enabled_plugins=enabled_plugins,
        options=NotifyOptions(**options),
        rng=random.Random(7),
    )


async def test_failed_send_is_retried_with_backoff_and_sent_once(world: Database) -> None:
    plugin = FakeChannels(fail=2)
    registry = fake_registry(plugin)
    await enable(world, registry)
    await post_event(world, RT_B)  # one head, two channels
    clock = Clock()
    stats = await _run(world, registry, clock, max_attempts=5)
    assert stats.failed == 2 and stats.sent == 0
    rows = await deliveries(world)
    assert {r["status"] for r in rows} == {"failed"}
    for row in rows:
        assert row["attempts"] == 1
        assert NOW <= row["next_attempt_at"] <= NOW + timedelta(seconds=30)
        assert "gateway 500" in row["last_error"]
        assert FULL_NIK not in row["last_error"]
    # not due yet: nothing is sent
    again = await _run(world, registry, clock)
    assert again.sent == 0 and plugin.tries == 2
    clock.advance(seconds=31)  # base 30 s, full jitter: due by now
    later = await _run(world, registry, clock)
    assert later.sent == 2
    rows = await deliveries(world)
    assert {r["status"] for r in rows} == {"sent"}
    assert [r["attempts"] for r in rows] == [2, 2]
    clock.advance(days=1)
    await _run(world, registry, clock)
    assert len(plugin.sent) == 2


async def test_dead_after_the_last_attempt_and_retry_makes_it_due(world: Database) -> None:
    plugin = FakeChannels(fail=100)
    registry = fake_registry(plugin)
    await enable(world, registry)
    await post_event(world, RT_B)
    clock = Clock()
    for _ in range(3):
        await _run(world, registry, clock, max_attempts=3)
        clock.advance(hours=1)
    rows = await deliveries(world)
    assert {r["status"] for r in rows} == {"dead"}
    assert all(r["attempts"] == 3 and r["next_attempt_at"] is None for r in rows)
    await _run(world, registry, clock, max_attempts=3)
    assert plugin.tries == 6  # dead ones are not tried again

    plugin.fail = 0
    view = await world.write(lambda conn: store.retry_delivery(conn, rows[0]["id"], clock()))
    assert view.status == "failed" and view.attempts == 0
    stats = await _run(world, registry, clock, max_attempts=3)
    assert stats.sent == 1
    with pytest.raises(store.NotRetryable):
        await world.write(lambda conn: store.retry_delivery(conn, rows[0]["id"], clock()))


async def test_a_claimed_delivery_is_not_claimed_twice(world: Database) -> None:
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(world, registry)
    await post_event(world, RT_B)
    clock = Clock()
    await _run(world, registry, clock, send_batch=1)
    # one delivery left pending; two workers read it as due
    due = await world.read(lambda conn: store.due_deliveries(conn, clock(), 10))
    assert len(due) == 1
    lease = clock() + timedelta(minutes=5)
    first = await world.write(lambda conn: store.claim_delivery(conn, due[0], clock(), lease))
    second = await world.write(lambda conn: store.claim_delivery(conn, due[0], clock(), lease))
    assert (first, second) == (True, False)


async def test_preferences_language_channels_and_quiet_hours(world: Database) -> None:
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(world, registry)

    async def prefs(conn):
        ids = {
            r["username"]: r["id"] for r in await conn.fetch("SELECT id, username FROM rtbook_user")
        }
        await conn.execute(
            "INSERT INTO notification_preference (user_id, channels, service_types,"
            " quiet_start, quiet_end, daily_digest, language, updated_at)"
            " VALUES ($1, $2, NULL, NULL, NULL, $3, 'en', $4)",
            ids["ketua005"],
            msgspec.json.encode(["whatsapp"]).decode(),
            False,
            NOW,
        )
        await conn.execute(
            "INSERT INTO notification_preference (user_id, channels, service_types,"
            " quiet_start, quiet_end, daily_digest, language, updated_at)"
            " VALUES ($1, NULL, NULL, '22:00', '10:00', $2, 'id', $3)",
            ids["wakil005"],
            False,
            NOW,
        )

    await world.write(prefs)
    await post_event(world, RT_A)
    clock = Clock()  # 09:00 WITA: inside wakil's quiet hours 22:00-10:00
    await _run(world, registry, clock)
    assert [(s["channel"], s["address"]) for s in plugin.sent] == [
        ("whatsapp", "+6281234567890")
    ]  # ketua005 switched e-mail off
    assert "was completed on 20 November 2026" in plugin.sent[0]["text"]
    held = [r for r in await deliveries(world) if r["status"] == "pending"]
    assert len(held) == 1 and held[0]["address"] == "wakil@example.org"
    assert held[0]["next_attempt_at"] == NOW.replace(hour=2)  # 10:00 WITA
    clock.advance(hours=1, seconds=1)
    await _run(world, registry, clock)
    assert len(plugin.sent) == 2 and "Yth. Ketua" in plugin.sent[1]["text"]


def test_mask_address() -> None:
    assert store.mask_address("+6281234567890") == "+62812****7890"
    assert store.mask_address("ani@example.org") == "a***@example.org"
