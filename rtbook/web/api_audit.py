"""GET /api/v1/audit: the audit trail (CONTRACT.md, Web sessions and audit).

Readers: a city_admin sees the rows whose scope is their city, an admin every row;
anyone else 403. Rows come in the order they were written; pass ``next_cursor``
back as ``cursor``. Filters ``action``, ``user``, ``since`` and ``until`` are
additions to the contract.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from litestar import Controller, get

from rtbook.core import audit
from rtbook.core.db import Connection
from rtbook.core.dispatch.failures import check_city_access
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import error_responses
from rtbook.web.params import int_param, int_query, text_query


class AuditController(Controller):
    path = "/audit"
    tags: ClassVar[list[str]] = ["jejak audit (audit trail)"]

    @get(
        "/",
        summary="Jejak audit (the audit trail)",
        description=(
            "Siapa membaca atau mengubah data pribadi apa, kapan (UTC), NIK disamarkan. "
            "city_admin hanya melihat kotanya. `since`/`until`: YYYY-MM-DD (hari UTC, "
            "`until` termasuk harinya) atau waktu ISO 8601. `action` diakhiri titik "
            "(`auth.`) mencocokkan awalan. (Who read or changed which personal data, when; "
            "a city admin sees their city only; pass `next_cursor` back as `cursor`.)"
        ),
        responses=error_responses(400, 401, 403),
    )
    async def list_items(
        self,
        db: DB,
        principal: Caller,
        cursor: Annotated[
            str | None, text_query("Dari `next_cursor` halaman sebelumnya (from the previous page)")
        ] = None,
        limit: Annotated[
            str | None,
            int_query(
                "Jumlah per halaman (page size)",
                default=audit.LIST_LIMIT_DEFAULT,
                minimum=1,
                maximum=audit.LIST_LIMIT_MAX,
            ),
        ] = None,
        action: Annotated[
            str | None, text_query("Aksi, mis. residents.list atau auth. (action)", max_length=64)
        ] = None,
        user: Annotated[str | None, text_query("Nama pengguna (username)", max_length=64)] = None,
        since: Annotated[str | None, text_query("Sejak (from, inclusive)", max_length=40)] = None,
        until: Annotated[str | None, text_query("Sampai (until)", max_length=40)] = None,
    ) -> audit.AuditPage:
        city = check_city_access(principal, None)  # the role first: 403 before any read
        size = int_param(
            limit,
            "limit",
            default=audit.LIST_LIMIT_DEFAULT,
            minimum=1,
            maximum=audit.LIST_LIMIT_MAX,
        )
        start = audit.parse_moment(since, "since")
        end = audit.parse_moment(until, "until", end=True)

        async def unit(conn: Connection) -> audit.AuditPage:
            return await audit.list_audit(
                conn,
                city=city,
                cursor=cursor,
                limit=size,
                action=action,
                user=user,
                since=start,
                until=end,
            )

        return await db.read(unit)
