"""The lansia plugin's phone pages (issue 7): the list with filters, paging and count,
CSV/XLSX downloads (audited, the contract's header), a resident's doses and the dose
form, the menu entry and the plugin gate, through real logins on both backends."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import CITY, RT_A, RT_B, add_resident, nik_for
from form_support import csrf_field, page_login
from lansia_support import AS_OF, KELURAHAN, RT_C, World, expected_list, fetch, lansia_registry
from litestar.testing import TestClient
from openpyxl import load_workbook

import rtbook_lansia.pages as pages
from rtbook.core.db import make_database
from rtbook.core.passwords import hash_password
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.users import set_password_hash
from rtbook_lansia import listing, page_list
from rtbook_lansia.exports import XLSX_HEADER

PASSWORD = "kunci-rumah-biru-7"
_HASH: list[str] = []  # argon2 is slow: hashed once for the whole module
AS_OF_TEXT = AS_OF.isoformat()
CSV_HEADER = "nik,name,sex,birth_date,age,rt,address"


def _password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


async def _set_passwords(world: World) -> None:
    async with make_database(world.url) as db:
        for user_id in world.user_ids.values():
            await db.write(lambda conn, uid=user_id: set_password_hash(conn, uid, _password_hash()))


@pytest.fixture
def web(world: World, client: TestClient[Any]) -> TestClient[Any]:
    """The app of the lansia tests, whose users all have a password."""
    asyncio.run(_set_passwords(world))
    return client


def login(client: TestClient[Any], username: str) -> None:
    """Through the login form, as a browser does (the session cookie stays)."""
    response = page_login(client, username, PASSWORD)
    assert response.status_code == 303, response.text


def csrf_of(page: str) -> str:
    """The ``_csrf`` of the dose form (the page also holds the logout form)."""
    return csrf_field(page[page.index('id="dose-form"') :])


_ITEM = re.compile(r'<li class="lansia">\s*<a class="row" href="([^"]+)"><strong>(.*?)</strong>')


def listed(page: str) -> list[tuple[str, str]]:
    """(href, name) of each resident on a list page, in order."""
    return [(href, unescape(name)) for href, name in _ITEM.findall(page)]


def names(page: str) -> list[str]:
    return [name for _, name in listed(page)]


def expected_names(world: World, area: str, min_age: int = 60) -> list[str]:
    return [r["name"] for r in expected_list(world.residents, area, AS_OF, min_age)]


def area_options(page: str) -> list[str]:
    select = page[page.index('<select id="f-area"') :]
    return re.findall(r'<option value="([^"]*)"', select[: select.index("</select>")])


def total_of(page: str) -> int:
    found = re.search(r'<p class="count"><strong>(\d+)</strong>', page)
    assert found is not None, page
    return int(found.group(1))


def open_list(client: TestClient[Any], **params: str) -> Any:
    return client.get("/lansia", params={"as_of": AS_OF_TEXT, **params})


def audit_rows(world: World, action: str = "lansia.list") -> list[dict[str, Any]]:
    rows = fetch(
        world.url,
        "SELECT username, action, target, scope, detail FROM audit_log WHERE action = $1"
        " ORDER BY id",
        action,
    )
    return [dict(r, detail=json.loads(r["detail"])) for r in rows]


def doses_stored(world: World) -> list[dict[str, Any]]:
    return fetch(
        world.url,
        "SELECT nik, vaccine, dose_number, given_on, place, recorded_by FROM lansia_dose"
        " ORDER BY id",
    )


def resident_href(client: TestClient[Any], name: str, area: str = KELURAHAN) -> str:
    page = open_list(client, area=area)
    assert page.status_code == 200, page.text
    return next(href for href, shown in listed(page.text) if shown == name)


# -- who sees what ----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(web: TestClient[Any], world: World) -> None:
    response = web.get("/lansia", params={"area": KELURAHAN}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/lansia")
    # no city in the address: still the login first (the city is the user's)
    bare = web.get("/lansia", follow_redirects=False)
    assert bare.status_code == 303 and bare.headers["location"] == "/login?next=/lansia"
    download = web.get("/lansia/unduh.csv", params={"area": KELURAHAN}, follow_redirects=False)
    assert download.status_code == 303
    assert audit_rows(world) == []


def test_a_health_worker_sees_their_area_and_not_another(
    web: TestClient[Any], world: World
) -> None:
    login(web, "hw_damai")
    page = open_list(web)  # their first (only) area: kelurahan Damai
    assert page.status_code == 200, page.text
    assert "<title>Daftar lansia (elderly list) &middot; rtbook</title>" in page.text
    assert '<header class="bar">' in page.text  # inside the core frame (base.html)
    assert names(page.text) == expected_names(world, KELURAHAN)
    assert total_of(page.text) == len(expected_names(world, KELURAHAN))
    assert "JOKO KECAMATAN LAIN" not in page.text
    # age, RT and address are shown; no full NIK anywhere on the page
    assert "76 th" in page.text and "RT 005/RW 003" in page.text and "JL. MAWAR NO. 1" in page.text
    for resident in world.residents:
        assert resident["nik"] not in page.text
    # the area select offers their kelurahan and its RTs, not the other kecamatan
    options = area_options(page.text)
    assert {KELURAHAN, RT_A, RT_B} <= set(options)
    assert RT_C not in options and "64.71.05" not in options and CITY not in options

    one_rt = open_list(web, area=RT_B)
    assert names(one_rt.text) == expected_names(world, RT_B)

    refused = open_list(web, area=RT_C)
    assert refused.status_code == 403
    assert "JOKO" not in refused.text
    assert open_list(web, area=CITY).status_code == 403

    login(web, "hw_other")
    other = open_list(web)
    assert names(other.text) == ["JOKO KECAMATAN LAIN"]
    assert open_list(web, area=KELURAHAN).status_code == 403


def test_an_rt_head_sees_only_their_rt(web: TestClient[Any], world: World) -> None:
    login(web, "head_a")
    page = open_list(web)
    assert page.status_code == 200, page.text
    assert names(page.text) == expected_names(world, RT_A)
    assert area_options(page.text) == [RT_A]
    assert names(web.get("/lansia", params={"rt": RT_A, "as_of": AS_OF_TEXT}).text) == (
        expected_names(world, RT_A)
    )
    for area in (RT_B, KELURAHAN, CITY):
        refused = open_list(web, area=area)
        assert refused.status_code == 403, area
        assert "ANI RT ENAM" not in refused.text
    download = web.get("/lansia/unduh.csv", params={"area": RT_A, "as_of": AS_OF_TEXT})
    assert download.status_code == 200
    assert len(download.text.strip().splitlines()) == 1 + len(expected_names(world, RT_A))
    assert web.get("/lansia/unduh.csv", params={"area": RT_B}).status_code == 403


def test_city_admin_and_admin_open_any_area_of_the_city(web: TestClient[Any], world: World) -> None:
    login(web, "city_admin")
    page = open_list(web)  # the city by default
    assert page.status_code == 200, page.text
    assert names(page.text) == expected_names(world, CITY)
    assert names(open_list(web, area="64.71.05").text) == ["JOKO KECAMATAN LAIN"]

    login(web, "admin")
    # an admin has no city: the address names it (the menu's link does)
    home = web.get("/", params={"city": CITY})
    assert 'href="/lansia?city=64.71"' in home.text
    page = web.get("/lansia", params={"city": CITY, "as_of": AS_OF_TEXT})
    assert page.status_code == 200, page.text
    assert names(page.text) == expected_names(world, CITY)
    assert names(open_list(web, area=RT_B).text) == expected_names(world, RT_B)


# -- the list's filters, count and pages ----------------------------------------------


def test_filters_count_and_pages_follow_the_list(
    web: TestClient[Any], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(web, "hw_damai")
    everyone = expected_list(world.residents, KELURAHAN, AS_OF)
    older = open_list(web, min_age="70")
    assert names(older.text) == expected_names(world, KELURAHAN, min_age=70)
    assert total_of(older.text) == len(expected_names(world, KELURAHAN, min_age=70))
    women = open_list(web, sex="P")
    assert names(women.text) == [r["name"] for r in everyone if r["sex"] == "P"]
    assert total_of(women.text) == len(names(women.text)) > 0

    monkeypatch.setattr(page_list, "COUNT_CAP", 4)  # counting stops at the cap
    capped = open_list(web)
    assert "lebih dari <strong>4</strong> lansia" in capped.text
    assert names(capped.text) == [r["name"] for r in everyone]
    monkeypatch.setattr(page_list, "COUNT_CAP", 2000)

    monkeypatch.setattr(pages, "PAGE_ROWS", 3)
    seen: list[str] = []
    page = open_list(web)
    assert total_of(page.text) == len(everyone)
    hrefs: list[str] = []
    while True:
        assert page.status_code == 200, page.text
        assert len(names(page.text)) <= 3
        seen += names(page.text)
        hrefs += [h for h, _ in listed(page.text)]
        found = re.search(r'<a class="button" href="([^"]+)" rel="next">', page.text)
        if found is None:
            break
        next_href = unescape(found.group(1))
        hrefs.append(next_href)
        page = web.get(next_href)
    assert seen == [r["name"] for r in everyone]
    for href in hrefs:  # no NIK in any address (access logs)
        assert not any(r["nik"] in href for r in world.residents), href
        assert not re.search(r"\d{16}", href), href
    # each page shown is one audit row of the rows shown
    shown = [a for a in audit_rows(world) if a["detail"]["format"] == "html"][-3:]
    assert [a["detail"]["rows"] for a in shown] == [3, 3, len(everyone) - 6]
    assert [a["detail"]["complete"] for a in shown] == [False, False, True]
    assert all(a["username"] == "hw_damai" and a["target"] == KELURAHAN for a in shown)


def test_bad_filters_are_400_with_a_reason_and_read_nothing(
    web: TestClient[Any], world: World
) -> None:
    login(web, "hw_damai")
    before = len(audit_rows(world))
    cases = {
        "min_age": ({"min_age": "50"}, "paling sedikit 60"),  # below the city's min_age
        "as_of": ({"as_of": "2026-02-30"}, "as_of"),
        "sex": ({"sex": "X"}, "L atau P"),
        "vaksin": ({"vaksin": "mungkin"}, "belum atau sudah"),
        "area": ({"area": "64.71.0X"}, "kode kota"),
    }
    for field, (params, reason) in cases.items():
        response = web.get("/lansia", params=params)
        assert response.status_code == 400, (field, response.text)
        assert f"{field}: " in response.text and reason in response.text, field
        assert '<p class="error">' in response.text
        assert listed(response.text) == []
    # a page token for an RT outside the list's area is refused, never read
    outside = web.get("/lansia", params={"area": RT_A, "after": f"{RT_C}~{'A' * 22}"})
    assert outside.status_code == 400 and "halaman tidak sah" in outside.text
    assert "JOKO" not in outside.text
    assert len(audit_rows(world)) == before


def test_vaccinated_and_not_vaccinated_filters(web: TestClient[Any], world: World) -> None:
    login(web, "hw_damai")
    ahmad, budi = world.nik("AHMAD TUA"), world.nik("BUDI ENAM PULUH")
    for nik, vaccine in ((ahmad, "Sinovac"), (budi, "AstraZeneca")):
        body = {"nik": nik, "vaccine": vaccine, "dose_number": 1, "date": "2021-03-01"}
        response = web.post(
            "/api/v1/lansia/doses",
            json={**body, "place": "Puskesmas Damai"},
            headers=world.auth("hw_damai"),
        )
        assert response.status_code == 200, response.text
    everyone = expected_names(world, KELURAHAN)
    assert set(names(open_list(web, vaksin="sudah").text)) == {"AHMAD TUA", "BUDI ENAM PULUH"}
    assert names(open_list(web, vaksin="sudah", vaccine="sinovac").text) == ["AHMAD TUA"]
    not_yet = open_list(web, vaksin="belum")
    assert set(names(not_yet.text)) == set(everyone) - {"AHMAD TUA", "BUDI ENAM PULUH"}
    assert total_of(not_yet.text) == len(everyone) - 2
    no_sinovac = open_list(web, vaksin="belum", vaccine="Sinovac")
    assert set(names(no_sinovac.text)) == set(everyone) - {"AHMAD TUA"}
    assert '<span class="badge ok">Sinovac 1</span>' in open_list(web).text
    # a vaccine alone (no vaccination choice) narrows nothing
    assert names(open_list(web, vaccine="Sinovac").text) == everyone


# -- downloads ----------------------------------------------------------------------------


def test_csv_download_has_the_contract_header_rows_and_audit_row(
    web: TestClient[Any], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(web, "hw_damai")
    page = open_list(web)
    href = unescape(re.search(r'<a id="download-csv"[^>]* href="([^"]+)"', page.text).group(1))
    assert urlsplit(href).path == "/lansia/unduh.csv"
    assert parse_qs(urlsplit(href).query) == {"area": [KELURAHAN], "as_of": [AS_OF_TEXT]}
    response = web.get(href)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="lansia-{KELURAHAN}-{AS_OF_TEXT}.csv"'
    )
    assert response.text.split("\r\n")[0] == CSV_HEADER
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows == [
        {k: str(v) for k, v in item.items()}
        for item in expected_list(world.residents, KELURAHAN, AS_OF)
    ]
    last = audit_rows(world)[-1]
    assert last["username"] == "hw_damai" and last["target"] == KELURAHAN
    assert last["scope"] == CITY
    assert last["detail"]["format"] == "csv"
    assert last["detail"]["rows"] == len(rows) and last["detail"]["complete"] is True

    # a list longer than the listing's page streams page by page; filters apply
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    men = web.get("/lansia/unduh.csv", params={"area": KELURAHAN, "as_of": AS_OF_TEXT, "sex": "L"})
    got = list(csv.DictReader(io.StringIO(men.text)))
    want = [r for r in expected_list(world.residents, KELURAHAN, AS_OF) if r["sex"] == "L"]
    assert [r["nik"] for r in got] == [r["nik"] for r in want] and len(want) > 2
    last = audit_rows(world)[-1]
    assert last["detail"]["sex"] == "L" and last["detail"]["rows"] == len(want)
    assert last["detail"]["complete"] is True

    assert web.get("/lansia/unduh.csv", params={"area": RT_C}).status_code == 403


def test_xlsx_download_opens_with_openpyxl(web: TestClient[Any], world: World) -> None:
    login(web, "hw_damai")
    page = open_list(web, area=RT_A)
    href = unescape(re.search(r'<a id="download-xlsx"[^>]* href="([^"]+)"', page.text).group(1))
    response = web.get(href)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == XLSX_HEADER
    expected = expected_list(world.residents, RT_A, AS_OF)
    assert [r[0] for r in rows[1:]] == [e["nik"] for e in expected]  # NIKs stay text
    assert [r[1] for r in rows[1:]] == [e["name"] for e in expected]
    assert audit_rows(world)[-1]["detail"]["format"] == "xlsx"


# -- one resident, the dose form ------------------------------------------------------------


def dose_form(csrf: str | None, **fields: str) -> dict[str, str]:
    data = {"vaccine": "Sinovac", "dose_number": "1", "date": "2021-03-01", "place": "Posyandu"}
    data.update(fields)
    if csrf is not None:
        data["_csrf"] = csrf
    return data


def test_recording_a_dose_from_the_resident_page(web: TestClient[Any], world: World) -> None:
    login(web, "hw_damai")
    href = resident_href(web, "AHMAD TUA")
    assert world.nik("AHMAD TUA") not in href
    page = web.get(href)
    assert page.status_code == 200, page.text
    assert "AHMAD TUA" in page.text and "Belum ada dosis" in page.text
    assert world.nik("AHMAD TUA") not in page.text  # only its last digits
    response = web.post(href, data=dose_form(csrf_of(page.text)), follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == href + "?ok=1"
    after = web.get(response.headers["location"])
    assert "Dosis tersimpan" in after.text
    assert '<td>Sinovac</td><td class="num">1</td><td>2021-03-01</td><td>Posyandu</td>' in (
        after.text
    )
    stored = doses_stored(world)
    assert [(d["nik"], d["vaccine"], d["dose_number"], d["place"]) for d in stored] == [
        (world.nik("AHMAD TUA"), "Sinovac", 1, "Posyandu")
    ]
    assert stored[0]["recorded_by"] == world.user_ids["hw_damai"]
    added = audit_rows(world, "lansia.dose.add")
    assert added[-1]["target"] == "*" * 12 + world.nik("AHMAD TUA")[-4:]

    again = web.post(href, data=dose_form(csrf_of(after.text)))
    assert again.status_code == 409 and "sudah tercatat" in again.text
    assert len(doses_stored(world)) == 1


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"dose_number": "0"}, "dose_number", "harus 1 sampai 10"),
        ({"dose_number": "dua"}, "dose_number", "bilangan bulat"),
        ({"vaccine": "  "}, "vaccine", "wajib"),
        ({"date": "2999-01-01"}, "date", "masa depan"),
        ({"date": "2021-02-30"}, "date", "date"),
        ({"place": ""}, "place", "wajib"),
    ],
)
def test_a_bad_dose_is_422_with_its_reason_and_saves_nothing(
    web: TestClient[Any], world: World, fields: dict[str, str], field: str, reason: str
) -> None:
    login(web, "hw_damai")
    href = resident_href(web, "AHMAD TUA")
    page = web.get(href)
    response = web.post(href, data=dose_form(csrf_of(page.text), **fields))
    assert response.status_code == 422, response.text
    assert "Dosis tidak dapat dicatat" in response.text
    errors = re.findall(r'<p class="error">([^<]*)</p>', response.text)
    assert any(reason in unescape(e) for e in errors), errors
    assert f'id="d-{ {"dose_number": "number"}.get(field, field) }"' in response.text
    assert doses_stored(world) == []


def test_the_dose_form_needs_the_csrf_token_and_the_right_role(
    web: TestClient[Any], world: World
) -> None:
    login(web, "hw_damai")
    href = resident_href(web, "AHMAD TUA")
    missing = web.post(href, data=dose_form(None))
    assert missing.status_code == 403
    wrong = web.post(href, data=dose_form("bukan-token"))
    assert wrong.status_code == 403
    assert doses_stored(world) == []

    login(web, "head_a")  # RT heads read doses but do not record them
    page = web.get(href)
    assert page.status_code == 200 and "AHMAD TUA" in page.text
    assert 'id="dose-form"' not in page.text
    token = csrf_field(page.text)  # the logout form's: a valid token
    refused = web.post(href, data=dose_form(token))
    assert refused.status_code == 403, refused.text
    assert doses_stored(world) == []

    login(web, "hw_other")  # a health worker of another kecamatan
    assert web.get(href).status_code == 403
    assert web.get(href.rsplit("/", 1)[0] + "/" + "B" * 22).status_code == 404


# -- menu, gate, escaping --------------------------------------------------------------


def test_menu_entry_only_for_its_readers_and_only_where_enabled(
    web: TestClient[Any], world: World
) -> None:
    for who in ("hw_damai", "head_a", "city_admin"):
        login(web, who)
        home = web.get("/")
        assert '<a href="/lansia">Daftar lansia<span class="en"> (elderly list)</span></a>' in (
            home.text
        ), who

    async def disable() -> None:
        async with make_database(world.url) as db:
            await db.write(
                lambda conn: set_plugin(
                    conn,
                    lansia_registry(),
                    CITY,
                    "lansia",
                    enabled=False,
                    config=None,
                    user_id=None,
                )
            )

    asyncio.run(disable())
    for who in ("hw_damai", "head_a", "city_admin"):
        login(web, who)
        assert "Daftar lansia" not in web.get("/").text, who
        off = web.get("/lansia")
        assert off.status_code == 404 and off.headers["content-type"].startswith("text/html")
        assert "tidak ada di kota ini" in off.text  # a page saying so, in the frame
        assert web.get("/lansia", params={"area": RT_A}).status_code == 404
        assert web.get("/lansia/unduh.csv", params={"area": RT_A}).status_code == 404
    assert [a for a in audit_rows(world)] == []


def test_names_are_escaped(web: TestClient[Any], world: World) -> None:
    from datetime import date

    async def add() -> None:
        async with make_database(world.url) as db:
            await db.write(
                lambda conn: add_resident(
                    conn,
                    nik=nik_for(date(1950, 2, 2), "L", 77, region="647106"),
                    name="<b>x</b>",
                    birth_date=date(1950, 2, 2),
                    address='JL. "KUTIP" <i>',
                    rt_code=RT_A,
                    city_code=CITY,
                )
            )

    asyncio.run(add())
    login(web, "hw_damai")
    page = open_list(web, area=RT_A)
    assert "&lt;b&gt;x&lt;/b&gt;" in page.text and "<b>x</b>" not in page.text
    assert "<i>" not in page.text
    href = next(h for h, n in listed(page.text) if n == "<b>x</b>")
    resident = web.get(href)
    assert "&lt;b&gt;x&lt;/b&gt;" in resident.text and "<b>x</b>" not in resident.text
