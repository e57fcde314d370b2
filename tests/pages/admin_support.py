"""Test helpers of the city admin's pages (/admin/...): a seeded database on each
backend, the app with the installed plugins plus a small test plugin (a schema with
text, choice, checkbox, number and secret fields, and a menu entry), and a
browser-like login through the form."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from factories import CITY, NOW, RT_A, RT_OTHER_CITY, add_resident, add_user, nik_for, standard_city
from form_support import csrf_field, page_login
from litestar.testing import TestClient

import rtbook
from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database
from rtbook.core.passwords import hash_password
from rtbook.core.plugins import MenuItem, Secret
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.settings import DatabaseURL
from rtbook.core.users import set_password_hash
from rtbook.web.app import create_app

PASSWORD = "kunci-rumah-biru-7"
OTHER_CITY = "64.72"
KELURAHAN = "64.71.06.1005"
OTHER_KELURAHAN = "64.72.01.1001"
HEAD_NIK = nik_for(date(1970, 3, 4), "L", 11)
WIFE_NIK = nik_for(date(1975, 5, 6), "P", 12)
OTHER_NIK = nik_for(date(1980, 1, 2), "L", 13, region="647201")
SAMPLE_MENU = "Contoh uji (test sample)"
SESSION_COOKIE = "rtbook_session"


class SampleConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    greeting: Annotated[str, msgspec.Meta(max_length=20)]
    level: Literal["low", "high"] = "low"
    loud: bool = False
    repeat: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    api_key: Secret | None = None


class SamplePlugin:
    """A plugin with every kind of form field and a menu entry."""

    @rtbook.hookimpl
    def rtbook_config_schema(self) -> Any:
        return SampleConfig

    @rtbook.hookimpl
    def rtbook_menu_items(self, city: str, principal: Any) -> list[MenuItem]:
        return [MenuItem(SAMPLE_MENU, f"/contoh?city={city}", order=60)]


def registry() -> PluginRegistry:
    found = PluginRegistry.load(log_failures=False)
    found.register("contoh", SamplePlugin())
    return found


@dataclass
class Site:
    url: DatabaseURL
    client: TestClient[Any]
    ids: dict[str, int] = field(default_factory=dict)

    def session_cookie(self) -> str | None:
        return self.client.cookies.get(SESSION_COOKIE)

    def use_session(self, cookie: str) -> None:
        """Go back to a browser's session (saved with session_cookie)."""
        self.client.cookies.clear()
        self.client.cookies.set(SESSION_COOKIE, cookie)


async def _seed(conn: Connection, ids: dict[str, int]) -> None:
    await standard_city(conn)
    for code, level, parent, city in (
        ("64.71.06", "kecamatan", "64.71", CITY),
        (KELURAHAN, "kelurahan", "64.71.06", CITY),
        ("64.72.01", "kecamatan", "64.72", OTHER_CITY),
        (OTHER_KELURAHAN, "kelurahan", "64.72.01", OTHER_CITY),
    ):
        await conn.execute(
            "INSERT INTO region (code, name, level, parent_code, city_code)"
            " VALUES ($1, $2, $3, $4, $5)",
            code,
            f"Wilayah {code}",
            level,
            parent,
            city,
        )
    digest = hash_password(PASSWORD)
    users: list[tuple[str, Role, dict[str, Any]]] = [
        ("root", Role.ADMIN, {}),
        ("siti", Role.CITY_ADMIN, {"city": CITY}),
        ("ani", Role.CITY_ADMIN, {"city": OTHER_CITY}),
        ("budi", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,), "whatsapp": "+6281234567890"}),
        ("nurse", Role.HEALTH_WORKER, {"city": CITY, "areas": ("64.71.06",)}),
    ]
    for name, role, scope in users:
        principal, _ = await add_user(conn, name, role, **scope)
        await set_password_hash(conn, principal.user_id, digest)
        ids[name] = principal.user_id
    await add_resident(conn, nik=HEAD_NIK, name="AHMAD KEPALA", no_kk="6471060101200001")
    await add_resident(
        conn, nik=WIFE_NIK, name="SITI ISTRI", sex="P", shdk="istri", no_kk="6471060101200001"
    )
    await add_resident(
        conn,
        nik=OTHER_NIK,
        name="ORANG LAIN",
        rt_code=RT_OTHER_CITY,
        city_code=OTHER_CITY,
        no_kk="6472010101200009",
    )
    for seq, (city, status, address) in enumerate(
        (
            (CITY, "failed", "budi@example.org"),
            (CITY, "dead", "+6281234567890"),
            (CITY, "sent", "sent-one@example.org"),
            (OTHER_CITY, "dead", "other@example.org"),
        ),
        start=1,
    ):
        ids[f"delivery:{city}:{status}"] = await conn.fetchval(
            "INSERT INTO delivery (event_id, city_code, seq, user_id, channel, address,"
            " status, attempts, last_error, body, language, created_at, updated_at)"
            " VALUES ($1, $2, $7, $3, 'email', $4, $5, 3, 'smtp down', 'pesan', 'id', $6, $6)"
            " RETURNING id",
            f"{city}-{seq}",
            city,
            ids["budi"],
            address,
            status,
            NOW,
            seq,
        )
    for city in (CITY, OTHER_CITY):
        ids[f"failure:{city}"] = await conn.fetchval(
            "INSERT INTO dispatch_failure (plugin, city_code, seq, status, attempts,"
            " last_error, created_at, updated_at) VALUES ('lansia', $1, 1, 'dead', 5,"
            " 'boom', $2, $2) RETURNING id",
            city,
            NOW,
        )


@contextmanager
def open_site(url: DatabaseURL) -> Iterator[Site]:
    ids: dict[str, int] = {}

    async def go() -> None:
        async with make_database(url) as db:
            await db.write(lambda conn: _seed(conn, ids))

    asyncio.run(go())
    with TestClient(create_app(url, registry=registry())) as client:
        yield Site(url=url, client=client, ids=ids)


def login(client: TestClient[Any], username: str, password: str = PASSWORD) -> Any:
    """Log in afresh through the form, as a browser does; the 303 (or the refusal)."""
    client.cookies.clear()
    return page_login(client, username, password)


def logged_in(client: TestClient[Any], username: str) -> TestClient[Any]:
    answer = login(client, username)
    assert answer.status_code == 303, answer.text[:500]
    return client


def post_form(
    client: TestClient[Any], page_path: str, action: str, data: dict[str, Any] | None = None
) -> Any:
    """Open ``page_path`` (for its CSRF token) and post ``data`` to ``action``."""
    page = client.get(page_path)
    assert page.status_code in (200, 422), page.text[:1000]
    return client.post(
        action, data={"_csrf": csrf_field(page.text), **(data or {})}, follow_redirects=False
    )
