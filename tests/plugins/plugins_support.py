"""Helpers of the plugin tests: feed events, a seeded database, the CLI in-process."""

from __future__ import annotations

import asyncio
import io
import sys
from dataclasses import dataclass, field
from importlib.metadata import distribution
from typing import Any

import pytest
from factories import CITY, RT_A, add_user, standard_city

from rtbook.cli import main
from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database
from rtbook.core.settings import DatabaseURL

OTHER_CITY = "64.72"

# The plugins shipped with rtbook: the distribution's own entry points in the group
# ``rtbook`` ([project.entry-points.rtbook] in pyproject.toml), read from the
# installed metadata so that a new built-in needs no edit here. The tests of the
# third-party plugin machinery block them (the autouse ``plugin_env`` fixture sets
# RTBOOK_DISABLE_PLUGINS to these) and see only the plugins a test installs;
# test_builtin_plugins.py checks the built-ins themselves.
BUILTIN_PLUGINS: tuple[str, ...] = tuple(
    sorted(ep.name for ep in distribution("rtbook").entry_points.select(group="rtbook"))
)


def registry_env(**values: str) -> dict[str, str]:
    """An explicit environment for ``PluginRegistry.load(env)``: ``values`` with the
    built-ins blocked too (a ``RTBOOK_DISABLE_PLUGINS`` given is added to them)."""
    disabled = [*BUILTIN_PLUGINS, values.pop("RTBOOK_DISABLE_PLUGINS", "")]
    return {**values, "RTBOOK_DISABLE_PLUGINS": ",".join(filter(None, disabled))}


def feed_event(seq: int, *, city: str = CITY, rt: str = RT_A, effect: str = "resident_added"):
    """A feed event as the worker hands it to rtbook_service_completed."""
    return {
        "specversion": "1.0",
        "id": f"{city}-{seq}",
        "source": f"/rtbook/cities/{city}",
        "type": "rtbook.service.completed",
        "time": "2026-11-20T09:00:00+08:00",
        "subject": rt,
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": {
            "service_type": "akta_kelahiran",
            "service_id": f"siak-{seq}",
            "effect": effect,
            "resident": {"name": "SITI AMINAH", "nik_masked": "************0001"},
            "summary": "Kelahiran SITI AMINAH tercatat",
        },
    }


USERS: list[tuple[str, Role, dict[str, Any]]] = [
    ("admin", Role.ADMIN, {}),
    ("city_admin", Role.CITY_ADMIN, {"city": CITY}),
    ("city_admin_other", Role.CITY_ADMIN, {"city": OTHER_CITY}),
    ("head_a", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
    ("integrator", Role.INTEGRATOR, {"city": CITY}),
    ("health_worker", Role.HEALTH_WORKER, {"city": CITY, "areas": (CITY,)}),
]


@dataclass
class World:
    url: DatabaseURL
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def seed(url: DatabaseURL, event_seq: int = 0) -> World:
    """Cities 64.71 (feed at ``event_seq``) and 64.72, and one user of each kind."""
    world = World(url=url)

    async def unit(conn: Connection) -> None:
        await standard_city(conn)
        await conn.execute("UPDATE city SET event_seq = $1 WHERE code = $2", event_seq, CITY)
        for username, role, scope in USERS:
            principal, token = await add_user(conn, username, role, **scope)
            world.tokens[username] = token
            world.user_ids[username] = principal.user_id

    async with make_database(url) as db:
        await db.write(unit)
    return world


def sql(url: DatabaseURL, statement: str, *args: Any) -> list[dict[str, Any]]:
    """Rows read (or a statement run) outside the code under test."""

    async def go() -> list[dict[str, Any]]:
        async with make_database(url) as db:
            rows = await db.write(lambda conn: conn.fetch(statement, *args))
            return [{k: r[k] for k in r.keys()} for r in rows]  # noqa: SIM118

    return asyncio.run(go())


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def one_error_line(self) -> bool:
        lines = self.err.splitlines()
        return self.code != 0 and len(lines) == 1 and lines[0].strip() != ""


def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> Result:
    """``rtbook ARGS`` in this process."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = main(list(args))
    out, err = capsys.readouterr()
    return Result(code, out, err)
