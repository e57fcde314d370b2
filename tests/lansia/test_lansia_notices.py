"""Health workers are told when someone on their list dies or moves out, and get a
weekly digest on Mondays: through the real worker (``run_worker(once=True)``), the
notification hub and a fake channel plugin, on both backends."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import CITY, RT_A, RT_B
from lansia_support import RT_C, World, fetch, post_service, run
from litestar.testing import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notify"))
from notify_support import Clock, FakeChannels

import rtbook_lansia
from rtbook.core.db import make_database
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook_lansia.reactions import digest_key

FRIDAY = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 WITA
MONDAY = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 WITA: after 06:00
TUESDAY = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
SUNDAY = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)


@pytest.fixture
def channels(world: World) -> tuple[PluginRegistry, FakeChannels]:
    """lansia and a fake channel plugin (whatsapp, email), both enabled in the city."""
    plugin = FakeChannels()
    registry = PluginRegistry()
    registry.register("lansia", rtbook_lansia)
    registry.register("fake_channels", plugin)

    async def enable() -> None:
        async with make_database(world.url) as db:
            await db.write(
                lambda conn: set_plugin(
                    conn, registry, CITY, "fake_channels", enabled=True, config={}, user_id=None
                )
            )

    run(enable())
    return registry, plugin


def work(world: World, registry: PluginRegistry, at: datetime) -> Any:
    async def go() -> Any:
        async with make_database(world.url) as db:
            return await run_worker(db, registry, once=True, now=Clock(at))

    return run(go())


def lansia_deliveries(world: World) -> list[dict[str, Any]]:
    return fetch(
        world.url,
        "SELECT d.event_id, u.username, d.channel, d.subject, d.body, d.status FROM delivery d"
        " JOIN rtbook_user u ON u.id = d.user_id WHERE d.event_id LIKE $1 ORDER BY d.id",
        "%lansia%",
    )


def sent_to(plugin: FakeChannels) -> dict[str, str]:
    return {s["address"]: s["text"] for s in plugin.sent}


def test_health_workers_are_told_once_when_a_listed_resident_dies(
    client: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    nik = world.nik("AHMAD TUA")
    post_service(client, world, "akta_kematian", nik, data={"date_of_death": "2026-11-18"})

    work(world, registry, FRIDAY)

    got = sent_to(plugin)
    # the kelurahan's and the city's health workers; not the one of another kecamatan
    assert set(got) == {"hw.damai@example.org", "+6281200000001"}
    text = got["hw.damai@example.org"]
    assert "AHMAD TUA" in text and "meninggal" in text and "18 November 2026" in text
    assert "76 th" in text and "****" + nik[-4:] in text and "RT 005/RW 003" in text
    assert not re.search(r"[0-9]{16}", " ".join(got.values()))
    rows = lansia_deliveries(world)
    seq = fetch(world.url, "SELECT max(seq) AS seq FROM event")[0]["seq"]
    assert {r["event_id"] for r in rows} == {f"{CITY}-{seq}:lansia"}
    assert {r["username"] for r in rows} == {"hw_damai", "hw_city"}
    assert all(r["status"] == "sent" for r in rows)

    work(world, registry, FRIDAY)  # again: nothing is sent twice
    assert len(plugin.sent) == 2 and len(lansia_deliveries(world)) == 2


def test_english_for_a_health_worker_who_chose_it(
    client: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    run(_set_language(world, "hw_damai", "en"))
    post_service(
        client, world, "pindah_keluar", world.nik("BUDI ENAM PULUH"),
        data={"destination": "Samarinda"},
    )  # fmt: skip
    work(world, registry, FRIDAY)
    text = sent_to(plugin)["hw.damai@example.org"]
    assert "moved out" in text and "BUDI ENAM PULUH" in text and "(60," in text


async def _set_language(world: World, username: str, language: str) -> None:
    async with make_database(world.url) as db:
        await db.write(
            lambda conn: conn.execute(
                "UPDATE rtbook_user SET language = $1 WHERE username = $2", language, username
            )
        )


def test_no_notice_for_someone_not_on_the_list(
    client: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    # 36 years old; and one who turns 60 only the day after the move
    post_service(client, world, "akta_kematian", world.nik("GITA MUDA"),
                 data={"date_of_death": "2026-11-18"})  # fmt: skip
    post_service(
        client, world, "pindah_keluar", world.nik("CANDRA BESOK"),
        data={"destination": "Samarinda"}, completed_at="2026-11-20T09:30:00+08:00",
    )  # fmt: skip
    work(world, registry, FRIDAY)
    assert lansia_deliveries(world) == [] and plugin.sent == []


def test_a_move_inside_the_city_tells_only_those_whose_list_they_leave(
    client: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, _ = channels
    hartono = min(r["nik"] for r in world.residents if r["name"] == "HARTONO")
    # RT 005 -> RT 006: both in kelurahan Damai, nobody's list changes
    post_service(client, world, "pindah_dalam", hartono, rt=RT_B, data={"from_rt": RT_A})
    work(world, registry, FRIDAY)
    assert lansia_deliveries(world) == []
    # RT 006 -> another kecamatan: off the Damai worker's list, onto the other's
    post_service(
        client, world, "pindah_dalam", hartono, rt=RT_C, data={"from_rt": RT_B},
        completed_at="2026-11-20T10:30:00+08:00",
    )  # fmt: skip
    work(world, registry, FRIDAY)
    rows = lansia_deliveries(world)
    assert [r["username"] for r in rows] == ["hw_damai"]
    assert "pindah ke RT 001/RW 001" in rows[0]["body"]


def test_weekly_digest_on_monday_from_the_ledger(
    client: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    # in the week of 16-22 November 2026: BUDI turned 60 on the 20th, CANDRA on the
    # 21st; AHMAD died on the 18th; a 65-year-old moved in on the 19th; ZAINAL (68)
    # moved out on the 17th. Outside it: DEWI's move is dated the 23rd.
    post_service(client, world, "akta_kematian", world.nik("AHMAD TUA"),
                 data={"date_of_death": "2026-11-18"})  # fmt: skip
    newcomer = "6471060101610042"
    post_service(
        client, world, "pindah_datang", newcomer, rt=RT_A,
        completed_at="2026-11-19T10:00:00+08:00",
        data={"origin": "Samarinda", "resident": _resident(newcomer, "SITI PENDATANG")},
    )  # fmt: skip
    post_service(
        client, world, "pindah_keluar", world.nik("ZAINAL RT ENAM"),
        data={"destination": "Samarinda"}, completed_at="2026-11-17T10:00:00+08:00",
    )  # fmt: skip
    post_service(
        client, world, "pindah_keluar", world.nik("DEWI KABISAT"),
        data={"destination": "Samarinda"}, completed_at="2026-11-23T07:00:00+08:00",
    )  # fmt: skip

    work(world, registry, SUNDAY)  # no digest yet
    assert not [r for r in lansia_deliveries(world) if r["event_id"].startswith("lansia-week")]
    work(world, registry, MONDAY)

    digests = [r for r in lansia_deliveries(world) if r["event_id"].startswith("lansia-week")]
    assert {r["event_id"] for r in digests} == {digest_key(CITY, date(2026, 11, 23))}
    by_user = {r["username"]: r for r in digests}
    assert set(by_user) == {"hw_damai", "hw_city"}  # nothing moved in Balikpapan Barat
    body = by_user["hw_damai"]["body"]
    entered, left = body.split("Keluar dari daftar")
    assert "Masuk daftar (3)" in entered
    for name in ("BUDI ENAM PULUH", "CANDRA BESOK", "SITI PENDATANG"):
        assert name in entered
    assert "genap 60 tahun, 20 November 2026" in entered and "pindah datang" in entered
    assert "(2):" in left and "AHMAD TUA" in left and "ZAINAL RT ENAM" in left
    assert "meninggal, 18 November 2026" in left and "pindah keluar, 17 November 2026" in left
    assert "DEWI KABISAT" not in body  # dated after the week
    assert "GITA MUDA" not in body
    assert not re.search(r"[0-9]{16}", body)
    assert by_user["hw_damai"]["subject"] == "Lansia minggu ini: 3 masuk, 2 keluar"

    sent = len(plugin.sent)
    work(world, registry, MONDAY.replace(hour=5))  # later that Monday: not again
    work(world, registry, TUESDAY)  # and not on Tuesday
    assert len(plugin.sent) == sent


def _resident(nik: str, name: str) -> dict[str, Any]:
    return {
        "nik": nik,
        "name": name,
        "sex": "L",
        "birth_place": "SAMARINDA",
        "birth_date": "1961-01-01",
        "religion": "islam",
        "education": "SLTA/SEDERAJAT",
        "occupation": "PENSIUNAN",
        "marital_status": "kawin",
        "shdk": "kepala_keluarga",
        "citizenship": "WNI",
        "no_kk": "6471060101610099",
        "address": "JL. BARU NO. 1",
        "father_name": "AYAH",
        "mother_name": "IBU",
    }
