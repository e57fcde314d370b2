"""Test helpers for web sessions: a seeded database with users who have passwords, a
clock the tests move, and a browser-like login through the form."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from factories import CITY, RT_A, add_user, standard_city
from form_support import csrf_field as csrf_field  # re-exported for the session tests
from form_support import page_login, sql
from form_support import write_sql as write_sql  # re-exported for the session tests
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


def login(client: TestClient[Any], username: str, password: str = PASSWORD, **extra: str) -> Any:
    """Through the form, as a browser does (the seeded users' password by default)."""
    return page_login(client, username, password, **extra)


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
