"""Plugins per city over HTTP, and the gate in front of plugins' own routes.

- ``GET /api/v1/cities/{city}/plugins`` and ``PUT /api/v1/cities/{city}/plugins/{name}``
  (CONTRACT.md, Plugins per city): the city's city_admin and admins; others 403;
  unknown city or plugin 404; a config the plugin refuses 422 with field details.
  Secrets never appear in an answer (``***``), in a 422 detail or in a log line.
- :func:`plugin_api_handlers` / :func:`plugin_page_handlers` mount what plugins
  return from ``rtbook_api_routes`` / ``rtbook_page_routes``, each plugin's behind a
  guard that answers 404 where the plugin is not enabled. The city of a request is,
  in this order: the ``city`` path parameter, the ``city`` query parameter, the city
  part (first 5 characters) of an ``rt`` or ``area`` path or query parameter, and
  else the caller's own city (on a page: the logged-in user's). No city found: 404.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, TypeAlias

import msgspec
from litestar import Controller, Router, get, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody, Parameter
from litestar.types import Guard

from rtbook.core.auth import Principal
from rtbook.core.db import Connection, Database
from rtbook.core.plugins import settings as plugin_settings
from rtbook.core.plugins.config import ConfigRejected
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import ApiError, ErrorDetail, error_responses
from rtbook.web.login import PageNotFound, login_required, page_session

CITY_CODE = re.compile(r"[0-9]{2}\.[0-9]{2}")
CITY_PATH = Parameter(description="Kode kota (city code), mis. 64.71")
NAME_PATH = Parameter(description="Nama plugin (plugin name), mis. whatsapp")

Plugins: TypeAlias = NamedDependency[PluginRegistry]


def provide_plugins(state: State) -> PluginRegistry:
    """The app's plugin registry, loaded from the environment on first use (a test or
    an embedding program may set ``app.state.plugins`` itself)."""
    registry = state.get("plugins")
    if registry is None:
        registry = PluginRegistry.load()
        state.plugins = registry
    return registry


class PluginItem(msgspec.Struct):
    name: str
    enabled: bool
    version: str
    description: str
    config: dict[str, Any]  # secrets shown as "***"


class PluginList(msgspec.Struct):
    items: list[PluginItem]


class PluginUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``config`` left out or null keeps the stored config; a secret sent as ``***``
    or left out keeps its stored value."""

    enabled: bool
    config: dict[str, Any] | None = None


def _authorize(principal: Principal, city: str) -> None:
    if not principal.can_manage_city(city):
        raise ApiError(403)


class PluginSettingsController(Controller):
    path = "/cities/{city:str}/plugins"
    tags: ClassVar[list[str]] = ["plugin per kota (plugins per city)"]
    dependencies: ClassVar[dict[str, Provide]] = {
        "plugins": Provide(provide_plugins, sync_to_thread=False)
    }

    @get(
        "/",
        summary="Plugin di satu kota (plugins of a city)",
        description=(
            "Semua plugin yang terpasang, aktif atau tidak di kota ini, dengan konfigurasinya; "
            'rahasia ditampilkan sebagai "***". (Installed plugins, whether enabled in the '
            'city, and their config with secrets as "***".)'
        ),
        responses=error_responses(401, 403, 404),
    )
    async def list_plugins(
        self, db: DB, principal: Caller, plugins: Plugins, city: Annotated[str, CITY_PATH]
    ) -> PluginList:
        _authorize(principal, city)

        async def unit(conn: Connection) -> list[dict[str, Any]]:
            return await plugin_settings.list_plugins(conn, plugins, city)

        items = await db.read(unit)
        return PluginList(items=[msgspec.convert(i, PluginItem) for i in items])

    @put(
        "/{name:str}",
        status_code=200,
        summary="Aktifkan/atur plugin di satu kota (enable or configure a plugin)",
        description=(
            "`enabled` menyalakan atau mematikan plugin; `config` diperiksa dengan skema "
            'plugin (422 dengan rincian). Rahasia yang dikirim "***" atau tidak dikirim tetap '
            "seperti tersimpan. Plugin yang baru diaktifkan mulai dari akhir umpan kota. "
            "(Enable/disable and configure; 422 with details for a refused config; a secret "
            'sent as "***" or left out keeps its value; a newly enabled plugin starts at '
            "the end of the city's feed.)"
        ),
        responses=error_responses(400, 401, 403, 404, 422),
    )
    async def update_plugin(
        self,
        db: DB,
        principal: Caller,
        plugins: Plugins,
        city: Annotated[str, CITY_PATH],
        name: Annotated[str, NAME_PATH],
        data: JSONBody[PluginUpdate],
    ) -> PluginItem:
        _authorize(principal, city)

        async def unit(conn: Connection) -> dict[str, Any]:
            return await plugin_settings.set_plugin(
                conn,
                plugins,
                city,
                name,
                enabled=data.enabled,
                config=data.config,
                user_id=principal.user_id,
            )

        try:
            item = await db.write(unit)
        except ConfigRejected as exc:  # its details never carry a secret's value
            raise ApiError(
                422,
                f"konfigurasi plugin {name} ditolak (config rejected)",
                [ErrorDetail(d["field"], d["message"] or "") for d in exc.details],
            ) from None
        return msgspec.convert(item, PluginItem)


