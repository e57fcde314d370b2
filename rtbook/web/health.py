"""GET /health: 200 {"status": "ok"} when the database answers (open to all)."""

from __future__ import annotations

import logging

import msgspec
from litestar import get

from rtbook.core.db import Connection
from rtbook.web.deps import DB
from rtbook.web.errors import ApiError, error_responses, mask_niks

log = logging.getLogger("rtbook.web")


class Health(msgspec.Struct):
    status: str


async def _ping(conn: Connection) -> int:
    return await conn.fetchval("SELECT 1")


@get(
    "/health",
    summary="Pemeriksaan kesehatan (health check)",
    tags=["sistem (system)"],
    responses=error_responses(503),
    cache_control=None,
)
async def health(db: DB) -> Health:
    try:
        await db.read(_ping)
    except Exception as exc:  # the database is down: say so, do not crash
        log.warning("health check failed: %s", mask_niks(f"{type(exc).__name__}: {exc}"))
        raise ApiError(503) from None
    return Health(status="ok")
