"""Test helpers for web sessions: a seeded database with users who have passwords, a
clock the tests move, and a browser-like login through the form."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from factories import CITY, RT_A, add_user, standard_city
from litestar.testing import TestClient

from rtbook.core.auth import Role, hash_token
from rtbook.core.db import Connection, make_database
from rtbook.core.passwords import hash_password
from rtbook.core.settings import DatabaseURL
from rtbook.core.users import set_password_hash

PASSWORD = "kunci-rumah-biru-7"
START = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


class Clock:
    """``app.state.clock``: the time the app sees, moved by the test."""

    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Seeded:
    url: DatabaseURL
    user_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


async def _seed(conn: Connection, seeded: Seeded) -> None:
    await standard_city(conn)
    users: list[tuple[str, Role, dict[str, Any]]] = [
        ("budi", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
        ("siti", Role.CITY_ADMIN, {"city": CITY}),
        ("lama", Role.CITY_ADMIN, {"city": CITY}),  # deactivated below
    ]
    digest = hash_password(PASSWORD)
    for name, role, scope in users:
        principal, token = await add_user(conn, name, role, **scope)
        await set_password_hash(conn, principal.user_id, digest)
        seeded.user_ids[name] = principal.user_id
        seeded.tokens[name] = token
    await conn.execute("UPDATE rtbook_user SET is_active = $1 WHERE username = $2", False, "lama")


def seed(url: DatabaseURL) -> Seeded:
    seeded = Seeded(url=url)

    async def go() -> None:
        async with make_database(url) as db:
            await db.write(lambda conn: _seed(conn, seeded))

    asyncio.run(go())
    return seeded


def sql(url: DatabaseURL, query: str, *args: Any) -> list[dict[str, Any]]:
    """Rows read outside the app (what an operator would check)."""

    async def go() -> list[dict[str, Any]]:
        async with make_database(url) as db:
            rows = await db.read(lambda conn: conn.fetch(query, *args))
            return [dict(r) for r in rows]

    return asyncio.run(go())


def write_sql(url: DatabaseURL, statement: str, *args: Any) -> None:
    async def go() -> None:
        async with make_database(url) as db:
            await db.write(lambda conn: conn.execute(statement, *args))

    asyncio.run(go())


_CSRF_FIELD = re.compile(r'name="_csrf" value="([^"]*)"')


def csrf_field(page: str) -> str:
    """The hidden ``_csrf`` value of the (first) form on a page."""
    found = _CSRF_FIELD.search(page)
    assert found is not None, page
    return found.group(1)


_LOGIN_FORM = re.compile(r'action="/login">\s*<input type="hidden" name="_csrf" value="([^"]*)"')


def login_csrf_field(page: str) -> str:
    """The ``_csrf`` value of the login form (a page may also hold the logout form)."""
    found = _LOGIN_FORM.search(page)
    assert found is not None, page
    return found.group(1)


def login(client: TestClient[Any], username: str, password: str = PASSWORD, **extra: str) -> Any:
    """Open the form (getting its CSRF cookie) and send it, as a browser does."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    data = {"username": username, "password": password, "_csrf": login_csrf_field(form.text)}
    data.update(extra)
    return client.post("/login", data=data, follow_redirects=False)


def set_cookie_headers(response: Any, name: str) -> list[str]:
    return [
        value
        for key, value in response.headers.multi_items()
        if key.lower() == "set-cookie" and value.startswith(name + "=")
    ]


def cookie_attributes(header: str) -> tuple[str, set[str]]:
    """The value and the lower-cased attribute names/pairs of a Set-Cookie header."""
    first, *rest = (part.strip() for part in header.split(";"))
    return first.split("=", 1)[1], {part.lower() for part in rest}


def session_rows(url: DatabaseURL) -> list[dict[str, Any]]:
    return sql(url, "SELECT id_hash, user_id, csrf_token FROM web_session ORDER BY user_id")


def stored_hash_of(session_id: str) -> str:
    return hash_token(session_id)
