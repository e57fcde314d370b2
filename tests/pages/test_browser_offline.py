"""The ward book on a cheap phone over a slow network: a small first load, and the
last ward book seen stays readable offline, clearly marked as a saved copy; logging
out forgets it."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import DemoServer, first_load, login_as, shot
from playwright.sync_api import Error as PlaywrightError

from rtbook.demo import RT_KETUA

FIRST_LOAD_LIMIT = 60 * 1024  # issue 7: HTML + CSS + JS, compressed


def test_ward_book_first_load_is_at_most_60_kb(browser: Any, demo: DemoServer) -> None:
    transfers = first_load(browser, demo, "ketua-rt-005", f"/rt/{RT_KETUA}")
    kinds = {t.kind for t in transfers}
    assert {"document", "stylesheet", "script"} <= kinds
    document = next(t for t in transfers if t.kind == "document")
    assert document.wire < document.size  # sent compressed
    total = sum(t.wire for t in transfers)
    assert total <= FIRST_LOAD_LIMIT, [(t.url, t.wire) for t in transfers]


def _through_service_worker(page: Any) -> None:
    """Reload ``page`` once its service worker is active, so the load goes through it."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")


def test_last_ward_book_is_readable_offline_and_forgotten_at_logout(
    phone_context: Any, phone: Any, demo: DemoServer
) -> None:
    login_as(phone, demo, "ketua-rt-005")
    ward_book = f"{demo.base}/rt/{RT_KETUA}"
    phone.goto(ward_book)
    _through_service_worker(phone)  # which keeps a copy of the ward book
    names = phone.locator("#results a.resident").all_inner_texts()
    assert names
    banner = phone.locator("#offline-banner")
    assert not banner.is_visible()

    phone_context.set_offline(True)
    phone.reload()
    assert banner.is_visible()
    assert "luring" in banner.inner_text()
    assert phone.locator("#results a.resident").all_inner_texts() == names
    shot(phone, "rt-head-ward-book-offline")

    phone_context.set_offline(False)
    phone.goto(demo.base + "/")
    phone.get_by_text("Menu", exact=True).click()
    phone.get_by_role("button", name="Keluar").click()
    phone.wait_for_url(demo.base + "/login")
    assert phone.evaluate("caches.keys()") == []
    assert phone.evaluate("navigator.serviceWorker.getRegistrations()") == []

    phone_context.set_offline(True)
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        phone.goto(ward_book)  # no saved copy answers: the browser's own error
    phone_context.set_offline(False)
