"""What page tests share: reading the database as an operator would, and logging in
through the form as a browser does (its CSRF cookie and field). (The API tests have
tests/web/web_support.py.)"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from litestar.testing import TestClient

from rtbook.core.db import make_database
from rtbook.core.passwords import hash_password
from rtbook.core.settings import DatabaseURL


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


def set_password(url: DatabaseURL, username: str, password: str) -> None:
    write_sql(
        url,
        "UPDATE rtbook_user SET password_hash = $1 WHERE username = $2",
        hash_password(password),
        username,
    )


_CSRF_FIELD = re.compile(r'name="_csrf" value="([^"]*)"')
_LOGIN_FORM = re.compile(r'action="/login">\s*<input type="hidden" name="_csrf" value="([^"]*)"')


def csrf_field(page: str) -> str:
    """The hidden ``_csrf`` value of the (first) form on a page."""
    found = _CSRF_FIELD.search(page)
    assert found is not None, page
    return found.group(1)


def login_csrf_field(page: str) -> str:
    """The ``_csrf`` value of the login form (a page may also hold the logout form)."""
    found = _LOGIN_FORM.search(page)
    assert found is not None, page
    return found.group(1)


def page_login(client: TestClient[Any], username: str, password: str, **extra: str) -> Any:
    """Open the form (getting its CSRF cookie) and send it, as a browser does."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    data = {"username": username, "password": password, "_csrf": login_csrf_field(form.text)}
    data.update(extra)
    return client.post("/login", data=data, follow_redirects=False)
