"""What every phone page shares: the logged-in frame (menu, language, offline
banner) and how a page handler renders into it.

A page handler is guarded by ``require_login`` and renders with :func:`render_page`::

    @get("/rt/{rt:str}", guards=[require_login], media_type=MediaType.HTML,
         include_in_schema=False, cache_control=None)
    async def ward_book(request: Request, rt: str) -> Response[str]:
        ...
        return await render_page(request, "pages/ward_book.html", title="Buku induk", ...)

Templates extend ``base.html`` and fill ``{% block content %}``. What users read is
Bahasa Indonesia; the English gloss sits in ``<span class="en">`` and shows when the
reader chose English (POST /bahasa), so a 360 px screen is not filled twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection
from rtbook.core.plugins import MenuItem
from rtbook.core.plugins import settings as plugin_settings
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.web.errors import record_refusal, refused_scope
from rtbook.web.login import LoginRequired, page_session, render

LANG_COOKIE = "rtbook_lang"
LANGUAGES = ("id", "en")


def registry_of(connection: ASGIConnection[Any, Any, Any, Any]) -> PluginRegistry:
    registry = connection.app.state.get("plugins")
    if registry is None:
        registry = PluginRegistry.load()
        connection.app.state.plugins = registry
    return registry


def language_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """ "en" when the reader chose English, else "id"."""
    return "en" if connection.cookies.get(LANG_COOKIE) == "en" else "id"


def rt_short(rt_code: str) -> str:
    """ "64.71.06.1005-003-005" -> "RT 005/RW 003"."""
    parts = rt_code.split("-")
    if len(parts) != 3:
        return rt_code
    return f"RT {parts[2]}/RW {parts[1]}"


def core_menu(principal: Principal) -> list[MenuItem]:
    """rtbook's own menu entries for a role (plugins add theirs, rtbook_menu_items)."""
    items: list[MenuItem] = []
    for rt in sorted(principal.rt_codes):
        short = rt_short(rt)
        items.append(MenuItem(f"Buku induk {short} (ward book)", f"/rt/{rt}", order=10))
        items.append(MenuItem(f"Kabar warga {short} (feed)", f"/rt/{rt}/kabar", order=11))
    if principal.role in (Role.ADMIN, Role.CITY_ADMIN):
        items += [
            MenuItem("RT (neighbourhoods)", "/admin/rt", order=50),
            MenuItem("Pengguna (users)", "/admin/pengguna", order=51),
            MenuItem("Plugin kota (city plugins)", "/admin/plugin", order=52),
            MenuItem("Pengiriman pesan (deliveries)", "/admin/pengiriman", order=53),
            MenuItem("Kejadian gagal (dead letters)", "/admin/dead-letters", order=54),
            MenuItem("Jejak audit (audit trail)", "/admin/audit", order=55),
            MenuItem("Laporan akses warga (access report)", "/admin/akses", order=56),
        ]
    items.append(
        MenuItem("Pengaturan pemberitahuan (notification settings)", "/pengaturan", order=90)
    )
    return items


async def menu_city(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal
) -> str | None:
    """The city whose plugins make up the menu: the user's own, else (admin) the
    ``city`` query parameter, else the first city."""
    if principal.city_code:
        return principal.city_code
    for code in principal.rt_codes:
        return code[:5]
    for code in principal.area_codes:
        return code[:5]
    asked = connection.query_params.get("city")
    if asked:
        return asked

    async def first(conn: Connection) -> str | None:
        return await conn.fetchval("SELECT code FROM city ORDER BY code LIMIT 1")

    return await connection.app.state.db.read(first)


async def menu_for(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal
) -> list[MenuItem]:
    """rtbook's entries for the role, then those of the plugins enabled in the city."""
    items = core_menu(principal)
    city = await menu_city(connection, principal)
    if city is not None:

        async def unit(conn: Connection) -> list[str]:
            return list(await plugin_settings.enabled_plugins(conn, city))

        enabled = await connection.app.state.db.read(unit)
        registry = registry_of(connection)
        for _, answer in registry.collect(
            "rtbook_menu_items", names=enabled, city=city, principal=principal
        ):
            items.extend(item for item in answer if isinstance(item, MenuItem))
    return sorted(items, key=lambda item: (item.order, item.label))


async def render_page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    title: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
    **context: Any,
) -> Response[str]:
    """A logged-in page: ``template`` (rtbook's or a plugin's) inside the frame, with
    the menu of the user's role and city. ``notice``: a one-line confirmation shown
    on top (e.g. "Tersimpan (saved)"). Use under the ``require_login`` guard."""
    session = await page_session(request)
    if session is None:  # the guard was forgotten: never render personal data anonymously
        raise LoginRequired(request.url.path)
    menu = await menu_for(request, session.principal)
    path = request.url.path
    active = max(
        (item.href for item in menu if path == item.href or path.startswith(item.href + "/")),
        key=len,
        default=None,
    )
    return render(
        template,
        status_code=status_code,
        headers=headers,
        session=session,
        template_dirs=registry_of(request).template_dirs(),
        title=title,
        menu=menu,
        active=active,
        notice=notice,
        lang=language_of(request),
        **context,
    )


async def render_error(
    request: Request[Any, Any, Any], status_code: int, message: str, *, back: str = "/"
) -> Response[str]:
    """An error inside the frame: 400/422 for bad input, 403 outside the user's scope
    (recorded in the audit trail as ``auth.forbidden``, like the API's), 404 for what
    does not exist. ``message``: one line, Bahasa Indonesia first."""
    if status_code == 403:
        session = await page_session(request)
        principal = None if session is None else session.principal
        await record_refusal(
            request.app.state.db,
            principal,
            request.method,
            request.url.path,
            refused_scope(request, principal),
        )
    titles = {
        400: "Permintaan salah (bad request)",
        403: "Ditolak (forbidden)",
        404: "Tidak ditemukan (not found)",
        409: "Bentrok (conflict)",
        422: "Isian tidak sah (invalid input)",
    }
    return await render_page(
        request,
        "error.html",
        title=titles.get(status_code, str(status_code)),
        status_code=status_code,
        status=status_code,
        message=message,
        back=back,
    )
