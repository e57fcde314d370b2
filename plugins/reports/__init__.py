"""rtbook's built-in ``reports`` plugin: the monthly population books (Buku
Administrasi Penduduk, Permendagri 47/2016) of an RT, RW and kelurahan (docs/reports.md).

- ``GET /api/v1/reports/rekapitulasi``: B.3 Buku Rekapitulasi Jumlah Penduduk
  (CONTRACT.md, Reports), JSON or XLSX;
- ``GET /api/v1/reports/induk``: B.1 Buku Induk Penduduk, JSON or XLSX;
- ``GET /api/v1/reports/mutasi``: B.2 Buku Mutasi Penduduk, JSON or XLSX;
- phone pages (rtbook_reports.pages): ``GET /laporan`` (B.3, the population pyramid,
  downloads), ``/laporan/unduh`` (XLSX), ``/laporan/cetak`` (B.1/B.2 on A4 landscape);
- early each month (``rtbook_daily``, the first worker pass of days 1 to 7): last
  month's B.3 to every RT head through the notification hub, a short text and, by
  e-mail, the XLSX attached (rtbook_reports.monthly).

Everything is computed from the ledger's history (rtbook_reports.history) for any
past month; the plugin keeps no tables of its own and takes no config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rtbook
from rtbook.core.auth import Principal
from rtbook.core.plugins import MenuItem

MENU_LABEL = "Laporan bulanan (monthly books)"


@rtbook.hookimpl
def rtbook_plugin_info() -> dict[str, str]:
    return {
        "name": "reports",
        "description": "Buku administrasi penduduk bulanan (monthly population books)",
    }


@rtbook.hookimpl
def rtbook_api_routes() -> list[Any]:
    from rtbook_reports.routes import handlers

    return handlers()


@rtbook.hookimpl
def rtbook_page_routes() -> list[Any]:
    from rtbook_reports.pages import page_handlers

    return page_handlers()


@rtbook.hookimpl
def rtbook_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@rtbook.hookimpl
def rtbook_menu_items(city: str, principal: Principal) -> list[MenuItem]:
    """For RT heads, the city's admins and admins (who read the books). A reader
    without a city of their own (admin) gets a link naming the menu's city (the gate
    finds the city there)."""
    from rtbook_reports.pages import MENU_ROLES

    if principal.role not in MENU_ROLES:
        return []
    href = "/laporan" if principal.city_code == city else f"/laporan?city={city}"
    return [MenuItem(MENU_LABEL, href, order=35)]


@rtbook.hookimpl
async def rtbook_daily(city: str, db: Any, notifier: Any, day: Any) -> None:
    from rtbook_reports.monthly import monthly_send

    await monthly_send(city, db, notifier, day)
