"""The frame every page shares, in a real phone-sized Chromium against ``rtbook
demo``: logging in, the menu of each role, the language choice, logging out."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import DemoServer, assert_fits_screen, login_as, shot

ROLES = {
    "ketua-rt-005": "Buku induk RT 005/RW 003",
    "kader-damai": "Pengaturan pemberitahuan",
    "admin-balikpapan": "Plugin kota",
}


@pytest.mark.parametrize("username", sorted(ROLES))
def test_each_role_logs_in_to_its_home(phone: Any, demo: DemoServer, username: str) -> None:
    login_as(phone, demo, username)
    assert phone.url == demo.base + "/"
    assert phone.get_by_role("heading", level=1).inner_text() == f"Selamat datang, {username}"
    # the home offers the role's pages as tiles, the menu offers the same
    tile = phone.locator(".tiles a", has_text=ROLES[username])
    assert tile.count() == 1
    phone.get_by_text("Menu", exact=True).click()
    assert phone.get_by_role("navigation").get_by_text(ROLES[username]).is_visible()
    assert_fits_screen(phone)
    shot(phone, f"home-{username}")
    assert phone.dialogs == []


def test_english_glosses_are_a_choice(phone: Any, demo: DemoServer) -> None:
    login_as(phone, demo, "ketua-rt-005")
    gloss = phone.get_by_text("(home)")
    phone.get_by_text("Menu", exact=True).click()
    assert not gloss.is_visible()  # Bahasa Indonesia first
    phone.get_by_role("button", name="English").click()
    phone.get_by_text("Menu", exact=True).click()
    assert gloss.is_visible()
    phone.get_by_role("button", name="Bahasa Indonesia").click()
    phone.get_by_text("Menu", exact=True).click()
    assert not gloss.is_visible()


def test_logout_ends_the_session(phone: Any, demo: DemoServer) -> None:
    login_as(phone, demo, "ketua-rt-005")
    phone.get_by_text("Menu", exact=True).click()
    phone.get_by_role("button", name="Keluar").click()
    phone.wait_for_url(demo.base + "/login")
    phone.goto(demo.base + "/")
    assert phone.url == demo.base + "/login"  # the old page is gone with the session
