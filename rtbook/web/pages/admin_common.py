"""What the city admin's pages (/admin/...) share: who may open them, which city
they are about, and how a refusal from the core becomes an error page.

- city_admin: their own city; a ``?city=`` naming another city is refused (403).
- admin (no city of their own): the ``?city=`` of the address (a chooser on every
  page), else the first city; an unknown city is 404.
- everyone else: 403.

The city stays in the address (``?city=64.71``) of links and form actions, so the
menu (computed per request, rtbook.web.pages.layout.menu_city) shows the plugins
of the city being managed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.sessions import ActiveSession
from rtbook.web.login import check_csrf, page_session, require_login
from rtbook.web.pages.layout import render_error, render_page

MSG_ROLE = "Halaman ini hanya untuk admin kota dan admin (city admins and admins only)"
MSG_OTHER_CITY = "Di luar kota Anda (outside your city)"
MSG_NO_CITY = "Belum ada kota; tambahkan dengan rtbook city add (no city yet)"
MSG_UNKNOWN_CITY = "Kota tidak ditemukan (city not found)"
ID_DIGITS = 18  # a row id in an address: at most this many digits
ADMIN_ROUTE: dict[str, Any] = {
    # what every admin page handler is declared with (GETs add cache_control=None)
    "guards": [require_login],
    "media_type": MediaType.HTML,
    "include_in_schema": False,
}
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True, slots=True)
class AdminPage:
    """The request's session, caller and the city the page is about."""

    session: ActiveSession
    principal: Principal
    city: str
    cities: list[tuple[str, str]]  # (code, name) for the admin's chooser; [] otherwise

    def url(self, path: str, **query: Any) -> str:
        """``path`` with the city (for an admin) and ``query`` (empty values left out)."""
        params = {k: v for k, v in query.items() if v not in (None, "")}
        if self.cities:
            params = {"city": self.city, **params}
        return path + ("?" + urlencode(params) if params else "")


async def admin_page(request: Request[Any, Any, Any]) -> AdminPage | Response[str]:
    """The page's :class:`AdminPage`, or the error page to answer (403/404)."""
    session = await page_session(request)
    assert session is not None  # under require_login
    principal = session.principal
    asked = request.query_params.get("city") or None
    if principal.role is Role.CITY_ADMIN and principal.city_code:
        if asked is not None and asked != principal.city_code:
            return await render_error(request, 403, MSG_OTHER_CITY)
        return AdminPage(session, principal, principal.city_code, [])
    if principal.role is not Role.ADMIN:
        return await render_error(request, 403, MSG_ROLE)

    async def unit(conn: Connection) -> list[tuple[str, str]]:
        rows = await conn.fetch("SELECT code, name FROM city ORDER BY code")
        return [(r["code"], r["name"]) for r in rows]

    cities = await request.app.state.db.read(unit)
    if not cities:
        return await render_error(request, 404, MSG_NO_CITY)
    codes = [code for code, _ in cities]
    if asked is not None and asked not in codes:
        return await render_error(request, 404, MSG_UNKNOWN_CITY, back=request.url.path)
    return AdminPage(session, principal, asked or codes[0], cities)


async def admin_post(request: Request[Any, Any, Any]) -> AdminPage | Response[str]:
    """:func:`admin_page` for a POST: the CSRF token checked too (403 page otherwise)."""
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    await check_csrf(request, page.session)
    return page


async def core_error(request: Request[Any, Any, Any], exc: RtbookError, back: str) -> Response[str]:
    """A refusal of the core as a page: Forbidden 403, NotFound 404, bad input 422."""
    if isinstance(exc, Forbidden):
        return await render_error(request, 403, str(exc) or MSG_ROLE, back=back)
    if isinstance(exc, NotFound):
        return await render_error(request, 404, str(exc), back=back)
    if isinstance(exc, InvalidQuery):
        return await render_error(request, 422, f"{exc.field}: {exc.message}", back=back)
    return await render_error(request, 422, str(exc), back=back)


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The text fields of the posted form (a repeated field keeps its first value)."""
    form = await request.form()
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in fields:
            fields[key] = value
    return fields


def row_id(text: str | None) -> int | None:
    """A row id from an address (path or ``?after=``); None when it is not one."""
    if text and text.isascii() and text.isdigit() and len(text) <= ID_DIGITS:
        return int(text)
    return None


def split_codes(text: str) -> list[str]:
    """The codes of a form field, separated by spaces, commas or semicolons."""
    return [c for c in _SEPARATORS.split(text) if c]


def redirect(location: str) -> Response[str]:
    """Post/Redirect/Get: 303 to a page that shows the outcome."""
    return Response(
        content="", status_code=303, media_type=MediaType.HTML, headers={"Location": location}
    )


def when(moment: datetime | None) -> str:
    """A time as admins read it: ``2026-11-20 09:30 UTC``; empty for none."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def render_admin(
    request: Request[Any, Any, Any],
    page: AdminPage,
    template: str,
    *,
    title: str,
    status_code: int = 200,
    notice: str | None = None,
    **context: Any,
) -> Response[str]:
    """render_page with what every admin page's template uses: ``page`` (city,
    chooser, url()), ``when``."""
    return await render_page(
        request,
        template,
        title=title,
        status_code=status_code,
        notice=notice,
        page=page,
        here=request.url.path,
        when=when,
        **context,
    )
