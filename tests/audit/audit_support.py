"""Helpers of the audit tests: read the audit table as a user would, and write rows
straight through rtbook.core.audit."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rtbook.core import audit
from rtbook.core.db import make_database, rows_dicts
from rtbook.core.settings import DatabaseURL

FULL_NIK = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def audit_rows(url: DatabaseURL, action: str | None = None) -> list[dict[str, Any]]:
    """Every audit row (or those of one action) in id order, as stored."""
    sql = "SELECT id, at, user_id, username, action, target, scope, detail FROM audit_log"
    args: list[Any] = []
    if action is not None:
        sql += " WHERE action = $1"
        args.append(action)

    async def go() -> list[dict[str, Any]]:
        async with make_database(url) as db:
            return rows_dicts(await db.read(lambda conn: conn.fetch(sql + " ORDER BY id", *args)))

    return asyncio.run(go())


def stored_text(url: DatabaseURL) -> str:
    """The whole audit table as one text (to search for a full NIK)."""
    return "\n".join(" | ".join(str(v) for v in row.values()) for row in audit_rows(url))


def add_rows(url: DatabaseURL, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows (action, target, scope, username, at) written with no principal."""

    async def go() -> None:
        async with make_database(url) as db:

            async def unit(conn: Any) -> None:
                for action, target, scope, username, at in rows:
                    await audit.record(
                        conn, None, action, target, scope, {"n": 1}, at=at, username=username
                    )

            await db.write(unit)

    asyncio.run(go())


def as_utc(value: Any) -> datetime:
    """A stored ``at`` as an aware datetime (SQLite gives text, PostgreSQL datetimes)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    assert moment.tzinfo is not None, value
    return moment
