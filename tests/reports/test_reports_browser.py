"""The reports pages in Chromium (Debian's, driven by Playwright) on a 360 x 800 phone:
the page with the pyramid fits the screen, and the printable B.1 prints on A4
landscape. The browser's requests are answered by the test app (a logged-in
TestClient), so the pages, the stylesheet and the CSP are rtbook's own."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import RT_A
from litestar.testing import TestClient
from reports_support import KELURAHAN, World, login

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pages"))
from browser_support import CHROMIUM, CHROMIUM_ARGS, PHONE, assert_fits_screen, shot

BASE = "http://rtbook.test"
A4_LANDSCAPE = (841.9, 595.3)  # points


@pytest.fixture
def phone() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: scripts/setup-env test installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(viewport=PHONE, screen=PHONE, is_mobile=True)
        yield context.new_page()
        browser.close()


def through(client: TestClient[Any], page: Any) -> None:
    """Answer the browser's requests to BASE with the app under test."""

    def answer(route: Any) -> None:
        request = route.request
        path = request.url[len(BASE) :]
        response = client.get(path, follow_redirects=False)
        route.fulfill(
            status=response.status_code,
            headers={k: v for k, v in response.headers.items() if k.lower() != "content-length"},
            body=response.content,
        )

    page.route(f"{BASE}/**", answer)


@pytest.mark.sqlite_only
def test_the_page_fits_a_phone_and_the_book_prints_on_a4_landscape(
    story: TestClient[Any], world: World, phone: Any
) -> None:
    login(story, "city_admin")
    through(story, phone)
    csp_errors: list[str] = []
    phone.on(
        "console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else None
    )
    phone.goto(f"{BASE}/laporan?area={KELURAHAN}&month=2026-09")
    box = phone.locator("#pyramid").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200
    assert phone.locator("#pyramid rect.pyr-l").first.evaluate(
        "e => getComputedStyle(e).fill"
    ) != phone.locator("#pyramid rect.pyr-p").first.evaluate("e => getComputedStyle(e).fill")
    assert_fits_screen(phone)
    shot(phone, "reports-kelurahan")

    phone.goto(f"{BASE}/laporan/cetak?buku=induk&area={RT_A}&month=2026-10")
    assert phone.locator("table#book tbody tr").count() >= 5
    pdf = phone.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    for width, height in boxes:
        assert abs(float(width) - A4_LANDSCAPE[0]) < 2 and abs(float(height) - A4_LANDSCAPE[1]) < 2
    assert csp_errors == []