# -- plugins' own routes ---------------------------------------------------------------


def _code_city(code: str | None) -> str | None:
    if code and CITY_CODE.fullmatch(code[:5]) and (len(code) == 5 or code[5] in ".-"):
        return code[:5]
    return None


def request_city(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The city a request to a plugin route is about (the rule in the module doc)."""
    path, query = connection.path_params, connection.query_params
    for value in (path.get("city"), query.get("city")):
        if value is not None:
            return value if CITY_CODE.fullmatch(str(value)) else None
    for key in ("rt", "area"):
        for value in (path.get(key), query.get(key)):
            if value is not None:
                return _code_city(str(value))
    user = connection.scope.get("user")
    if isinstance(user, Principal):
        return user.city_code
    return None


def plugin_enabled_guard(name: str) -> Guard:
    """404 unless plugin ``name`` is enabled in the request's city (read per request,
    so enabling or disabling takes effect at once)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        page = not connection.url.path.startswith("/api/")
        if page:
            await _page_gate(connection, name)
            return
        city = request_city(connection)
        if city is None or not await _enabled(connection, city, name):
            raise ApiError(404)

    return guard


async def _page_gate(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> None:
    """A plugin's page: without a session, the login page first (whatever the city);
    then, as for the API, the plugin must be on in the request's city (on a page
    without a city in its address, the user's), else an HTML 404 page."""
    active = await page_session(connection)
    if active is None:
        raise login_required(connection)
    city = request_city(connection) or active.principal.city_code
    if city is None or not await _enabled(connection, city, name):
        raise PageNotFound()


async def _enabled(connection: ASGIConnection[Any, Any, Any, Any], city: str, name: str) -> bool:
    db: Database = connection.app.state.db

    async def unit(conn: Connection) -> bool:
        return await plugin_settings.is_enabled(conn, city, name)

    return await db.read(unit)


def _gated(registry: PluginRegistry, hook: str) -> list[Router]:
    routers = []
    for name, handlers in registry.collect(hook):
        if not isinstance(handlers, Sequence) or not handlers:
            continue
        routers.append(
            Router(
                path="/",
                route_handlers=list(handlers),
                guards=[plugin_enabled_guard(name)],
                tags=[f"plugin {name}"],
            )
        )
    return routers


def plugin_api_handlers(registry: PluginRegistry) -> list[Router]:
    """Plugins' ``rtbook_api_routes``, gated per city: pass them to
    ``create_app(extra_api_handlers=...)`` (mounted under /api/v1)."""
    return _gated(registry, "rtbook_api_routes")


def plugin_page_handlers(registry: PluginRegistry) -> list[Router]:
    """Plugins' ``rtbook_page_routes``, gated per city: ``create_app(extra_handlers=...)``."""
    return _gated(registry, "rtbook_page_routes")


API_HANDLERS = (PluginSettingsController,)
