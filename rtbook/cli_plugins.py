"""``rtbook plugins list | enable | disable`` (CONTRACT.md, Command line).

Installed is not enabled: these commands turn a plugin on or off in one city and set
its config, checked against the plugin's schema before anything is written. Bad JSON,
a refused config, an unknown plugin or city: exit 2 with one line on stderr, nothing
changed. Secrets never appear in the output (``***``), nor in error lines.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, Any

from rtbook.core.errors import NotFound, RtbookError

if TYPE_CHECKING:  # imported when a plugins command runs, not by every rtbook command
    from rtbook.core.plugins.registry import PluginRegistry

EXIT_OK = 0


def _registry() -> PluginRegistry:
    from rtbook.core.plugins.registry import PluginRegistry

    # The list command shows load failures itself; the others must not add log lines
    # to their one-line answers.
    return PluginRegistry.load(log_failures=False)


def _city(code: str) -> str:
    from rtbook.core.regions import check_city_code

    return check_city_code(code)


def _installed(registry: PluginRegistry, name: str) -> None:
    if name not in registry:
        raise NotFound(registry.not_installed_message(name))


def parse_config(text: str | None) -> dict[str, Any] | None:
    """``--config JSON``: an object, or None when the option is not given. The error
    never quotes the text (it may hold a secret)."""
    import msgspec

    if text is None:
        return None
    try:
        value = msgspec.json.decode(text.encode())
    except msgspec.DecodeError as exc:
        raise RtbookError(
            f"--config bukan JSON yang sah (--config is not valid JSON): {exc}"
        ) from None
    if not isinstance(value, dict):
        raise RtbookError("--config harus objek JSON, mis. '{\"min_age\": 60}' (must be an object)")
    return value


def _config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, ensure_ascii=False, sort_keys=True)


def _state(enabled: bool) -> str:
    return "aktif (enabled)" if enabled else "nonaktif (disabled)"


def cmd_plugins_list(args: argparse.Namespace) -> int:
    from rtbook.cli import run
    from rtbook.core.db import Connection, Database
    from rtbook.core.plugins.api import StartupSettings
    from rtbook.core.plugins.settings import list_plugins
    from rtbook.core.settings import database_url

    registry = _registry()
    city = _city(args.city) if args.city else None
    if city is not None:

        async def work(db: Database) -> list[dict[str, Any]]:
            async def unit(conn: Connection) -> list[dict[str, Any]]:
                return await list_plugins(conn, registry, city)

            return await db.read(unit)

        items = run(work)
    else:

        async def nothing(db: Database) -> None:
            return None

        run(nothing)  # like every command: create or update the schema
        items = [
            {"name": n, "version": i.version, "description": i.description}
            for n, i in ((n, registry.info(n)) for n in registry.names())
        ]
    settings = StartupSettings(database_dialect=database_url().dialect, environ=dict(os.environ))
    problems = registry.startup_problems(settings)
    if args.json:
        print(
            json.dumps(
                {
                    "city": city,
                    "items": items,
                    "failures": [{"name": n, "reason": r} for n, r in registry.failures.items()],
                    "problems": problems,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    if not items and not registry.failures:
        print("tidak ada plugin terpasang (no plugins installed)")
    for item in items:
        line = f"{item['name']} {item['version']}"
        if city is not None:
            line += f"  {_state(item['enabled'])}  config {_config_text(item['config'])}"
        if item["description"]:
            line += f"  - {item['description']}"
        print(line)
        for problem in problems.get(item["name"], []):
            print(f"  masalah (problem): {problem}")
    for name, reason in registry.failures.items():
        print(f"{name} GAGAL DIMUAT (failed to load): {reason}")
    return EXIT_OK


def _set(args: argparse.Namespace, *, enabled: bool, config: dict[str, Any] | None) -> dict:
    from rtbook.cli import write
    from rtbook.core.db import Connection
    from rtbook.core.plugins.settings import set_plugin

    registry = _registry()
    if enabled:  # an uninstalled plugin that is still enabled somewhere can be disabled
        _installed(registry, args.name)  # before the database is opened

    async def unit(conn: Connection) -> dict[str, Any]:
        return await set_plugin(
            conn, registry, args.city, args.name, enabled=enabled, config=config, user_id=None
        )

    return write(unit)


def cmd_plugins_enable(args: argparse.Namespace) -> int:
    _city(args.city)
    config = parse_config(args.config)
    item = _set(args, enabled=True, config=config)
    print(
        f"plugin {item['name']} {_state(True)} di kota (in city) {args.city}; "
        f"config {_config_text(item['config'])}"
    )
    return EXIT_OK


def cmd_plugins_disable(args: argparse.Namespace) -> int:
    _city(args.city)
    item = _set(args, enabled=False, config=None)
    print(f"plugin {item['name']} {_state(False)} di kota (in city) {args.city}")
    return EXIT_OK


def register_plugin_commands(commands: Any) -> None:
    """Add ``plugins list|enable|disable`` to rtbook's sub-command parser."""
    plugins = commands.add_parser("plugins", help="plugin per kota (plugins per city)")
    actions = plugins.add_subparsers(dest="action", metavar="ACTION")

    p = actions.add_parser("list", help="plugin yang terpasang (installed plugins)")
    p.add_argument("--city", metavar="CITY_CODE", help="tampilkan status di kota ini")
    p.add_argument("--json", action="store_true", help="keluaran JSON (JSON output)")
    p.set_defaults(handler=cmd_plugins_list)

    p = actions.add_parser("enable", help="aktifkan plugin di kota (enable in a city)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--city", metavar="CITY_CODE", required=True)
    p.add_argument(
        "--config",
        metavar="JSON",
        help='objek JSON; rahasia yang tidak dikirim atau "***" tetap (secrets kept)',
    )
    p.set_defaults(handler=cmd_plugins_enable)

    p = actions.add_parser("disable", help="nonaktifkan plugin di kota (disable in a city)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--city", metavar="CITY_CODE", required=True)
    p.set_defaults(handler=cmd_plugins_disable)
