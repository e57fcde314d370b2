"""The monthly send: on the 1st (city time; or the first of days 1..7 the worker runs)
every RT head gets last month's recap of their RT through the real worker
(``run_worker(once=True)``), the notification hub and a fake channel plugin, or the
real email plugin and an aiosmtpd server for the attached XLSX; once only; on both
backends."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from channel_servers import SmtpServer, start_smtp
from factories import CITY, RT_A, RT_B
from litestar.testing import TestClient
from reports_support import RT_D, World, expected_rekap, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notify"))
from notify_support import Clock, FakeChannels
from test_reports_rekap import audit_rows

import rtbook_email
import rtbook_reports
from rtbook.core.db import make_database
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin

FIRST_OF_DECEMBER = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 08:30 WITA
SECOND_OF_DECEMBER = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
FIRST_BEFORE_SIX = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # 05:00 WITA on the 1st
THIRD_OF_DECEMBER = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
FOURTH_OF_DECEMBER = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)
EIGHTH_OF_DECEMBER = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def channels(world: World) -> tuple[PluginRegistry, FakeChannels]:
    """reports and a fake channel plugin (whatsapp, email), both enabled in the city."""
    plugin = FakeChannels()
    registry = PluginRegistry()
    registry.register("reports", rtbook_reports)
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


def work(world: World, registry: PluginRegistry, at: datetime) -> None:
    async def go() -> None:
        async with make_database(world.url) as db:
            await run_worker(db, registry, once=True, now=Clock(at))

    run(go())


def report_deliveries(world: World) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with make_database(world.url) as db:
            rows = await db.read(
                lambda conn: conn.fetch(
                    "SELECT d.event_id, u.username, d.channel, d.status FROM delivery d"
                    " JOIN rtbook_user u ON u.id = d.user_id WHERE d.event_id LIKE 'reports:%'"
                    " ORDER BY d.event_id, u.username, d.channel"
                )
            )
        return [dict(r) for r in rows]

    return run(read())


def test_every_rt_head_gets_last_months_recap_once(
    story: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    work(world, registry, FIRST_BEFORE_SIX)  # the 1st, but before 06:00 city time
    assert report_deliveries(world) == []

    work(world, registry, FIRST_OF_DECEMBER)

    rows = report_deliveries(world)
    assert [(r["event_id"], r["username"], r["channel"]) for r in rows] == [
        (f"reports:{RT_A}:2026-11", "head_a", "email"),
        (f"reports:{RT_A}:2026-11", "head_a", "whatsapp"),
        (f"reports:{RT_A}:2026-11", "head_ab", "whatsapp"),
        (f"reports:{RT_B}:2026-11", "head_b", "email"),
        (f"reports:{RT_D}:2026-11", "head_ab", "whatsapp"),
    ]
    assert all(r["status"] == "sent" for r in rows)
    sent = {(s["address"], s["subject"]): s["text"] for s in plugin.sent}
    want = expected_rekap(RT_A, "2026-11")
    text = sent[("head.a@example.org", "Rekap penduduk RT 005/RW 003 Damai November 2026")]
    assert f"Awal bulan {want['start']['total']} jiwa" in text
    assert f"meninggal {want['deaths']['total']}" in text and want["deaths"]["total"] == 1
    assert f"Akhir bulan {want['end']['total']} jiwa (L {want['end']['L']}" in text
    assert f"{want['end']['kk']} KK" in text
    assert f"area={RT_A}&month=2026-11&format=xlsx" in text
    d_text = next(t for (a, s), t in sent.items() if a == "+6281200000007" and "004" in s)
    assert "RT 001/RW 004" in d_text
    assert not re.search(r"[0-9]{16}", " ".join(sent.values()))
    sends = [r for r in audit_rows(world) if r["action"] == "reports.monthly_send"]
    assert len(sends) == 1 and json.loads(sends[0]["detail"])["rts"] == 3

    count = len(plugin.sent)
    work(world, registry, FIRST_OF_DECEMBER)  # again the same day: nothing new
    work(world, registry, SECOND_OF_DECEMBER)  # the 2nd: no recap
    assert len(plugin.sent) == count and len(report_deliveries(world)) == len(rows)


def test_the_send_in_english_for_a_head_who_chose_it(
    story: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels

    async def english() -> None:
        async with make_database(world.url) as db:
            await db.write(
                lambda conn: conn.execute(
                    "UPDATE rtbook_user SET language = 'en' WHERE username = 'head_b'"
                )
            )

    run(english())
    work(world, registry, FIRST_OF_DECEMBER)
    text = next(s["text"] for s in plugin.sent if s["address"] == "head.b@example.org")
    want = expected_rekap(RT_B, "2026-11")
    assert "Population recap RT 006/RW 003 Damai, November 2026" in text
    assert f"End of month {want['end']['total']} residents" in text


def test_no_send_where_the_plugin_is_off(
    client: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    response = client.put(
        f"/api/v1/cities/{CITY}/plugins/reports",
        json={"enabled": False},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200
    work(world, registry, FIRST_OF_DECEMBER)
    assert report_deliveries(world) == [] and plugin.sent == []


def test_a_worker_down_on_the_1st_sends_the_recap_on_the_3rd_once(
    story: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    work(world, registry, THIRD_OF_DECEMBER)  # the first day the worker runs this month
    rows = report_deliveries(world)
    assert {r["event_id"] for r in rows} == {
        f"reports:{RT_A}:2026-11",
        f"reports:{RT_B}:2026-11",
        f"reports:{RT_D}:2026-11",
    }
    assert len(rows) == 5 and all(r["status"] == "sent" for r in rows)
    count = len(plugin.sent)
    work(world, registry, FOURTH_OF_DECEMBER)  # already sent: nothing again, no new audit
    assert len(plugin.sent) == count and len(report_deliveries(world)) == 5
    sends = [r for r in audit_rows(world) if r["action"] == "reports.monthly_send"]
    assert len(sends) == 1


def test_no_catch_up_after_the_7th(
    story: TestClient[Any], world: World, channels: tuple[PluginRegistry, FakeChannels]
) -> None:
    registry, plugin = channels
    work(world, registry, EIGHTH_OF_DECEMBER)
    assert report_deliveries(world) == [] and plugin.sent == []


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp()
    yield server
    controller.stop()


def test_the_heads_email_carries_the_b3_workbook(
    story: TestClient[Any], world: World, smtp: SmtpServer
) -> None:
    from openpyxl import load_workbook

    registry = PluginRegistry()
    registry.register("reports", rtbook_reports)
    registry.register("email", rtbook_email)
    config = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "security": "none",
        "from": "rtbook@kelurahan-damai.id",
    }

    async def enable() -> None:
        async with make_database(world.url) as db:
            await db.write(
                lambda conn: set_plugin(
                    conn,
                    registry,
                    CITY,
                    "email",
                    enabled=True,
                    config=registry.validate_config("email", config),
                    user_id=None,
                )
            )

    run(enable())
    work(world, registry, FIRST_OF_DECEMBER)

    by_address = {m.rcpt_tos[0]: m for m in smtp.inbox.messages}
    assert sorted(by_address) == ["head.a@example.org", "head.b@example.org"]
    for address, rt in (("head.a@example.org", RT_A), ("head.b@example.org", RT_B)):
        message = by_address[address].message
        assert message.get_content_type() == "multipart/mixed"
        assert "Rekap penduduk" in by_address[address].html()
        [part] = list(message.iter_attachments())
        assert part.get_filename() == f"B3-rekapitulasi-{rt}-2026-11.xlsx"
        assert part.get_content_type() == XLSX
        workbook = load_workbook(io.BytesIO(part.get_payload(decode=True)))
        sheet = workbook["B.3"]
        [total] = [r for r in sheet.iter_rows(values_only=True) if r[1] == "Jumlah (total)"]
        want = expected_rekap(rt, "2026-11")
        assert total[2] == rt
        # columns: No, name, code, start WNA L/P WNI L/P, KK, jiwa, 4 per flow, end 6, note
        assert total[7:9] == (want["start"]["kk"], want["start"]["total"])
        assert sum(total[9:13]) == want["births"]["total"]
        assert sum(total[13:17]) == want["arrivals"]["total"]
        assert sum(total[17:21]) == want["deaths"]["total"]
        assert sum(total[21:25]) == want["departures"]["total"]
        assert total[-3:-1] == (want["end"]["kk"], want["end"]["total"])
        assert total[-7] + total[-5] == want["end"]["L"]  # WNA L + WNI L
    assert expected_rekap(RT_A, "2026-11")["deaths"]["total"] == 1  # the story has one

    # the worker again the same day and on the 2nd: no second e-mail
    work(world, registry, FIRST_OF_DECEMBER)
    work(world, registry, SECOND_OF_DECEMBER)
    assert len(smtp.inbox.messages) == 2
