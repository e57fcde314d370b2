"""The audit trail: who read or changed which personal data, and when.

CONTRACT.md (Web sessions and audit): reading a resident list, a resident, a lansia
list or a report is recorded. Call :func:`record` inside the unit of work that does
the read (a ``db.write`` unit, since it writes the row), so that a read is never
served without its row. A read served in pages (a streamed export) records its row
before the first page leaves and completes it with :func:`update_detail` at the end.

A row: ``at`` (UTC), ``user_id`` and ``username`` of the caller (null for a trusted
internal caller), ``action`` (``lansia.list``, ``lansia.dose.add``, ...), ``target``
(an area or RT code, or a masked NIK), ``scope`` (the city code) and ``detail``
(a JSON object: rows, format, filters). A full NIK is never stored: any run of 16 or
more digits in ``target`` or ``detail`` keeps only its last 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.notify.compose import scrub

ACTION_MAX = 64
TARGET_MAX = 64

_INSERT = (
    "INSERT INTO audit_log (at, user_id, username, action, target, scope, detail)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
)


def _detail_json(detail: Mapping[str, Any] | None) -> str:
    return scrub(msgspec.json.encode(dict(detail or {})).decode("utf-8"))


async def record(
    conn: Connection,
    principal: Principal | None,
    action: str,
    target: str | None,
    scope: str | None,
    detail: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Write one audit row in the caller's unit of work; its id."""
    if not action or len(action) > ACTION_MAX:
        raise ValueError(f"audit action must be 1..{ACTION_MAX} characters")
    target_text = None if target is None else scrub(target)[:TARGET_MAX]
    audit_id = await conn.fetchval(
        _INSERT,
        at or datetime.now(UTC),
        None if principal is None else principal.user_id,
        None if principal is None else principal.username,
        action,
        target_text,
        scope,
        _detail_json(detail),
    )
    return int(audit_id)


async def update_detail(conn: Connection, audit_id: int, detail: Mapping[str, Any]) -> None:
    """Replace the detail of a row written by :func:`record` (e.g. the rows count of
    an export, known once the last page is out)."""
    await conn.execute(
        "UPDATE audit_log SET detail = $2 WHERE id = $1", audit_id, _detail_json(detail)
    )
