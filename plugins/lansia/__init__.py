"""rtbook's built-in ``lansia`` plugin: elderly (lanjut usia) lists and vaccine doses
for health workers and RT heads (CONTRACT.md, Lansia lists; docs/lansia.md).

- ``GET /api/v1/lansia``: the list of an area on a date, JSON, CSV or XLSX, streamed;
  every list pulled is written to the audit trail (rtbook.core.audit).
- ``POST /api/v1/lansia/doses``, ``GET /api/v1/lansia/residents/{nik}/doses``.
- Its own table ``lansia_dose`` (Piccolo app ``rtbook_lansia.piccolo_app``).

Config per city: ``{"min_age": 60}`` (rtbook_lansia.config.LansiaConfig).
"""

from __future__ import annotations

from typing import Any

import rtbook
from rtbook_lansia.config import LansiaConfig


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
