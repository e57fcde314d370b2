"""The RT head's buku induk (GET /rt/{rt}) and a resident's page
(GET /rt/{rt}/warga/{ref}) on both backends: what each reader sees, scope, bad
input, audit rows, HTML escaping and the size of the first load on a phone."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from factories import RT_A, RT_B
from form_support import sql
from litestar.testing import TestClient
from rt_support import (
    BUDI,
    CHILD,
    RINA,
    SCRIPT,
    SCRIPT_NAME,
    SITI,
    World,
    add_households,
    audit_rows,
    birth,
    full_niks,
    ktp_el,
    login,
    make_client,
    seed,
    send_services,
)

from rtbook.core.notify.compose import date_in_words
from rtbook.core.settings import DatabaseURL

RT_UNKNOWN = "64.71.06.1005-009-009"


@pytest.fixture
def world(db_env: DatabaseURL) -> World:
    return seed(db_env)


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with make_client(world) as test_client:
        yield test_client


def links_by_name(page: str) -> dict[str, str]:
    """{resident name as shown (escaped): their page's address}."""
    found = {}
    for match in re.finditer(
        r'<a class="resident" href="([^"]+)"><span><strong>([^<]*)</strong>', page
    ):
        found[match.group(2)] = match.group(1)
    return found


def test_anonymous_is_sent_to_login(client: TestClient[Any]) -> None:
    for path in (f"/rt/{RT_A}", f"/rt/{RT_A}/warga/abcdefghijklmnop"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={quote(path, safe='/')}"


def test_head_sees_households_with_members(client: TestClient[Any], world: World) -> None:
    login(client, "head_a")
    response = client.get(f"/rt/{RT_A}")
    assert response.status_code == 200
    page = response.text
    assert "<title>Buku induk RT 005/RW 003" in page
    assert 'id="q" name="q"' in page and '<label for="q">Cari nama atau NIK' in page
    assert 'id="results"' in page
    names = links_by_name(page)
    # active members only, grouped by KK, head first
    assert set(names) == {
        "BUDI SANTOSO",
        "SITI AMINAH",
        "RINA LESTARI",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    }
    kk_budi = page[page.index("KK ****0001") : page.index("KK ****0002")]
    assert kk_budi.index("BUDI SANTOSO") < kk_budi.index("SITI AMINAH") < kk_budi.index("RINA")
    assert "3 anggota" in kk_budi
    # sex, age on 25 Nov 2026 (city time), SHDK and status in words
    assert "Laki-laki &middot; 46 th &middot; Kepala keluarga" in kk_budi
    assert "Perempuan &middot; 16 th &middot; Anak" in kk_budi
    assert 'class="badge ok">Aktif' in kk_budi
    assert "WATI" not in page and "JOKO" not in page  # not active
    assert "ANDI" not in page  # another RT
    assert full_niks(page) == set()  # lists show the last 4 digits only
    rows = audit_rows(world.url, "households.list")
    assert [(r["username"], r["target"], r["scope"]) for r in rows] == [("head_a", RT_A, "64.71")]
    assert json.loads(rows[0]["detail"]) == {"rows": 2, "page": 1}  # KK 0003: none active


def test_status_filter_and_search(client: TestClient[Any], world: World) -> None:
    login(client, "head_a")
    dead = client.get(f"/rt/{RT_A}", params={"status": "meninggal"}).text
    assert set(links_by_name(dead)) == {"WATI SUSANTI"}
    assert 'class="badge bad">Meninggal' in dead
    moved = client.get(f"/rt/{RT_A}", params={"status": "pindah"}).text
    assert set(links_by_name(moved)) == {"JOKO PRANOTO"}
    everyone = client.get(f"/rt/{RT_A}", params={"status": "semua"}).text
    assert len(links_by_name(everyone)) == 6
    assert '<option value="semua" selected>' in everyone

    by_name = client.get(f"/rt/{RT_A}", params={"q": "siti"}).text
    assert set(links_by_name(by_name)) == {"SITI AMINAH"}
    assert 'value="siti"' in by_name  # the form keeps what was typed
    by_nik = client.get(f"/rt/{RT_A}", params={"q": RINA[-6:]}).text
    assert set(links_by_name(by_nik)) == {"RINA LESTARI"}
    nobody = client.get(f"/rt/{RT_A}", params={"q": "tidak ada"}).text
    assert links_by_name(nobody) == {} and "Tidak ada warga yang cocok" in nobody

    rows = audit_rows(world.url, "residents.list")
    assert len(rows) == 6 and {r["username"] for r in rows} == {"head_a"}
    details = [json.loads(r["detail"]) for r in rows]
    assert details[3] == {"rows": 1, "status": "active", "q": "siti", "page": 1}
    assert details[4]["q"] == "**" + RINA[-4:]  # a NIK search is masked in the trail


def test_htmx_search_answers_the_results_fragment(client: TestClient[Any]) -> None:
    login(client, "head_a")
    response = client.get(f"/rt/{RT_A}", params={"q": "budi"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "<form" not in response.text
    assert set(links_by_name(response.text)) == {"BUDI SANTOSO"}
    assert "HX-Push-Url" not in response.headers
    digits = client.get(f"/rt/{RT_A}", params={"q": BUDI[-8:]}, headers={"HX-Request": "true"})
    assert digits.headers["HX-Push-Url"] == "false"  # no NIK digits in the phone's history
    assert set(links_by_name(digits.text)) == {"BUDI SANTOSO"}


def test_households_are_paged_by_25(client: TestClient[Any], world: World) -> None:
    add_households(world.url, RT_A, households=30, per_household=2)
    login(client, "head_a")
    first = client.get(f"/rt/{RT_A}").text
    assert first.count('<p class="kk">') == 25
    assert "32 KK &middot; 64 warga aktif" in first
    assert f'href="/rt/{RT_A}?hal=2"' in first  # the default filter stays out
    second = client.get(f"/rt/{RT_A}", params={"hal": "2"}).text
    assert second.count('<p class="kk">') == 7
    assert "hal=3" not in second and f'href="/rt/{RT_A}?hal=1"' in second
    shown = set(links_by_name(first)) | set(links_by_name(second))
    assert len(shown) >= 60  # every member on one of the two pages (names may repeat)
    # a search pages by 25 residents, the status filter carried along
    everyone = client.get(f"/rt/{RT_A}", params={"status": "semua"}).text
    assert everyone.count('class="resident"') == 25
    assert "status=semua&amp;hal=2" in everyone
    last = client.get(f"/rt/{RT_A}", params={"status": "semua", "hal": "3"}).text
    assert last.count('class="resident"') == 66 - 50
    beyond = client.get(f"/rt/{RT_A}", params={"status": "semua", "hal": "9"})
    assert beyond.status_code == 200 and 'class="resident"' not in beyond.text


def test_first_load_of_300_residents_stays_small(client: TestClient[Any], world: World) -> None:
    add_households(world.url, RT_A, households=75, per_household=4)
    login(client, "head_a")
    response = client.get(f"/rt/{RT_A}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    html = response.text.encode()
    html_gz = len(gzip.compress(html, 6))
    assets_gz = 0
    for src in re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"', response.text):
        assets_gz += len(gzip.compress(client.get(src).content, 6))
    print(f"ward book, 300 residents: html {len(html)} B, {html_gz} B gz; assets {assets_gz} B gz")
    assert html_gz <= 25_000
    assert html_gz + assets_gz <= 60_000
    assert full_niks(response.text) == set()


def test_readers_and_refusals(client: TestClient[Any], world: World) -> None:
    for who in ("city_admin", "admin"):
        login(client, who)
        assert client.get(f"/rt/{RT_A}").status_code == 200, who
        assert "BUDI SANTOSO" in client.get(f"/rt/{RT_A}").text
    refused = [("head_a", RT_B), ("head_b", RT_A), ("other_admin", RT_A), ("health", RT_A)]
    before = len(audit_rows(world.url, "households.list"))
    for who, rt in refused:
        login(client, who)
        response = client.get(f"/rt/{rt}")
        assert response.status_code == 403, (who, rt)
        assert "Di luar wilayah Anda" in response.text
        assert "BUDI" not in response.text and "ANDI" not in response.text
    assert len(audit_rows(world.url, "households.list")) == before  # nothing served
    forbidden = audit_rows(world.url, "auth.forbidden")
    assert [(r["username"], r["target"]) for r in forbidden] == [
        (who, f"/rt/{rt}") for who, rt in refused
    ]
    login(client, "admin")
    missing = client.get(f"/rt/{RT_UNKNOWN}")
    assert missing.status_code == 404 and "RT tidak ditemukan" in missing.text
    assert client.get("/rt/bukan-rt").status_code == 404


def test_bad_filters_are_refused_with_a_reason(client: TestClient[Any], world: World) -> None:
    login(client, "head_a")
    for params, words in (
        ({"status": "hidup"}, "status: pilih aktif, meninggal, pindah atau semua"),
        ({"hal": "0"}, "hal: nomor halaman"),
        ({"hal": "dua"}, "hal: nomor halaman"),
        ({"q": "x" * 101}, "terlalu panjang"),
        ({"q": "a\x00b"}, "karakter kendali"),
    ):
        response = client.get(f"/rt/{RT_A}", params=params)
        assert response.status_code == 400, params
        assert words in response.text, params
    assert audit_rows(world.url, "residents.list") == []


def test_resident_page_for_the_rt_head(client: TestClient[Any], world: World) -> None:
    send_services(client, world, ktp_el(BUDI, "ktp-1"), birth())
    login(client, "head_a")
    book = client.get(f"/rt/{RT_A}").text
    links = links_by_name(book)
    assert "PUTRI KECIL" in links  # the newborn joined KK BUDI
    address = links["BUDI SANTOSO"]
    assert BUDI not in address and re.fullmatch(r"/rt/[^/]+/warga/[a-p]{16}", address)
    response = client.get(address)
    assert response.status_code == 200
    page = response.text
    assert "<h1>BUDI SANTOSO</h1>" in page
    assert f"<dd>{BUDI}</dd>" in page  # the RT's head keeps the book: the full NIK
    assert "<dd>6471060101200001</dd>" in page
    assert "Kepala keluarga" in page and "BALIKPAPAN, 5 Juli 1980 (46 th)" in page
    members = links_by_name(page)
    assert set(members) == {"SITI AMINAH", "RINA LESTARI", "PUTRI KECIL"}
    assert "KTP-el: Dokumen diterbitkan" in page
    assert 'Terjadi<span class="en"> (happened)</span> 20 November 2026' in page

    child = client.get(members["PUTRI KECIL"]).text
    assert "<h1>PUTRI KECIL</h1>" in child
    assert "Akta Kelahiran: Tercatat sebagai warga baru" in child
    # born on the 1st (the event date), reported when the ledger got it (that day, in
    # city time: the API takes the real clock)
    assert "(happened)</span> 1 November 2026" in child
    (change,) = sql(
        world.url,
        "SELECT reported_at FROM resident_change WHERE nik = $1 AND kind = 'resident_added'",
        CHILD,
    )
    at = change["reported_at"]
    at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    reported = date_in_words(at if at.tzinfo else at.replace(tzinfo=UTC), "Asia/Makassar")
    assert f"(reported)</span> {reported}" in child

    rows = audit_rows(world.url, "resident.read")
    assert [(r["username"], r["target"], r["scope"]) for r in rows] == [
        ("head_a", "************" + BUDI[-4:], "64.71"),
        ("head_a", "************" + CHILD[-4:], "64.71"),
    ]
    assert json.loads(rows[0]["detail"]) == {"rt": RT_A, "nik": "full"}
    assert full_niks(json.dumps(rows)) == set()


def test_resident_page_masks_the_nik_for_admins(client: TestClient[Any], world: World) -> None:
    login(client, "head_a")
    address = links_by_name(client.get(f"/rt/{RT_A}").text)["SITI AMINAH"]
    login(client, "city_admin")
    response = client.get(address)
    assert response.status_code == 200
    assert "<h1>SITI AMINAH</h1>" in response.text
    assert full_niks(response.text) == set()
    assert f"<dd>****{SITI[-4:]}</dd>" in response.text
    assert "+6281" not in response.text
    rows = audit_rows(world.url, "resident.read")
    assert [(r["username"], json.loads(r["detail"])["nik"]) for r in rows] == [
        ("city_admin", "masked")
    ]


def test_resident_page_refusals(client: TestClient[Any], world: World) -> None:
    login(client, "head_a")
    address = links_by_name(client.get(f"/rt/{RT_A}").text)["SITI AMINAH"]
    ref = address.rsplit("/", 1)[1]
    assert SITI not in address
    for who in ("head_b", "other_admin", "health"):
        login(client, who)
        response = client.get(address)
        assert response.status_code == 403, who
        assert "SITI" not in response.text
    login(client, "head_a")
    for path in (
        f"/rt/{RT_A}/warga/abcdefghijklmnop",  # no such resident
        f"/rt/{RT_A}/warga/{SITI}",  # a NIK is not a reference
        f"/rt/{RT_A}/warga/{ref.upper()}",
        f"/rt/{RT_UNKNOWN}/warga/{ref}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "SITI" not in response.text
    login(client, "admin")
    assert client.get(f"/rt/{RT_B}/warga/{ref}").status_code == 404  # not in RT 006
    assert audit_rows(world.url, "resident.read") == []


def test_names_are_text_not_markup(client: TestClient[Any], world: World) -> None:
    send_services(client, world, ktp_el(SCRIPT, "ktp-script"))
    login(client, "head_a")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    book = client.get(f"/rt/{RT_A}").text
    found = client.get(f"/rt/{RT_A}", params={"q": "script"}).text
    address = links_by_name(found)[escaped]
    resident = client.get(address).text
    feed = client.get(f"/rt/{RT_A}/kabar").text
    for page in (book, found, resident, feed):
        assert SCRIPT_NAME not in page
        assert escaped in page
        assert "<script>alert" not in page
    assert f"<h1>{escaped}</h1>" in resident
