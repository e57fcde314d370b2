"""Every page of every role on a 360 x 800 phone: it opens, nothing is wider than the
screen, every field has a label, every button and row is big enough for a thumb, and
text contrast passes WCAG AA. A screenshot of each is saved for review."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import DemoServer, assert_fits_screen, login_as, shot, usability_problems

from rtbook.demo import KELURAHAN_DAMAI, RT_KETUA

PAGES = {
    "ketua-rt-005": [
        "/",
        f"/rt/{RT_KETUA}",
        f"/rt/{RT_KETUA}/kabar",
        "/pengaturan",
        f"/lansia?rt={RT_KETUA}",
        "/laporan",
        f"/laporan/cetak?buku=induk&area={RT_KETUA}",
    ],
    "kader-damai": ["/", f"/lansia?area={KELURAHAN_DAMAI}", "/pengaturan"],
    "admin-balikpapan": [
        "/",
        "/admin/rt",
        "/admin/pengguna",
        "/admin/plugin",
        "/admin/pengiriman",
        "/admin/dead-letters",
        "/admin/audit",
        "/admin/akses",
        f"/rt/{RT_KETUA}",
        "/laporan?area=64.71.06.1005",
    ],
}


def _name(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


@pytest.mark.parametrize("username", sorted(PAGES))
def test_every_page_fits_a_phone_and_is_usable(phone: Any, demo: DemoServer, username: str) -> None:
    login_as(phone, demo, username)
    problems: dict[str, list[str]] = {}
    for path in PAGES[username]:
        response = phone.goto(demo.base + path)
        assert response is not None and response.status == 200, path
        assert_fits_screen(phone)
        found = usability_problems(phone)
        if found:
            problems[path] = found
        shot(phone, f"page-{username}-{_name(path)}")
    if username == "ketua-rt-005":  # a resident's page, reached as a person would
        phone.goto(f"{demo.base}/rt/{RT_KETUA}")
        phone.locator("#results a.resident").first.click()
        assert_fits_screen(phone)
        if found := usability_problems(phone):
            problems["resident"] = found
        shot(phone, f"page-{username}-resident")
    assert problems == {}
    assert phone.dialogs == []


def test_the_usability_check_sees_what_it_looks_for(phone: Any) -> None:
    """The check above can fail: a page with each fault is caught."""
    phone.set_content(
        "<html><body>"
        '<input type="text" name="q">'
        '<label for="ok">Nama</label><input id="ok" type="text">'
        '<p style="color:#aaa;background:#fff">pucat (pale)</p>'
        '<button style="height:20px;padding:0">kecil</button>'
        "</body></html>"
    )
    problems = usability_problems(phone)
    assert 'no label: <input type="text" name="q">' in problems
    assert not any(p.startswith("no label") and 'id="ok"' in p for p in problems)
    assert any(p.startswith("small target") and "kecil" in p for p in problems)
    assert any(p.startswith("contrast 2.32 < 4.5") and "pucat" in p for p in problems)
