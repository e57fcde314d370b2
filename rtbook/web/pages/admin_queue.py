"""What the admin's queue pages (/admin/pengiriman, /admin/dead-letters) share: a
list filtered by status and paged by id (``?after=``), and the "send again" button
of a row (the core's retry, which checks scope and state and audits)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from litestar import Request, Response

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.errors import RtbookError
from rtbook.web.login import now_for
from rtbook.web.pages.admin_common import (
    AdminPage,
    admin_page,
    admin_post,
    core_error,
    redirect,
    render_admin,
    row_id,
)
from rtbook.web.pages.layout import render_error

PAGE_SIZE = 50  # rows a page
MSG_STATUS = "status tidak dikenal (unknown status)"
# one page of a status: (rows, the id to go on ``after`` of, None on the last page)
ReadPage = Callable[
    [Connection, AdminPage, str, int | None], Awaitable[tuple[list[Any], int | None]]
]


async def queue_list(
    request: Request[Any, Any, Any],
    *,
    path: str,
    template: str,
    title: str,
    filters: Sequence[tuple[str, str]],
    default: str,
    read: ReadPage,
    notice: Callable[[str], str],
) -> Response[str]:
    """The list page: ``?status=`` one of ``filters`` (else 422), ``?after=`` an id,
    ``?ok=<id>`` (after a retry) the ``notice``."""
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    chosen = request.query_params.get("status") or default
    if chosen not in [value for value, _ in filters]:
        return await render_error(request, 422, MSG_STATUS, back=page.url(path))
    after = row_id(request.query_params.get("after"))

    async def unit(conn: Connection) -> tuple[list[Any], int | None]:
        return await read(conn, page, chosen, after)

    try:
        items, next_after = await request.app.state.db.read(unit)
    except RtbookError as exc:
        return await core_error(request, exc, "/")
    done = request.query_params.get("ok")
    return await render_admin(
        request,
        page,
        template,
        title=title,
        notice=notice(done[:20]) if done else None,
        items=items,
        chosen=chosen,
        filters=filters,
        after=after,
        next_after=next_after,
    )


async def retry_row(
    request: Request[Any, Any, Any],
    raw_id: str,
    *,
    path: str,
    missing: str,
    refused: type[RtbookError],
    retry: Callable[[Connection, int, datetime, Principal], Awaitable[object]],
) -> Response[str]:
    """The POST of a queue page's "send again" button (deliveries, dead letters):
    ``retry`` the row (the core checks scope and state, audits), then back to
    ``path`` with the status filter kept and ``?ok=<id>``. An id that is none is
    404 ``missing``; a row ``retry`` ``refused`` (wrong state) 409."""
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    back = page.url(path)
    text = raw_id.strip()
    number = row_id(text)
    if number is None:
        return await render_error(request, 404, missing, back=back)
    at = now_for(request)

    async def unit(conn: Connection) -> object:
        return await retry(conn, number, at, page.principal)

    try:
        await request.app.state.db.write(unit)
    except refused as exc:
        return await render_error(request, 409, str(exc), back=back)
    except RtbookError as exc:
        return await core_error(request, exc, back)
    status = request.query_params.get("status")
    return redirect(page.url(path, status=status, ok=text))
