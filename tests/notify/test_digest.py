"""The daily digest on both backends with a driven clock: one message per channel the
next morning (07:00 city time) listing the day's events instead of single messages,
never twice, after quiet hours, nothing on an empty day, no full NIK."""

from __future__ import annotations

import random
import re
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
    enable,
    fake_registry,
    post_event,
)

from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.notify.digest import DIGEST_ITEMS_MAX, DigestItem, render_digest
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.notify.preferences import parse_input, save_preferences
from rtbook.core.plugins.settings import enabled_plugins

# 20 Nov 2026 09:00 WITA (UTC+8)
MORNING = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
# 21 Nov 2026 07:00 WITA: the digest of 20 Nov is due
DIGEST_TIME = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)


@pytest.fixture
async def world(db: Database) -> dict[str, Any]:
    ids: dict[str, int] = {}

    async def unit(conn):
        await standard_city(conn)
        await add_kelurahan(conn)
        head, _ = await add_user(
            conn, "ketua005", Role.RT_HEAD, city="64.71", rts=(RT_A,),
            whatsapp="+6281234567890", email="ketua005@example.org",
        )  # fmt: skip
        deputy, _ = await add_user(
            conn, "wakil005", Role.RT_HEAD, city="64.71", rts=(RT_A,), email="wakil@example.org"
        )
        ids["head"], ids["deputy"] = head.user_id, deputy.user_id

    await db.write(unit)
    await db.write(
        lambda conn: save_preferences(
            conn, ids["head"], parse_input({"daily_digest": True}), MORNING
        )
    )
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(db, registry)
    return {"db": db, "ids": ids, "plugin": plugin, "registry": registry}


async def _run(world: dict[str, Any], clock: Clock) -> Any:
    return await run_notify(
        world["db"],
        world["registry"],
        now=clock,
        enabled_plugins=enabled_plugins,
        options=NotifyOptions(),
        rng=random.Random(5),
    )


def _to(plugin: FakeChannels, address: str) -> list[dict[str, Any]]:
    return [s for s in plugin.sent if s["address"] == address]


async def test_a_digest_replaces_single_messages_and_comes_once_next_morning(
    world: dict[str, Any],
) -> None:
    db, plugin = world["db"], world["plugin"]
    clock = Clock(MORNING)
    await post_event(db, RT_A, name="SITI AMINAH", at=clock())
    await _run(world, clock)
    clock.advance(hours=14, minutes=59)  # 23:59 WITA, still 20 Nov
    await post_event(db, RT_A, service_type="akta_kelahiran", name="BAYI BARU", at=clock())
    await _run(world, clock)
    # the deputy, without a digest, got each message at once; the head nothing yet
    assert len(_to(plugin, "wakil@example.org")) == 2
    assert _to(plugin, "+6281234567890") == [] and _to(plugin, "ketua005@example.org") == []
    held = [r for r in await deliveries(db) if r["user_id"] == world["ids"]["head"]]
    assert len(held) == 4 and {r["status"] for r in held} == {"digested"}
    assert all(r["next_attempt_at"] is None for r in held)

    clock.now = DIGEST_TIME - timedelta(seconds=1)  # 06:59:59 WITA on 21 Nov
    await _run(world, clock)
    assert _to(plugin, "+6281234567890") == []

    clock.now = DIGEST_TIME
    await _run(world, clock)
    for address in ("+6281234567890", "ketua005@example.org"):
        [digest] = _to(plugin, address)
        assert "20 November 2026" in digest["subject"] and "(2)" in digest["subject"]
        assert "SITI AMINAH" in digest["text"] and "BAYI BARU" in digest["text"]
        assert "RT 005/RW 003" in digest["text"]
        assert FULL_NIK not in digest["text"] and not re.search(r"[0-9]{16}", digest["text"])
    rows = [r for r in await deliveries(db) if r["event_id"].startswith("digest:")]
    assert {(r["event_id"], r["status"]) for r in rows} == {("digest:64.71:2026-11-20", "sent")}

    # later passes, a lost checkpoint, a day later: never a second digest for that day
    clock.advance(hours=2)
    await _run(world, clock)
    await db.write(lambda conn: conn.execute("DELETE FROM digest_checkpoint"))
    await _run(world, clock)
    clock.advance(days=1)
    await _run(world, clock)
    assert len(_to(plugin, "+6281234567890")) == 1
    assert len(_to(plugin, "ketua005@example.org")) == 1


