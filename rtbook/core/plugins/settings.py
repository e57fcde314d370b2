"""Plugins per city: installed is not enabled (CONTRACT.md, Plugins per city).

Units of work for ``db.read`` / ``db.write``. A plugin's row in ``plugin_setting``
holds whether it runs in the city, its validated config (secrets included; every read
masks them) and ``start_seq``: the city's ``event_seq`` when it was last enabled, so a
plugin enabled later starts at the end of the feed instead of the city's history.
Nothing is cached: the worker and the web layer read the rows each time, so a change
takes effect without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from rtbook.core import audit
from rtbook.core.auth import load_principal
from rtbook.core.db import Connection
from rtbook.core.errors import NotFound
from rtbook.core.plugins.config import keep_secrets
from rtbook.core.plugins.registry import PluginRegistry


@dataclass(frozen=True, slots=True)
class PluginState:
    """An enabled plugin in one city, as the dispatcher needs it."""

    config: dict[str, Any]  # validated, secrets included: never show it as is
    start_seq: int  # deliver events with seq > start_seq


def _decode(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = msgspec.json.decode(text)
    return value if isinstance(value, dict) else {}


def _city_not_found(city_code: str) -> NotFound:
    return NotFound(f"kota {city_code} tidak ditemukan (city not found)")


async def enabled_plugins(conn: Connection, city_code: str) -> dict[str, PluginState]:
    """name -> state of the plugins enabled in the city (installed or not: callers
    skip names the registry does not know)."""
    rows = await conn.fetch(
        "SELECT plugin, config, start_seq FROM plugin_setting"
        " WHERE city_code = $1 AND enabled = $2 ORDER BY plugin",
        city_code,
        True,
    )
    return {
        r["plugin"]: PluginState(config=_decode(r["config"]), start_seq=int(r["start_seq"]))
        for r in rows
    }


async def all_enabled_plugins(conn: Connection) -> dict[str, dict[str, PluginState]]:
    """city -> name -> state for every city, in one query (for a dispatcher that
    polls all cities at once)."""
    rows = await conn.fetch(
        "SELECT city_code, plugin, config, start_seq FROM plugin_setting"
        " WHERE enabled = $1 ORDER BY city_code, plugin",
        True,
    )
    found: dict[str, dict[str, PluginState]] = {}
    for r in rows:
        found.setdefault(r["city_code"], {})[r["plugin"]] = PluginState(
            config=_decode(r["config"]), start_seq=int(r["start_seq"])
        )
    return found


async def is_enabled(conn: Connection, city_code: str, name: str) -> bool:
    """One indexed lookup: is the plugin enabled in the city (route gating)?"""
    value = await conn.fetchval(
        "SELECT 1 FROM plugin_setting WHERE city_code = $1 AND plugin = $2 AND enabled = $3",
        city_code,
        name,
        True,
    )
    return value is not None


NOT_INSTALLED = "tidak terpasang (not installed)"


def _item(
    registry: PluginRegistry, name: str, enabled: bool, config: dict[str, Any]
) -> dict[str, Any]:
    if name not in registry:
        # which fields are secret is unknown without the plugin: show no config at all
        return {
            "name": name,
            "enabled": enabled,
            "version": "",
            "description": NOT_INSTALLED,
            "config": {},
        }
    info = registry.info(name)
    return {
        "name": name,
        "enabled": enabled,
        "version": info.version,
        "description": info.description,
        "config": registry.mask_config(name, config),
    }


async def list_plugins(
    conn: Connection, registry: PluginRegistry, city_code: str
) -> list[dict[str, Any]]:
    """Every installed plugin with its state in the city: items {"name", "enabled",
    "version", "description", "config"} with secrets as ``***``; then any plugin
    still enabled in the city but no longer installed (so that it can be disabled),
    with an empty config."""
    if await conn.fetchval("SELECT 1 FROM city WHERE code = $1", city_code) is None:
        raise _city_not_found(city_code)
    rows = await conn.fetch(
        "SELECT plugin, enabled, config FROM plugin_setting WHERE city_code = $1", city_code
    )
    stored = {r["plugin"]: (bool(r["enabled"]), _decode(r["config"])) for r in rows}
    items = [_item(registry, name, *stored.get(name, (False, {}))) for name in registry.names()]
    gone = sorted(n for n, (enabled, _) in stored.items() if enabled and n not in registry)
    return items + [_item(registry, name, True, {}) for name in gone]


async def set_plugin(
    conn: Connection,
    registry: PluginRegistry,
    city_code: str,
    name: str,
    *,
    enabled: bool,
    config: Any | None,
    user_id: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Enable or disable a plugin in a city and/or change its config; the list item
    as it now reads (secrets masked). Run it inside ``db.write``.

    - unknown plugin or city: NotFound; a config the schema refuses: ConfigRejected;
      a plugin that is no longer installed can still be disabled (nothing else);
    - ``config`` None keeps the stored config (checked again when enabling);
    - a secret sent as ``"***"`` or left out keeps its stored value;
    - from disabled (or never set) to enabled: ``start_seq`` = the city's event_seq,
      read under the city row's lock so no event committing meanwhile is skipped
      or delivered twice.

    A change writes a ``plugin.config`` audit row (by ``user_id``, or an internal
    caller) naming the config fields, never their values.
    """
    installed = name in registry
    if not installed and (enabled or config is not None):
        registry.info(name)  # NotFound, with the reason when it failed to load
    # A no-op update locks the city row (portable: no FOR UPDATE on SQLite; there the
    # write transaction already serializes): ingestion takes the same lock to number
    # events, so event_seq read here is exactly the last number handed out.
    event_seq = await conn.fetchval(
        "UPDATE city SET event_seq = event_seq WHERE code = $1 RETURNING event_seq", city_code
    )
    if event_seq is None:
        raise _city_not_found(city_code)
    row = await conn.fetchrow(
        "SELECT enabled, config, start_seq FROM plugin_setting"
        " WHERE city_code = $1 AND plugin = $2",
        city_code,
        name,
    )
    if not installed:
        if row is None:
            registry.info(name)  # NotFound: nothing of that name to disable
        await conn.execute(
            "UPDATE plugin_setting SET enabled = $1, updated_at = $2, updated_by = $3"
            " WHERE city_code = $4 AND plugin = $5",
            False,
            now or datetime.now(UTC),
            user_id,
            city_code,
            name,
        )
        await _record_change(conn, user_id, city_code, name, enabled=False, fields=None)
        return _item(registry, name, False, {})
    was_enabled = bool(row["enabled"]) if row is not None else False
    stored = _decode(row["config"]) if row is not None else {}
    if config is None:
        new_config = registry.validate_config(name, stored) if enabled else stored
    else:
        schema = registry.schema(name)
        if schema is not None and isinstance(config, dict):
            config = keep_secrets(config, stored, schema.secret_fields, schema.tag_field)
        new_config = registry.validate_config(name, config)
    if row is None and not enabled and config is None:
        return _item(registry, name, False, {})  # nothing to disable
    if enabled and not was_enabled:
        start_seq = int(event_seq)
    else:
        start_seq = int(row["start_seq"]) if row is not None else 0
    await conn.execute(
        "INSERT INTO plugin_setting"
        " (city_code, plugin, enabled, config, start_seq, updated_at, updated_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (city_code, plugin) DO UPDATE SET enabled = excluded.enabled,"
        " config = excluded.config, start_seq = excluded.start_seq,"
        " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        city_code,
        name,
        enabled,
        msgspec.json.encode(new_config).decode(),
        start_seq,
        now or datetime.now(UTC),
        user_id,
    )
    fields = None if config is None else sorted(new_config)
    await _record_change(conn, user_id, city_code, name, enabled=enabled, fields=fields)
    return _item(registry, name, enabled, new_config)


async def _record_change(
    conn: Connection,
    user_id: int | None,
    city_code: str,
    name: str,
    *,
    enabled: bool,
    fields: list[str] | None,
) -> None:
    """The audit row of a settings change: the field names of a new config, no values
    (secrets never reach the trail)."""
    principal = None if user_id is None else await load_principal(conn, user_id)
    detail: dict[str, Any] = {"plugin": name, "enabled": enabled}
    if fields is not None:
        detail["config_fields"] = fields
    await audit.record(conn, principal, "plugin.config", name, city_code, detail)
