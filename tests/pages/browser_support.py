"""The phone-page tests' real parts: ``rtbook demo`` as its own process (the README's
main job, on SQLite in a temporary folder) and Debian's Chromium driven by Playwright
at 360 x 800, the size of a cheap Android phone.

Screenshots land in test-artifacts/screenshots/ (not committed) for a human to look at.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 800}
# as the machine's probe starts it: no sandbox as root, no calls to Google's hosts
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
_LOGIN = re.compile(r"^\s{2}(\S+)\s+(\w+)\s+kata sandi \(password\): (\S+)$")
_TOKEN = re.compile(r"^\s+token: (\S+)$")
_NIK = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


@dataclass
class DemoServer:
    """A running ``rtbook demo``: its address, logins and files."""

    base: str
    folder: Path
    log: Path
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def database(self) -> Path:
        return self.folder / "rtbook-demo.db"

    def api(self, method: str, path: str, username: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        headers.update(kwargs.pop("headers", {}))
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def full_niks_in_log(self) -> list[str]:
        """Full NIKs the server and worker logged after the banner (the banner's
        curl example names one on purpose)."""
        text = self.log_text()
        return _NIK.findall(text[text.index("Ctrl-C") :])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _parse_banner(text: str, server: DemoServer) -> None:
    last_user = None
    for line in text.splitlines():
        login = _LOGIN.match(line)
        if login:
            last_user = login.group(1)
            server.passwords[last_user] = login.group(3)
            continue
        token = _TOKEN.match(line)
        if token and last_user:
            server.tokens[last_user] = token.group(1)


@contextmanager
def demo_server(folder: Path, regions: Path) -> Iterator[DemoServer]:
    """``rtbook demo --port P`` in ``folder``, until the banner and /health answer;
    stopped with Ctrl-C at the end."""
    port = free_port()
    log = folder / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTBOOK_")}
    env["PYTHONUNBUFFERED"] = "1"
    rtbook = Path(sys.executable).with_name("rtbook")
    server = DemoServer(base=f"http://127.0.0.1:{port}", folder=folder, log=log)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(rtbook), "demo", "--port", str(port), "--regions", str(regions)],
            cwd=folder,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        server.process = process
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"rtbook demo exited:\n{server.log_text()}")
                if "Ctrl-C" in server.log_text() and _healthy(server.base):
                    break
                time.sleep(0.3)
            else:
                raise RuntimeError(f"rtbook demo did not start:\n{server.log_text()}")
            _parse_banner(server.log_text(), server)
            yield server
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def login_as(page: Any, server: DemoServer, username: str, next_path: str = "/") -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{server.base}/login?next={next_path}")
    page.get_by_label("Nama pengguna (username)").fill(username)
    page.get_by_label("Kata sandi (password)").fill(server.passwords[username])
    page.get_by_role("button", name="Masuk (log in)").click()
    page.wait_for_url(lambda url: "/login" not in url)


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def assert_fits_screen(page: Any) -> None:
    """Nothing on the page is wider than the phone: no sideways scrolling."""
    width = page_width(page)
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px screen"


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Transfer:
    url: str
    kind: str  # document, stylesheet, script, image, manifest, ...
    wire: int  # bytes on the wire: the (compressed) body
    size: int  # the body's size after decompression


def first_load(browser: Any, server: DemoServer, username: str | None, path: str) -> list[Transfer]:
    """What a phone with an empty cache downloads to show ``path`` (logged in as
    ``username`` first, in another context, so the page's own load starts cold)."""
    state = None
    if username is not None:
        login_context = browser.new_context(viewport=PHONE)
        login_as(login_context.new_page(), server, username)
        state = login_context.storage_state()
        login_context.close()
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, storage_state=state, service_workers="block"
    )
    page = context.new_page()
    finished: list[Any] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(server.base + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    transfers = []
    for request in finished:
        response = request.response()
        if response is None:
            continue
        sizes = request.sizes()
        transfers.append(
            Transfer(
                url=request.url,
                kind=request.resource_type,
                wire=int(sizes["responseBodySize"]),
                size=len(response.body()),
            )
        )
    context.close()
    return transfers


# What a person with a cheap phone, in the sun, with thick thumbs or a screen reader
# would trip over. Run in the page; answers a list of problems (empty: none).
_AUDIT_JS = """() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const name = (el) => (el.outerHTML || "").slice(0, 90);
  // every field has a label
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby");
    if (!labelled) problems.push("no label: " + name(el));
  }
  // buttons, fields and row links are big enough for a thumb (44 px, WCAG 2.5.5)
  const targets = "button, input:not([type=hidden]), select, textarea, summary, "
    + ".list a.row, .tiles a, .members a, .menu li a";
  for (const el of document.querySelectorAll(targets)) {
    if (!visible(el)) continue;
    const box = el.type === "checkbox" || el.type === "radio" ? el.closest("label") || el : el;
    const h = box.getBoundingClientRect().height;
    if (h < 43.5 && !el.matches("button.link")) {
      problems.push(`small target (${Math.round(h)}px): ` + name(el));
    }
  }
  // text contrast >= 4.5:1 (3:1 for large text), WCAG AA
  const rgb = (c) => { const m = c.match(/[0-9.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c;
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || seen.has(el) || !walker.currentNode.textContent.trim() || !visible(el)) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    const fg = lum(rgb(s.color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) problems.push(`contrast ${ratio.toFixed(2)} < ${need}: ` + name(el));
  }
  return problems;
}"""


def usability_problems(page: Any) -> list[str]:
    """Fields without labels, touch targets under 44 px, text under WCAG AA contrast."""
    return list(page.evaluate(_AUDIT_JS))