async def test_days_are_city_days_and_an_empty_day_sends_nothing(world: dict[str, Any]) -> None:
    db, plugin = world["db"], world["plugin"]
    # 23:30 WITA on 20 Nov and 00:30 WITA on 21 Nov: two different days
    late = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    clock = Clock(late)
    await post_event(db, RT_A, name="MALAM SATU", at=clock())
    await _run(world, clock)
    clock.advance(hours=1)
    await post_event(db, RT_A, name="MALAM DUA", at=clock())
    await _run(world, clock)

    clock.now = DIGEST_TIME  # 07:00 WITA on 21 Nov: the digest of 20 Nov only
    await _run(world, clock)
    [first] = _to(plugin, "+6281234567890")
    assert "MALAM SATU" in first["text"] and "MALAM DUA" not in first["text"]

    clock.advance(days=1)  # 07:00 on 22 Nov: the digest of 21 Nov
    await _run(world, clock)
    second = _to(plugin, "+6281234567890")[1]
    assert "21 November 2026" in second["subject"] and "MALAM DUA" in second["text"]

    clock.advance(days=1)  # nothing happened on 22 Nov: no message
    await _run(world, clock)
    assert len(_to(plugin, "+6281234567890")) == 2


async def test_a_digest_waits_for_the_end_of_quiet_hours_and_speaks_english(
    world: dict[str, Any],
) -> None:
    db, plugin = world["db"], world["plugin"]
    await db.write(
        lambda conn: save_preferences(
            conn,
            world["ids"]["head"],
            parse_input({"quiet_start": "21:00", "quiet_end": "08:30", "language": "en"}),
            MORNING,
        )
    )
    clock = Clock(MORNING)
    await post_event(db, RT_A, at=clock())
    await _run(world, clock)
    clock.now = DIGEST_TIME  # 07:00 WITA, inside the quiet hours until 08:30
    await _run(world, clock)
    assert _to(plugin, "+6281234567890") == []
    [row] = [
        r
        for r in await deliveries(db)
        if r["event_id"].startswith("digest:") and r["channel"] == "whatsapp"
    ]
    assert row["next_attempt_at"] == DIGEST_TIME + timedelta(hours=1, minutes=30)
    clock.advance(hours=1, minutes=30)
    await _run(world, clock)
    [digest] = _to(plugin, "+6281234567890")
    assert digest["subject"] == "rtbook daily digest 20 November 2026 (1)"
    assert "notification digest" in digest["text"]


async def test_turning_the_digest_off_still_delivers_what_was_held(world: dict[str, Any]) -> None:
    db, plugin = world["db"], world["plugin"]
    clock = Clock(MORNING)
    await post_event(db, RT_A, name="SEBELUM", at=clock())
    await _run(world, clock)
    await db.write(
        lambda conn: save_preferences(
            conn, world["ids"]["head"], parse_input({"daily_digest": False}), MORNING
        )
    )
    clock.advance(hours=1)
    await post_event(db, RT_A, name="SESUDAH", at=clock())
    await _run(world, clock)
    singles = _to(plugin, "+6281234567890")
    assert len(singles) == 1 and "SESUDAH" in singles[0]["text"]
    clock.now = DIGEST_TIME
    await _run(world, clock)
    digest = _to(plugin, "+6281234567890")[1]
    assert "SEBELUM" in digest["text"] and "SESUDAH" not in digest["text"]


def test_a_long_digest_lists_the_first_items_and_counts_the_rest() -> None:
    items = [DigestItem(f"Kartu Keluarga untuk WARGA {i}", "RT 005/RW 003") for i in range(70)]
    day = datetime(2026, 11, 20).date()
    subject, body = render_digest(day, items, "id")
    assert subject == "Ringkasan harian rtbook 20 November 2026 (70)"
    assert body.count("\n- ") == DIGEST_ITEMS_MAX and body.startswith("Ringkasan")
    assert "WARGA 49 " in body and "WARGA 50 " not in body
    assert "dan 20 lainnya" in body
