"""Each role's whole job on a phone (issue 7), in Debian's Chromium at 360 x 800
against ``rtbook demo``: what a person sees and taps, nothing else.

- The RT head finds a resident by typing part of a name, opens them, and sees a newly
  posted service appear in the feed without reloading.
- A resident whose name is markup shows as text, and no script of it runs.
- The health worker downloads the elderly list as CSV.
- The city admin switches a plugin on and its menu item appears.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from browser_support import DemoServer, assert_fits_screen, login_as, shot
from playwright.sync_api import expect

from rtbook.demo import CITY, KELURAHAN_DAMAI, RT_KETUA, _new_nik

FEED_WAIT_MS = 45_000  # the feed asks for news every few seconds; allow a slow machine


def _active_residents(demo: DemoServer) -> list[dict[str, Any]]:
    answer = demo.api(
        "GET", f"/api/v1/rts/{RT_KETUA}/residents?status=active&limit=200", "ketua-rt-005"
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _post_birth(demo: DemoServer, name: str) -> str:
    """A birth into a family of the RT head's RT, as the registry would post it."""
    head = next(r for r in _active_residents(demo) if r["shdk"] == "kepala_keluarga")
    born = date.today() - timedelta(days=3)
    nik = _new_nik(head["nik"][:6], born, "L", 7000 + secrets.randbelow(999))
    child = {
        "name": name,
        "sex": "L",
        "birth_place": "BALIKPAPAN",
        "birth_date": born.isoformat(),
        "religion": head.get("religion") or "islam",
        "marital_status": "belum_kawin",
        "shdk": "anak",
        "citizenship": "WNI",
        "no_kk": head["no_kk"],
        "address": head.get("address") or "JL. CONTOH",
    }
    service = {
        "source": "siak-6471",
        "id": f"uji-{secrets.token_hex(4)}",
        "type": "akta_kelahiran",
        "completed_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "nik": nik,
        "rt": RT_KETUA,
        "document_number": f"6471-LT-UJI-{secrets.token_hex(3)}",
        "data": {"child": child},
    }
    answer = demo.api("POST", "/api/v1/services", "siak-balikpapan", json={"services": [service]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["status"] == "applied", answer.text
    return nik


def test_rt_head_finds_a_resident_and_sees_a_new_service_arrive(
    phone: Any, demo: DemoServer
) -> None:
    resident = next(r for r in _active_residents(demo) if len(r["name"].split()[0]) >= 4)
    login_as(phone, demo, "ketua-rt-005")
    phone.locator(".tiles a", has_text="Buku induk RT 005/RW 003").click()
    phone.wait_for_url(f"{demo.base}/rt/{RT_KETUA}")
    assert_fits_screen(phone)
    shot(phone, "rt-head-ward-book")

    # part of the name, lower case, as a person types it; no Enter pressed
    part = resident["name"].split()[0][:4].lower()
    phone.get_by_label("Cari nama atau NIK").press_sequentially(part, delay=80)
    phone.wait_for_url(f"**/rt/{RT_KETUA}?*q={part}*")  # the answer replaced the list
    match = phone.locator("#results a.resident", has_text=resident["name"])
    match.first.wait_for()
    for name in phone.locator("#results a.resident").all_inner_texts():
        assert part in name.lower()
    shot(phone, "rt-head-search")
    # by NIK too (the address bar and the server's log then hold it masked only)
    search = phone.get_by_label("Cari nama atau NIK")
    search.fill("")
    search.press_sequentially(resident["nik"], delay=20)
    found = phone.locator("#results a.resident")
    expect(found).to_have_count(1)
    assert found.inner_text().startswith(resident["name"])
    assert resident["nik"] not in phone.url  # kept out of the phone's history
    match.first.click()
    assert phone.get_by_role("heading", level=1).inner_text() == resident["name"]
    assert_fits_screen(phone)
    shot(phone, "rt-head-resident")

    # the feed is open when the registry posts a birth: it appears there by itself
    phone.goto(f"{demo.base}/rt/{RT_KETUA}/kabar")
    before = phone.locator("#feed li.event").count()
    baby = f"BAYI UJI {secrets.token_hex(2).upper()}"
    _post_birth(demo, baby)
    arrived = phone.locator("#feed li.event", has_text=baby)
    arrived.wait_for(timeout=FEED_WAIT_MS)
    assert phone.locator("#feed li.event").count() == before + 1
    assert "unread" in (arrived.get_attribute("class") or "")
    assert_fits_screen(phone)
    shot(phone, "rt-head-feed-live")
    assert demo.full_niks_in_log() == []  # the server's log never carries a full NIK


def test_a_resident_named_with_markup_is_shown_as_text(phone: Any, demo: DemoServer) -> None:
    name = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    _post_birth(demo, name)
    login_as(phone, demo, "ketua-rt-005")
    pages = {
        "ward book": f"/rt/{RT_KETUA}?q=img",
        "feed": f"/rt/{RT_KETUA}/kabar",
    }
    for label, path in pages.items():
        phone.goto(demo.base + path)
        assert phone.get_by_text(name).first.is_visible(), label
        assert phone.locator("main img").count() == 0, label
    phone.goto(f"{demo.base}/rt/{RT_KETUA}?q=img")
    phone.locator("#results a.resident", has_text=name).first.click()
    assert phone.get_by_role("heading", level=1).inner_text() == name
    assert phone.dialogs == []  # no script of the name ran


def test_health_worker_downloads_the_lansia_csv(phone: Any, demo: DemoServer) -> None:
    login_as(phone, demo, "kader-damai")
    phone.locator(".tiles a", has_text="Daftar lansia").click()
    phone.locator("#filters").wait_for()
    assert_fits_screen(phone)
    shot(phone, "health-worker-lansia")
    with phone.expect_download() as info:
        phone.locator("#download-csv").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["nik", "name", "sex", "birth_date", "age", "rt", "address"]
    api = demo.api("GET", f"/api/v1/lansia?area={KELURAHAN_DAMAI}", "kader-damai").json()["items"]
    assert len(rows) - 1 == len(api) > 0
    assert {r[0] for r in rows[1:]} == {i["nik"] for i in api}
    assert all(int(r[4]) >= 60 for r in rows[1:])


@pytest.fixture
def lansia_off(demo: DemoServer) -> Any:
    answer = demo.api(
        "PUT",
        f"/api/v1/cities/{CITY}/plugins/lansia",
        "admin-balikpapan",
        json={"enabled": False},
    )
    assert answer.status_code == 200, answer.text
    yield
    demo.api(
        "PUT",
        f"/api/v1/cities/{CITY}/plugins/lansia",
        "admin-balikpapan",
        json={"enabled": True, "config": {"min_age": 60}},
    )


def test_admin_switches_a_plugin_on_and_its_menu_item_appears(
    phone: Any, demo: DemoServer, lansia_off: Any
) -> None:
    login_as(phone, demo, "admin-balikpapan")
    menu = phone.get_by_role("navigation")
    assert phone.locator(".tiles a", has_text="Daftar lansia").count() == 0
    phone.goto(f"{demo.base}/admin/plugin")
    section = phone.locator("section#plugin-lansia")
    enabled = section.get_by_label("Aktif (enabled)")
    assert not enabled.is_checked()
    enabled.check()
    section.get_by_role("button", name="Simpan (save)").click()
    phone.wait_for_load_state()
    assert phone.locator("section#plugin-lansia").get_by_label("Aktif (enabled)").is_checked()
    assert_fits_screen(phone)
    shot(phone, "admin-plugins")
    phone.get_by_text("Menu", exact=True).click()
    assert menu.get_by_role("link", name="Daftar lansia").is_visible()
    phone.get_by_role("link", name="Daftar lansia").click()
    phone.locator("#filters").wait_for()


def test_the_ward_book_works_without_javascript(browser: Any, demo: DemoServer) -> None:
    """Plain forms and links: an old phone, or a script that did not arrive."""
    context = browser.new_context(viewport={"width": 360, "height": 800}, java_script_enabled=False)
    try:
        page = context.new_page()
        login_as(page, demo, "ketua-rt-005")
        page.get_by_text("Menu", exact=True).click()  # a <details>: opens without script
        page.get_by_role("navigation").get_by_role("link", name="Buku induk RT 005/RW 003").click()
        resident = _active_residents(demo)[0]
        page.get_by_label("Cari nama atau NIK").fill(resident["name"].split()[0].lower())
        page.get_by_role("button", name="Cari").click()
        page.locator("#results a.resident", has_text=resident["name"]).first.click()
        assert page.get_by_role("heading", level=1).inner_text() == resident["name"]
        assert_fits_screen(page)
    finally:
        context.close()
