"""/admin/audit: the city's audit trail (rtbook.core.audit.list_audit, like
GET /api/v1/audit): filters user, action (``auth.`` matches a prefix), date range
(``since``..``until``, whole UTC days, both included), pages by cursor."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from rtbook.core import audit
from rtbook.core.db import Connection
from rtbook.core.dispatch.failures import check_city_access
from rtbook.core.errors import RtbookError
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.web.pages.admin_common import ADMIN_ROUTE, admin_page, core_error, render_admin

TITLE = "Jejak audit (audit trail)"
PAGE_SIZE = 50
FILTERS = ("user", "action", "since", "until")


@get("/admin/audit", cache_control=None, **ADMIN_ROUTE)
async def audit_list(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    query = request.query_params
    filters = {name: (query.get(name) or "").strip()[:80] for name in FILTERS}
    cursor = query.get("cursor") or None
    try:
        start = audit.parse_moment(filters["since"], "since")
        end = audit.parse_moment(filters["until"], "until", end=True)

        async def unit(conn: Connection) -> audit.AuditPage:
            city = check_city_access(page.principal, page.city)
            return await audit.list_audit(
                conn,
                city=city,
                cursor=cursor,
                limit=PAGE_SIZE,
                action=filters["action"] or None,
                user=filters["user"] or None,
                since=start,
                until=end,
            )

        found = await request.app.state.db.read(unit)
    except InvalidQuery as exc:
        return await render_admin(
            request,
            page,
            "pages/admin_audit.html",
            title=TITLE,
            status_code=422,
            items=[],
            filters=filters,
            errors={exc.field: exc.message},
            next_cursor=None,
            paged=False,
        )
    except RtbookError as exc:
        return await core_error(request, exc, "/")
    return await render_admin(
        request,
        page,
        "pages/admin_audit.html",
        title=TITLE,
        items=found.items,
        filters=filters,
        errors={},
        next_cursor=found.next_cursor,
        paged=cursor is not None,
    )


ADMIN_AUDIT_HANDLERS = (audit_list,)
