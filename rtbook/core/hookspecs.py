"""The hooks a plugin may implement (pluggy, project name ``rtbook``).

A plugin is a module (or any object) registered under the entry-point group
``rtbook``; it marks its implementations with ``rtbook.hookimpl`` and may take any
subset of a hook's arguments. docs/plugins.md describes every hook with an example,
and tests/plugins/test_hook_docs.py fails when a hook here has no section there.

Who calls what:

- the registry, once at load: ``rtbook_plugin_info``, ``rtbook_config_schema``;
- the worker, per feed event and per plugin enabled in the event's city:
  ``rtbook_service_completed`` (the stable hook of CONTRACT.md); once a city-local
  day per plugin enabled in a city: ``rtbook_daily``;
- the notification hub: ``rtbook_notification_channels``, ``rtbook_compose_message``;
- the web layer at start-up: ``rtbook_api_routes``, ``rtbook_page_routes``,
  ``rtbook_template_dirs``; per page: ``rtbook_menu_items`` (enabled plugins only);
- start-up: ``rtbook_piccolo_apps`` (the schema runner), ``rtbook_startup_check``
  (``rtbook plugins list``; ``PluginRegistry.startup_problems`` for any caller).

The registry calls hooks one plugin at a time (never ``pm.hook.x()`` across all
plugins), so a plugin that raises never hides another's answer. This module imports
nothing from the web layer: route hooks return objects that rtbook.web mounts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtbook import hookspec

if TYPE_CHECKING:
    from rtbook.core.auth import Principal
    from rtbook.core.db import Database
    from rtbook.core.notify.notices import Notifier
    from rtbook.core.plugins.api import ChannelSender, MenuItem, StartupSettings


@hookspec
def rtbook_plugin_info() -> Mapping[str, str] | Any:
    """The plugin's name, version and description: a dict or an object with those
    attributes (any of them may be missing; version and description then come from
    the distribution's metadata). The name must equal the entry-point name."""


@hookspec
def rtbook_config_schema() -> type | None:
    """The type that validates the plugin's per-city config: a ``msgspec.Struct``
    subclass, or a union of tagged Structs (one per variant). Secret fields are
    annotated ``rtbook.core.plugins.Secret``. None (or no implementation): the plugin
    accepts only ``{}``."""


@hookspec
def rtbook_service_completed(
    event: dict[str, Any],
    city: str,
    config: dict[str, Any],
    db: Database,
    notifier: Notifier,
) -> Any:
    """A completed registry service reached the feed of ``city``, where this plugin is
    enabled. ``event`` is the CloudEvent of CONTRACT.md as a dict, ``config`` the
    plugin's validated config for the city (secrets included), ``db`` the worker's
    rtbook.core.db.Database, ``notifier`` a rtbook.core.notify.notices.Notifier for
    ``city`` (``await notifier.notify([Notice(...)])`` sends users messages). An
    implementation names only the arguments it uses. May be ``async def``. Called
    once per event; an exception is retried later and, after the last attempt, parked
    as a dead letter. The dispatcher ignores the return value: return None."""


@hookspec
def rtbook_daily(
    city: str, config: dict[str, Any], db: Database, notifier: Notifier, day: date
) -> Any:
    """Once per city-local calendar ``day`` for each city where the plugin is enabled:
    the first time the worker runs after 06:00 city time that day. Same ``config``,
    ``db`` and ``notifier`` as ``rtbook_service_completed``. May be ``async def``. An
    exception is logged and the call is tried again at a later pass (the same day);
    it never blocks other plugins or cities. Return None."""


@hookspec
def rtbook_notification_channels() -> Mapping[str, ChannelSender]:
    """The channels this plugin can send over: channel name (e.g. ``"whatsapp"``,
    ``"email"``) -> a sender (see ``rtbook.core.plugins.ChannelSender``)."""


@hookspec(firstresult=True)
def rtbook_compose_message(
    event: dict[str, Any], recipient: Mapping[str, Any], channel: str, language: str
) -> str | None:
    """The text of the message about ``event`` for ``recipient`` over ``channel`` in
    ``language`` ("id" or "en"), or None to leave it to another plugin or the default
    (the event's summary). Never put a full NIK in a message."""


@hookspec
def rtbook_api_routes() -> Sequence[Any]:
    """Litestar route handlers (or controllers, routers) mounted under /api/v1 with
    bearer-token auth. Each answers 404 in a city where the plugin is not enabled
    (the web layer gates them; see docs/plugins.md for how the city is found)."""


@hookspec
def rtbook_page_routes() -> Sequence[Any]:
    """Litestar route handlers for phone pages, mounted at the site root and gated
    per city like the API routes."""


@hookspec
def rtbook_template_dirs() -> Sequence[str | Path]:
    """Folders of Jinja templates the plugin's pages render (searched after rtbook's
    own templates)."""


@hookspec
def rtbook_menu_items(city: str, principal: Principal) -> Sequence[MenuItem]:
    """Menu entries for ``principal`` in ``city`` (only asked of plugins enabled in
    that city). Return an empty list for callers who may not use the plugin."""


@hookspec
def rtbook_piccolo_apps() -> Sequence[str]:
    """Dotted paths of modules holding a Piccolo ``APP_CONFIG`` for the plugin's own
    tables and migrations (e.g. ``"rtbook_lansia.piccolo_app"``)."""


@hookspec
def rtbook_startup_check(settings: StartupSettings) -> Sequence[str]:
    """Problems that keep the plugin from working in this installation, one line each,
    Bahasa Indonesia first (e.g. a missing program or environment variable); empty
    when all is well. Shown by ``rtbook plugins list``."""
