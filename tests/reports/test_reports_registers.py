"""B.1 induk and B.2 mutasi: who was in the book at the end of a month, with the fields
they had then, and every birth, arrival, death and departure of the month; NIKs masked
unless a city admin asks, and every read recorded; on both backends."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from factories import CITY, RT_A, RT_B
from litestar.testing import TestClient
from reports_support import (
    BY_NAME,
    KELURAHAN,
    MONTHS,
    RT_C,
    RT_D,
    RW_003,
    XLSX,
    World,
    month_bounds,
    present_names,
)
from test_reports_rekap import audit_rows, rekap


def book(
    client: TestClient[Any], world: World, kind: str, area: str, month: str, who: str = "admin",
    **params: str,
) -> Any:  # fmt: skip
    response = client.get(
        f"/api/v1/reports/{kind}",
        params={"area": area, "month": month, **params},
        headers=world.auth(who),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_induk_lists_who_was_there_at_the_end_of_each_month(
    story: TestClient[Any], world: World
) -> None:
    for area in (RT_A, RT_B, RT_D, RT_C, RW_003, KELURAHAN):
        for month in MONTHS:
            body = book(story, world, "induk", area, month)
            names = sorted(item["name"] for item in body["items"])
            assert names == present_names(area, month_bounds(month)[1]), (area, month)
            assert len(body["items"]) == rekap(story, world, area, month)["end"]["total"]
            assert [item["no"] for item in body["items"]] == list(range(1, len(names) + 1))


def test_induk_shows_the_fields_of_that_time_and_masks_nik(
    story: TestClient[Any], world: World
) -> None:
    september = {i["name"]: i for i in book(story, world, "induk", RT_A, "2026-09")["items"]}
    october = {i["name"]: i for i in book(story, world, "induk", RT_A, "2026-10")["items"]}
    hana = BY_NAME["HANA"]
    # HANA became the head of her own family card on 25 October
    assert september["HANA"]["shdk"] == "anak" and september["HANA"]["no_kk"].endswith("0001")
    assert october["HANA"]["shdk"] == "kepala_keluarga"
    assert october["HANA"]["no_kk"].endswith("0010")
    assert october["HANA"]["nik"] == "*" * 12 + hana.nik[-4:]
    assert october["IMAN"]["note"] == "Datang (arrival) 1 Oktober 2026"
    assert october["IMAN"]["rt"] == RT_A
    assert "ADI" in october  # died on 2 November: still in October's book
    first = next(iter(october.values()))
    assert set(first) == {
        "no", "name", "sex", "marital_status", "birth_place", "birth_date", "religion",
        "education", "occupation", "citizenship", "address", "shdk", "nik", "no_kk", "rt",
        "note",
    }  # fmt: skip
    text = json.dumps(october)
    assert not re.search(r"[0-9]{16}", text), "a full NIK or No. KK in a masked book"
    # the family head comes first within a family card
    kk1 = [i["name"] for i in october.values() if i["no_kk"].endswith("0001")]
    assert kk1[0] == "ADI"


def test_mutasi_lists_the_months_births_arrivals_deaths_and_departures(
    story: TestClient[Any], world: World
) -> None:
    items = book(story, world, "mutasi", KELURAHAN, "2026-09")["items"]
    got = [(i["date"], i["kind"], i["name"], i["rt"], i["came_from"], i["moved_to"]) for i in items]
    assert got == [
        ("2026-09-03", "pindah", "ANDI", RT_A, None, RT_B),
        ("2026-09-03", "datang", "ANDI", RT_B, RT_A, None),
        ("2026-09-14", "meninggal", "CITRA", RT_B, None, None),
        ("2026-09-20", "pindah", "DEDI", RT_A, None, "Samarinda"),
        ("2026-09-25", "datang", "EVA", RT_A, "Jakarta Selatan", None),
        ("2026-09-28", "lahir", "BAYI DUA", RT_D, None, None),
    ]
    death = next(i for i in items if i["kind"] == "meninggal")
    assert death["died_at"].startswith(RT_B)
    assert all(i["nik"] is None or i["nik"].startswith("*" * 12) for i in items)
    # the count of each kind equals B.3 of the same area and month
    body = rekap(story, world, KELURAHAN, "2026-09")
    kinds = {"lahir": "births", "datang": "arrivals", "meninggal": "deaths", "pindah": "departures"}
    for kind, metric in kinds.items():
        assert sum(1 for i in items if i["kind"] == kind) == body[metric]["total"]
    # a city's B.2: GITA's August death, reported in October, is in August
    august = book(story, world, "mutasi", CITY, "2026-08")["items"]
    assert [(i["kind"], i["name"]) for i in august] == [
        ("lahir", "BAYI SATU"),
        ("meninggal", "GITA"),
    ]


def test_full_nik_only_for_city_admins_and_recorded(story: TestClient[Any], world: World) -> None:
    full = book(story, world, "induk", RT_A, "2026-10", who="city_admin", nik="full")
    assert full["nik"] == "full"
    hana = next(i for i in full["items"] if i["name"] == "HANA")
    assert hana["nik"] == BY_NAME["HANA"].nik
    refused = story.get(
        "/api/v1/reports/mutasi",
        params={"area": RT_A, "month": "2026-10", "nik": "full"},
        headers=world.auth("head_a"),
    )
    assert refused.status_code == 403 and "full NIK" in refused.text
    masked = book(story, world, "mutasi", RT_A, "2026-10", who="head_a")
    assert masked["nik"] == "masked"
    rows = audit_rows(world)
    assert [(r["username"], r["action"], json.loads(r["detail"])["nik"]) for r in rows] == [
        ("city_admin", "reports.induk", "full"),
        ("head_a", "reports.mutasi", "masked"),
    ]
    assert all(not re.search(r"[0-9]{16}", r["detail"] + (r["target"] or "")) for r in rows)


@pytest.mark.parametrize(
    ("kind", "params", "status", "words"),
    [
        ("induk", {"area": CITY, "month": "2026-10"}, 400, "kelurahan, RW or RT"),
        ("induk", {"area": "64.71.06", "month": "2026-10"}, 400, "kelurahan, RW or RT"),
        ("induk", {"area": RT_A, "month": "2026-10", "nik": "all"}, 400, "masked or full"),
        ("mutasi", {"area": RT_A, "month": "2026-1"}, 400, "YYYY-MM"),
    ],
)
def test_bad_book_requests(
    client: TestClient[Any],
    world: World,
    kind: str,
    params: dict[str, str],
    status: int,
    words: str,
) -> None:
    response = client.get(f"/api/v1/reports/{kind}", params=params, headers=world.auth("admin"))
    assert response.status_code == status, response.text
    assert words in response.text
    assert audit_rows(world) == []


def _xlsx(client: TestClient[Any], world: World, kind: str, area: str, month: str) -> bytes:
    response = client.get(
        f"/api/v1/reports/{kind}",
        params={"area": area, "month": month},
        headers={**world.auth("city_admin"), "Accept": XLSX},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX)
    return response.content


def test_induk_and_mutasi_as_xlsx(story: TestClient[Any], world: World) -> None:
    from openpyxl import load_workbook

    induk = load_workbook(io.BytesIO(_xlsx(story, world, "induk", KELURAHAN, "2026-10")))["B.1"]
    rows = list(induk.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "No")
    header, data = rows[header_at], rows[header_at + 1 :]
    assert len(header) == 16 and header[13] == "NIK" and header[1].startswith("Nama")
    assert sorted(r[1] for r in data) == present_names(KELURAHAN, date(2026, 11, 1))
    hana = next(r for r in data if r[1] == "HANA")
    assert isinstance(hana[13], str) and hana[13].endswith(BY_NAME["HANA"].nik[-4:])
    assert induk.page_setup.orientation == "landscape"

    mutasi = load_workbook(io.BytesIO(_xlsx(story, world, "mutasi", KELURAHAN, "2026-09")))["B.2"]
    rows = list(mutasi.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "No")
    data = rows[header_at + 1 :]
    eva = next(r for r in data if r[1] == "EVA")
    assert eva[8] == "Jakarta Selatan" and eva[9].date() == date(2026, 9, 25)
    citra = next(r for r in data if r[1] == "CITRA")
    assert citra[13].date() == date(2026, 9, 14) and citra[12].startswith(RT_B)


LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")


@pytest.mark.sqlite_only
@pytest.mark.skipif(LIBREOFFICE is None, reason="libreoffice is not installed")
def test_a_spreadsheet_program_opens_every_book(
    story: TestClient[Any], world: World, tmp_path: Path
) -> None:
    """LibreOffice (headless) converts each workbook to PDF: it opens them."""
    for kind, area, month in (
        ("rekapitulasi", KELURAHAN, "2026-09"),
        ("induk", KELURAHAN, "2026-10"),
        ("mutasi", KELURAHAN, "2026-09"),
    ):
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(_xlsx(story, world, kind, area, month))
        assert LIBREOFFICE is not None
        subprocess.run(
            [LIBREOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
             "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        pdf = tmp_path / f"{kind}.pdf"
        assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF"), kind
