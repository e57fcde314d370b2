"""Fixtures of the phone-page tests: one ``rtbook demo`` process for the session and a
Chromium page at 360 x 800 per test (tests/pages/browser_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, PHONE, DemoServer, demo_server


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, regions_file: Path) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("demo"), regions_file) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: Playwright's sync API runs
    an event loop on this thread while it is open, and every later test that calls
    asyncio.run() would fail."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: scripts/setup-env test installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone_context(browser: Any) -> Iterator[Any]:
    """A fresh phone: empty cache and cookies, 360 x 800, Bahasa Indonesia."""
    context = browser.new_context(
        viewport=PHONE,
        screen=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="id-ID",
        timezone_id="Asia/Makassar",
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def phone(phone_context: Any) -> Any:
    page = phone_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # a script that ran would have opened one
    return page
