"""/admin/rt: the city's RTs (active residents, households, heads; each links to its
ward book /rt/{rt}) and a form adding RTs with the checks of ``rtbook rt add``
(rtbook.core.user_admin.add_city_rts: all or nothing, inside the city)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, RtbookError
from rtbook.core.rts import RTCode
from rtbook.core.user_admin import RTSummary, add_city_rts, city_rts
from rtbook.web.pages.admin_common import (
    ADMIN_ROUTE,
    AdminPage,
    admin_page,
    admin_post,
    core_error,
    form_fields,
    redirect,
    render_admin,
    split_codes,
)
from rtbook.web.pages.layout import rt_short

TITLE = "RT kota (the city's RTs)"
CODES_MAX = 5000  # characters of the form field: a few hundred codes


async def _page(
    request: Request[Any, Any, Any],
    page: AdminPage,
    *,
    status_code: int = 200,
    codes: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> Response[str]:
    async def unit(conn: Connection) -> list[RTSummary]:
        return await city_rts(conn, page.principal, page.city)

    rts = await request.app.state.db.read(unit)
    return await render_admin(
        request,
        page,
        "pages/admin_rt.html",
        title=TITLE,
        status_code=status_code,
        notice=notice,
        rts=rts,
        rt_short=rt_short,
        codes=codes,
        error=error,
    )


@get("/admin/rt", cache_control=None, **ADMIN_ROUTE)
async def rt_list(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    added = request.query_params.get("ok")
    notice = f"{added} RT ditambahkan (RTs added)" if added and added.isdigit() else None
    return await _page(request, page, notice=notice)


@post("/admin/rt", status_code=303, **ADMIN_ROUTE)
async def rt_add(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    text = (await form_fields(request)).get("rt_codes", "")
    if len(text) > CODES_MAX:
        return await _page(
            request,
            page,
            status_code=422,
            codes="",
            error=f"paling banyak {CODES_MAX} karakter (at most {CODES_MAX} characters)",
        )
    codes = split_codes(text)

    async def unit(conn: Connection) -> list[RTCode]:
        return await add_city_rts(conn, page.principal, page.city, codes)

    try:
        added = await request.app.state.db.write(unit)
    except Forbidden as exc:
        return await core_error(request, exc, page.url("/admin/rt"))
    except RtbookError as exc:
        return await _page(request, page, status_code=422, codes=text, error=str(exc))
    return redirect(page.url("/admin/rt", ok=len(added)))


ADMIN_RT_HANDLERS = (rt_list, rt_add)
