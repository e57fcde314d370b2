"""rtbook's built-in ``lansia`` plugin: elderly (lanjut usia) lists and vaccine doses
for health workers and RT heads (CONTRACT.md, Lansia lists; docs/lansia.md).

- ``GET /api/v1/lansia``: the list of an area on a date, JSON, CSV or XLSX, streamed;
  every list pulled is written to the audit trail (rtbook.core.audit).
- ``POST /api/v1/lansia/doses``, ``GET /api/v1/lansia/residents/{nik}/doses``.
- Its own table ``lansia_dose`` (Piccolo app ``rtbook_lansia.piccolo_app``).
- Phone pages (rtbook_lansia.pages): ``GET /lansia`` (the list, filters, CSV/XLSX
  downloads) and ``/lansia/warga/{rt}/{ref}`` (a resident's doses, record a dose);
  templates ``lansia/*.html``; a menu entry for health workers, RT heads, city admins
  and admins.

Config per city: ``{"min_age": 60}`` (rtbook_lansia.config.LansiaConfig).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import rtbook
from rtbook.core.auth import Role
from rtbook.core.plugins import MenuItem
from rtbook_lansia.config import LansiaConfig

if TYPE_CHECKING:
    from rtbook.core.auth import Principal

MENU_LABEL = "Daftar lansia (elderly list)"
MENU_ROLES = (Role.HEALTH_WORKER, Role.RT_HEAD, Role.CITY_ADMIN, Role.ADMIN)


@rtbook.hookimpl
def rtbook_plugin_info() -> dict[str, str]:
    return {
        "name": "lansia",
        "description": "Daftar lansia dan vaksinasinya untuk petugas kesehatan (elderly lists)",
    }


@rtbook.hookimpl
def rtbook_config_schema() -> type[LansiaConfig]:
    return LansiaConfig


@rtbook.hookimpl
def rtbook_api_routes() -> list[Any]:
    from rtbook_lansia.routes import handlers

    return handlers()


@rtbook.hookimpl
def rtbook_page_routes() -> list[Any]:
    from rtbook_lansia.pages import page_handlers

    return page_handlers()


@rtbook.hookimpl
def rtbook_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@rtbook.hookimpl
def rtbook_menu_items(city: str, principal: Principal) -> list[MenuItem]:
    """The list for those who may read one (CONTRACT.md, Lansia lists). A reader with
    no city of their own (admin) gets a link naming the menu's city (for the gate)."""
    if principal.role not in MENU_ROLES:
        return []
    href = "/lansia" if principal.city_code == city else f"/lansia?city={city}"
    return [MenuItem(MENU_LABEL, href, order=30)]


@rtbook.hookimpl
def rtbook_piccolo_apps() -> list[str]:
    return ["rtbook_lansia.piccolo_app"]


@rtbook.hookimpl
async def rtbook_service_completed(
    event: dict[str, Any], city: str, config: dict[str, Any], db: Any, notifier: Any
) -> None:
    from rtbook_lansia.reactions import on_service_completed

    await on_service_completed(event, city, config, db, notifier)


@rtbook.hookimpl
async def rtbook_daily(city: str, config: dict[str, Any], db: Any, notifier: Any, day: Any) -> None:
    from rtbook_lansia.reactions import weekly_digest

    await weekly_digest(city, config, db, notifier, day)
