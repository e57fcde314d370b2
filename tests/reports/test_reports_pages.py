"""The reports pages: B.3 with the population pyramid (an inline SVG), the downloads and
the printable B.1/B.2, for the readers the API allows; through a logged-in session
(TestClient), on both backends."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from typing import Any

from factories import CITY, RT_A, RT_B
from litestar.testing import TestClient
from reports_support import (
    KELURAHAN,
    PEOPLE,
    RW_003,
    XLSX,
    World,
    expected_rekap,
    inside,
    login,
    state_before,
)
from test_reports_rekap import audit_rows

OCTOBER = {"area": RT_A, "month": "2026-10"}


def page(client: TestClient[Any], path: str, **params: str) -> Any:
    return client.get(path, params=params, follow_redirects=False)


def text_of(body: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_anonymous_visitors_go_to_the_login_page(client: TestClient[Any]) -> None:
    for path in ("/laporan", "/laporan/unduh", "/laporan/cetak"):
        response = page(client, path, **OCTOBER)
        assert response.status_code in (302, 303), (path, response.status_code)
        assert response.headers["location"].startswith("/login")


def test_the_rt_heads_page_shows_the_recap_and_the_pyramid(
    story: TestClient[Any], world: World
) -> None:
    login(story, "head_a")
    response = page(story, "/laporan", **OCTOBER)
    assert response.status_code == 200, response.text
    body = response.text
    want = expected_rekap(RT_A, "2026-10")
    table = re.search(r'<table class="data" id="rekap">(.*?)</table>', body, re.S)
    assert table is not None
    cells = [re.findall(r'<td class="num">(?:<strong>)?(\d*)', row) for row in
             re.findall(r"<tr><th scope=\"row\">.*?</tr>", table.group(1))]  # fmt: skip
    metrics = ("start", "births", "arrivals", "deaths", "departures", "end")
    for metric, row in zip(metrics, cells, strict=True):
        counts = want[metric]
        assert row[:3] == [str(counts["L"]), str(counts["P"]), str(counts["total"])], metric
        if "kk" in counts:
            assert row[3] == str(counts["kk"])
    assert "RT 005/RW 003 Damai" in body
    # the pyramid: an inline SVG with a bar per sex and age group, no style attribute
    svg = re.search(r'<svg id="pyramid".*?</svg>', body, re.S)
    assert svg is not None
    assert len(re.findall(r'<rect class="pyr-[lp]"', svg.group(0))) == 32
    assert "style=" not in body and "<script>" not in body
    # its numbers: who was in RT 005 at the end of October, by age on 31 October
    last_day = date(2026, 10, 31)
    present = [p for p in PEOPLE if inside(state_before(p, date(2026, 11, 1))[0], RT_A)]
    groups = re.findall(
        r'<tr><th scope="row">([0-9+\-]+)</th><td class="num">(\d+)</td><td class="num">(\d+)</td>',
        body,
    )
    got = {label: (int(m), int(f)) for label, m, f in groups}
    want_groups = {label: [0, 0] for label in got}
    for p in present:
        age = last_day.year - p.birth.year - ((p.birth.month, p.birth.day) > (10, 31))
        label = "75+" if age >= 75 else f"{age // 5 * 5}-{age // 5 * 5 + 4}"
        want_groups[label][0 if p.sex == "L" else 1] += 1
    assert len(got) == 16
    assert got == {label: tuple(pair) for label, pair in want_groups.items()}
    assert sum(m + f for m, f in got.values()) == want["end"]["total"]
    # downloads and print links for an RT
    for anchor in ("unduh-rekapitulasi", "unduh-induk", "unduh-mutasi", "cetak-induk"):
        assert f'id="{anchor}"' in body
    rows = audit_rows(world)
    assert [(r["username"], r["action"], r["target"]) for r in rows] == [
        ("head_a", "reports.rekapitulasi", RT_A)
    ]


def test_a_kelurahan_page_links_down_to_its_rws(story: TestClient[Any], world: World) -> None:
    login(story, "city_admin")
    body = page(story, "/laporan", area=KELURAHAN, month="2026-09").text
    assert f'href="/laporan?area={RW_003}&amp;month=2026-09"' in body
    assert "Kelurahan/Desa Damai" in body and '<svg id="pyramid"' in body
    # a whole city: counts and links, no pyramid (too many people for a page)
    city = page(story, "/laporan", area=CITY, month="2026-09")
    assert city.status_code == 200
    assert '<svg id="pyramid"' not in city.text and 'href="/laporan?area=64.71.06&amp;' in city.text
    assert 'id="unduh-induk"' not in city.text  # B.1 is per kelurahan, RW or RT


def test_out_of_scope_and_bad_input_are_refused_on_a_page(
    story: TestClient[Any], world: World
) -> None:
    login(story, "head_a")
    other = page(story, "/laporan", area=RT_B, month="2026-10")
    assert other.status_code == 403 and "not allowed" in other.text
    bad = page(story, "/laporan", area=RT_A, month="2026-13")
    assert bad.status_code == 400 and "YYYY-MM" in text_of(bad.text)
    future = page(story, "/laporan", area=RT_A, month="2999-01")
    assert future.status_code == 400 and "future" in bad.text + future.text
    book = page(story, "/laporan/unduh", buku="semua", **OCTOBER)
    assert book.status_code == 400 and "buku" in book.text
    assert page(story, "/laporan/cetak", buku="rekapitulasi", **OCTOBER).status_code == 400
    assert audit_rows(world) == []


def test_downloads_from_the_page_open_and_are_recorded(
    story: TestClient[Any], world: World
) -> None:
    from openpyxl import load_workbook

    login(story, "head_a")
    for book, sheet in (("rekapitulasi", "B.3"), ("induk", "B.1"), ("mutasi", "B.2")):
        response = page(story, "/laporan/unduh", buku=book, **OCTOBER)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(XLSX)
        assert sheet in load_workbook(io.BytesIO(response.content)).sheetnames
    assert [(r["action"], r["target"]) for r in audit_rows(world)] == [
        ("reports.rekapitulasi", RT_A),
        ("reports.induk", RT_A),
        ("reports.mutasi", RT_A),
    ]


def test_printable_books_for_a4_landscape(story: TestClient[Any], world: World) -> None:
    login(story, "city_admin")
    response = page(story, "/laporan/cetak", buku="mutasi", area=KELURAHAN, month="2026-09")
    assert response.status_code == 200, response.text
    body = response.text
    assert 'class="print-book"' in body and "BUKU MUTASI PENDUDUK (B.2)" in body
    for name in ("ANDI", "CITRA", "DEDI", "EVA", "BAYI DUA"):
        assert name in body
    assert "Jakarta Selatan" in body and "25-09-2026" in body
    assert not re.search(r"(?<![0-9])[0-9]{16}(?![0-9])", body), "a full NIK on a page"
    induk = page(story, "/laporan/cetak", buku="induk", area=RT_A, month="2026-10").text
    assert induk.count('<tr><td class="num">') == expected_rekap(RT_A, "2026-10")["end"]["total"]
    css = story.get("/static/rtbook.css").text
    assert "@page laporan{size:A4 landscape" in css and ".print-book{page:laporan}" in css
    assert [r["action"] for r in audit_rows(world)] == ["reports.mutasi", "reports.induk"]


def test_the_menu_offers_the_books_to_their_readers_only(
    client: TestClient[Any], world: World
) -> None:
    for who, shown in (("head_a", True), ("city_admin", True), ("hw", False)):
        login(client, who)
        home = client.get("/")
        assert home.status_code == 200
        assert ('href="/laporan"' in home.text) is shown, who


def test_the_pages_answer_404_where_the_plugin_is_off(
    client: TestClient[Any], world: World
) -> None:
    response = client.put(
        f"/api/v1/cities/{CITY}/plugins/reports",
        json={"enabled": False},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200
    login(client, "head_a")
    assert page(client, "/laporan", **OCTOBER).status_code == 404
    assert 'href="/laporan' not in client.get("/").text
