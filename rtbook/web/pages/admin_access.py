"""/admin/akses: the resident access report (UU PDP; rtbook.core.privacy
.access_report, like GET /api/v1/residents/{nik}/access-report). The NIK is posted
in a form, so it never appears in an address or an access log; the report is
answered to that POST (not stored by the browser: no-store) and the read is
audited (``privacy.access_report``, the NIK masked)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.privacy import access_report, check_nik
from rtbook.web.login import now_for
from rtbook.web.pages.admin_common import (
    ADMIN_ROUTE,
    AdminPage,
    admin_page,
    admin_post,
    core_error,
    form_fields,
    render_admin,
    when,
)

TITLE = "Laporan akses warga (access report)"
SECTIONS = (
    ("kk_history", "Riwayat KK (household history)"),
    ("documents", "Dokumen (documents)"),
    ("service_records", "Layanan Dukcapil (registry services)"),
    ("changes", "Perubahan data (changes)"),
    ("events", "Kabar warga (feed events)"),
    ("notifications", "Pemberitahuan (notifications)"),
    ("processing", "Riwayat pemrosesan, dari jejak audit (processing history)"),
)


def cell(value: Any) -> str:
    """One value of the report as text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "ya (yes)" if value else "tidak (no)"
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    return str(value)


async def _form(
    request: Request[Any, Any, Any],
    page: AdminPage,
    *,
    status_code: int = 200,
    error: str | None = None,
    report: dict[str, Any] | None = None,
) -> Response[str]:
    sections = []
    if report is not None:
        sections = [(key, label, report.get(key) or []) for key, label in SECTIONS]
        sections += [
            (f"plugin-{name}", f"Plugin {name}", rows)
            for name, rows in (report.get("plugins") or {}).items()
        ]
    return await render_admin(
        request,
        page,
        "pages/admin_access.html",
        title=TITLE,
        status_code=status_code,
        error=error,
        report=report,
        sections=sections,
        cell=cell,
    )


@get("/admin/akses", cache_control=None, **ADMIN_ROUTE)
async def access_form(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    return await _form(request, page)


@post("/admin/akses", status_code=200, **ADMIN_ROUTE)
async def access_show(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    try:
        nik = check_nik((await form_fields(request)).get("nik", "")[:64])
    except RtbookError as exc:
        return await _form(request, page, status_code=422, error=str(exc))
    at = now_for(request)

    async def unit(conn: Connection) -> dict[str, Any]:
        return await access_report(conn, nik, page.principal, now=at)

    try:
        report = await request.app.state.db.write(unit)
    except NotFound as exc:
        return await _form(request, page, status_code=404, error=str(exc))
    except Forbidden:
        return await core_error(
            request,
            Forbidden("Warga di luar kota Anda (resident outside your city)"),
            "/admin/akses",
        )
    return await _form(request, page, report=report)


ADMIN_ACCESS_HANDLERS = (access_form, access_show)
