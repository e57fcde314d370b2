"""What a phone downloads to open each page the first time (empty cache): bytes on
the wire (gzip) and after decompression, per page and per kind of file, against a
real ``rtbook demo`` in Debian's Chromium at 360 x 800 (issue 7: the ward book's
first load <= 60 KB compressed, HTML + CSS + JS).

    .venv/bin/python bench/page_weight.py

Prints a table; nothing passes or fails here (tests/pages/test_browser_weight.py
holds the 60 KB line).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "pages"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, demo_server, first_load  # noqa: E402

from rtbook.demo import KELURAHAN_DAMAI, RT_KETUA, find_regions_file  # noqa: E402

PAGES = (
    ("login", None, "/login"),
    ("home (RT head)", "ketua-rt-005", "/"),
    ("ward book", "ketua-rt-005", f"/rt/{RT_KETUA}"),
    ("feed", "ketua-rt-005", f"/rt/{RT_KETUA}/kabar"),
    ("notification settings", "ketua-rt-005", "/pengaturan"),
    ("lansia list", "kader-damai", f"/lansia?area={KELURAHAN_DAMAI}"),
    ("reports: RT", "ketua-rt-005", "/laporan"),
    ("reports: kelurahan", "admin-balikpapan", f"/laporan?area={KELURAHAN_DAMAI}"),
    ("admin: plugins", "admin-balikpapan", "/admin/plugin"),
    ("admin: users", "admin-balikpapan", "/admin/pengguna"),
    ("admin: RTs", "admin-balikpapan", "/admin/rt"),
)


def main() -> int:
    from playwright.sync_api import sync_playwright

    regions = find_regions_file()
    if regions is None:
        print("region list not found (../shared/data/wilayah/wilayah.csv)", file=sys.stderr)
        return 1
    with (
        tempfile.TemporaryDirectory() as folder,
        demo_server(Path(folder), regions) as demo,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        print(
            f"{'page':<24} {'status':>6} {'HTML gz':>8} {'CSS gz':>7} {'JS gz':>7} "
            f"{'other':>6} {'total gz':>9} {'total raw':>10}"
        )
        for label, user, path in PAGES:
            transfers = first_load(browser, demo, user, path)
            by_kind: dict[str, int] = {}
            for t in transfers:
                by_kind[t.kind] = by_kind.get(t.kind, 0) + t.wire
            html = by_kind.pop("document", 0)
            css = by_kind.pop("stylesheet", 0)
            js = by_kind.pop("script", 0)
            other = sum(by_kind.values())
            total = html + css + js + other
            raw = sum(t.size for t in transfers)
            status = "ok" if transfers else "-"
            print(
                f"{label:<24} {status:>6} {html / 1024:>7.1f}K {css / 1024:>6.1f}K "
                f"{js / 1024:>6.1f}K {other / 1024:>5.1f}K {total / 1024:>8.1f}K "
                f"{raw / 1024:>9.1f}K"
            )
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
