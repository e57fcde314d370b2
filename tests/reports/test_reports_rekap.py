"""B.3 rekapitulasi: the books of every level and month match an independent count of
the story (births, deaths, moves in, out and between RTs, late reports, a move across
midnight city time), add up, and are served only to the right readers, on both
backends."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from factories import CITY, RT_A, RT_B
from litestar.testing import TestClient
from reports_support import (
    AREAS,
    KELURAHAN,
    MONTHS,
    RT_C,
    RT_D,
    RW_003,
    XLSX,
    World,
    expected_rekap,
)

from rtbook.core.db import make_database

METRICS = ("start", "births", "arrivals", "deaths", "departures", "end")


def rekap(client: TestClient[Any], world: World, area: str, month: str, who: str = "admin") -> Any:
    response = client.get(
        "/api/v1/reports/rekapitulasi",
        params={"area": area, "month": month},
        headers=world.auth(who),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_book_matches_an_independent_count_of_the_story(
    story: TestClient[Any], world: World
) -> None:
    for area in AREAS:
        previous_end = None
        for month in MONTHS:
            body = rekap(story, world, area, month)
            assert body["area"] == area and body["month"] == month
            got = {metric: body[metric] for metric in METRICS}
            assert got == expected_rekap(area, month), (area, month)
            for cit in ("WNI", "WNA"):
                want = expected_rekap(area, month, cit)
                assert body["by_citizenship"][cit] == want, (area, month, cit)
            # end = start + births + arrivals - deaths - departures, for each sex
            for sex in ("L", "P", "total"):
                assert body["end"][sex] == (
                    body["start"][sex]
                    + body["births"][sex]
                    + body["arrivals"][sex]
                    - body["deaths"][sex]
                    - body["departures"][sex]
                )
            if previous_end is not None:
                assert body["start"] == previous_end  # one month ends where the next starts
            previous_end = body["end"]


def test_the_story_moves_the_numbers_a_user_would_check(
    story: TestClient[Any], world: World
) -> None:
    """Spot checks by hand, beside the independent count."""
    september_a = rekap(story, world, RT_A, "2026-09")
    # ADI, SARI, HANA, ANDI, DEDI, JOHN and the August baby at the start
    assert september_a["start"] == {"L": 4, "P": 3, "total": 7, "kk": 4}
    assert september_a["arrivals"]["total"] == 1  # EVA from Jakarta
    assert september_a["departures"]["total"] == 2  # ANDI to RT 006, DEDI to Samarinda
    assert september_a["by_citizenship"]["WNA"]["end"] == {"L": 1, "P": 1, "total": 2}
    # ANDI's move inside RW 003 is a departure and an arrival in the RW's book too
    rw = rekap(story, world, RW_003, "2026-09")
    assert rw["arrivals"]["total"] == 2 and rw["departures"]["total"] == 2
    # the baby born on 28 September and reported in October is a September birth
    assert rekap(story, world, RT_D, "2026-09")["births"] == {"L": 1, "P": 0, "total": 1}
    assert rekap(story, world, RT_D, "2026-10")["births"]["total"] == 0
    # GITA died in August (reported in October); IMAN left on 1 October, city time
    c_august = rekap(story, world, RT_C, "2026-08")
    assert c_august["deaths"] == {"L": 0, "P": 1, "total": 1}
    assert rekap(story, world, RT_C, "2026-09")["departures"]["total"] == 0
    assert rekap(story, world, RT_C, "2026-10")["departures"] == {"L": 1, "P": 0, "total": 1}
    # HANA heads her own family from 25 October; ADI's death in November is not October's
    october_a = rekap(story, world, RT_A, "2026-10")
    assert october_a["end"]["kk"] == october_a["start"]["kk"] + 1
    assert october_a["deaths"]["total"] == 0
    # a whole city: nothing from the other city, every level adds up
    city = rekap(story, world, CITY, "2026-10")
    assert [p["area"] for p in city["parts"]] == ["64.71.05", "64.71.06"]
    kelurahan = rekap(story, world, KELURAHAN, "2026-10")
    assert [p["area"] for p in kelurahan["parts"]] == [RW_003, "64.71.06.1005-004"]
    for body in (city, kelurahan):
        for metric in METRICS:
            for key in body[metric]:
                assert body[metric][key] == sum(p[metric][key] for p in body["parts"])


def test_before_any_history_the_books_show_the_imported_residents(
    story: TestClient[Any], world: World
) -> None:
    body = rekap(story, world, KELURAHAN, "2020-01")
    assert body["start"] == body["end"] == {"L": 6, "P": 4, "total": 10, "kk": 7}
    assert all(body[m]["total"] == 0 for m in ("births", "arrivals", "deaths", "departures"))


def test_rekap_as_xlsx_opens_and_holds_the_same_numbers(
    story: TestClient[Any], world: World
) -> None:
    from openpyxl import load_workbook

    response = story.get(
        "/api/v1/reports/rekapitulasi",
        params={"area": KELURAHAN, "month": "2026-09"},
        headers={**world.auth("city_admin"), "Accept": XLSX},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX)
    assert "B3-rekapitulasi-64.71.06.1005-2026-09.xlsx" in response.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["B.3", "Per RT"]
    sheet = workbook["B.3"]
    assert sheet.page_setup.orientation == "landscape"
    rows = [row for row in sheet.iter_rows(values_only=True) if row[2] is not None]
    by_code = {row[2]: row for row in rows}
    body = rekap(story, world, KELURAHAN, "2026-09")
    total = by_code[KELURAHAN]
    # columns: No, name, code, start WNA L/P WNI L/P, KK, jiwa, then 4 per flow, end 6
    assert total[3:9] == (
        body["by_citizenship"]["WNA"]["start"]["L"],
        body["by_citizenship"]["WNA"]["start"]["P"],
        body["by_citizenship"]["WNI"]["start"]["L"],
        body["by_citizenship"]["WNI"]["start"]["P"],
        body["start"]["kk"],
        body["start"]["total"],
    )
    assert total[-7:-1] == (
        body["by_citizenship"]["WNA"]["end"]["L"],
        body["by_citizenship"]["WNA"]["end"]["P"],
        body["by_citizenship"]["WNI"]["end"]["L"],
        body["by_citizenship"]["WNI"]["end"]["P"],
        body["end"]["kk"],
        body["end"]["total"],
    )
    assert set(by_code) >= {RW_003, "64.71.06.1005-004"}
    per_rt = {row[2] for row in workbook["Per RT"].iter_rows(values_only=True) if row[2]}
    assert {RT_A, RT_B, RT_D} <= per_rt
    # format=xlsx in the query does the same as Accept (links in a browser)
    again = story.get(
        "/api/v1/reports/rekapitulasi",
        params={"area": KELURAHAN, "month": "2026-09", "format": "xlsx"},
        headers=world.auth("city_admin"),
    )
    assert again.headers["content-type"].startswith(XLSX)


@pytest.mark.parametrize(
    ("params", "who", "status", "words"),
    [
        ({"area": RT_A, "month": "2026-13"}, "admin", 400, "YYYY-MM"),
        ({"area": RT_A, "month": "26-10"}, "admin", 400, "YYYY-MM"),
        ({"area": RT_A, "month": "2999-01"}, "admin", 400, "future"),
        ({"area": "64.71.06.1005-03", "month": "2026-10"}, "admin", 400, "RT code"),
        ({"month": "2026-10"}, "city_admin", 400, "required"),
        ({"area": RT_A, "month": "2026-10", "format": "pdf"}, "admin", 400, "xlsx"),
        ({"area": "64.71.06.1005-009-009", "month": "2026-10"}, "admin", 404, "not found"),
        ({"area": RT_B, "month": "2026-10"}, "head_a", 403, "not allowed"),
        ({"area": RW_003, "month": "2026-10"}, "head_a", 403, "not allowed"),
        ({"area": RT_A, "month": "2026-10"}, "hw", 403, "not allowed"),
        ({"area": RT_A, "month": "2026-10"}, "city_admin_other", 403, "not allowed"),
        ({"area": "64.72", "month": "2026-10"}, "city_admin", 403, "not allowed"),
    ],
)
def test_bad_requests_are_refused_clearly_and_not_recorded(
    client: TestClient[Any],
    world: World,
    params: dict[str, str],
    who: str,
    status: int,
    words: str,
) -> None:
    response = client.get("/api/v1/reports/rekapitulasi", params=params, headers=world.auth(who))
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "details"} and words in json.dumps(body)
    assert audit_rows(world) == []


def test_rt_heads_read_their_own_rt_and_every_read_is_recorded(
    story: TestClient[Any], world: World
) -> None:
    assert rekap(story, world, RT_A, "2026-10", who="head_a")["area"] == RT_A
    assert rekap(story, world, RT_D, "2026-10", who="head_ab")["area"] == RT_D
    story.get(
        "/api/v1/reports/rekapitulasi",
        params={"area": KELURAHAN, "month": "2026-09", "format": "xlsx"},
        headers=world.auth("city_admin"),
    )
    rows = audit_rows(world)
    assert [(r["username"], r["action"], r["target"], r["scope"]) for r in rows] == [
        ("head_a", "reports.rekapitulasi", RT_A, CITY),
        ("head_ab", "reports.rekapitulasi", RT_D, CITY),
        ("city_admin", "reports.rekapitulasi", KELURAHAN, CITY),
    ]
    assert json.loads(rows[2]["detail"])["format"] == "xlsx"
    assert json.loads(rows[2]["detail"])["month"] == "2026-09"


def test_an_empty_month_means_last_month(client: TestClient[Any], world: World) -> None:
    response = client.get(
        "/api/v1/reports/rekapitulasi", params={"area": RT_A}, headers=world.auth("head_a")
    )
    assert response.status_code == 200
    today = datetime.now(ZoneInfo("Asia/Makassar")).date()
    last = date(today.year, today.month, 1) - timedelta(days=1)
    assert response.json()["month"] == f"{last.year:04d}-{last.month:02d}"


def test_the_routes_answer_404_where_the_plugin_is_off(
    client: TestClient[Any], world: World
) -> None:
    response = client.put(
        f"/api/v1/cities/{CITY}/plugins/reports",
        json={"enabled": False},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200, response.text
    for path in ("rekapitulasi", "induk", "mutasi"):
        for who in ("admin", "city_admin", "head_a"):
            response = client.get(
                f"/api/v1/reports/{path}",
                params={"area": RT_A, "month": "2026-10"},
                headers=world.auth(who),
            )
            assert response.status_code == 404, (path, who, response.text)


def audit_rows(world: World) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with make_database(world.url) as db:
            rows = await db.read(
                lambda conn: conn.fetch(
                    "SELECT username, action, target, scope, detail FROM audit_log"
                    " WHERE action LIKE 'reports.%' ORDER BY id"
                )
            )
        return [dict(r) for r in rows]

    return asyncio.run(read())
