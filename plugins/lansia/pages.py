"""The lansia plugin's phone pages (issue 7), mounted at the site root behind the
plugin gate (404 where the plugin is off in the request's city):

- ``GET /lansia``: the list of an area (the reader's first area by default) with
  filters (area, as_of, min_age, sex, vaccinated or not, vaccine), a count and pages
  of :data:`PAGE_ROWS` rows; every page shown is a ``lansia.list`` audit row.
- ``GET /lansia/unduh.csv`` and ``/lansia/unduh.xlsx``: the same filtered list as a
  download, streamed by the plugin's own exports (the contract's CSV header).
- ``GET /lansia/warga/{rt}/{ref}``: one resident (by an opaque reference, never the
  NIK) with their doses; ``POST`` to the same address records a dose (CSRF first,
  422 with a reason per field, 409 when already recorded, else 303 back with a notice).

Scopes are the API's (rtbook_lansia.areas): health workers their areas, RT heads
their RTs, city_admin their city, admin any. Imported only by the
``rtbook_page_routes`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import MediaType, Request, Response, get, post
from litestar.params import PathParameter
from litestar.response import Stream

from rtbook.core.auth import Principal
from rtbook.core.db import Connection, Database
from rtbook.core.errors import Forbidden, NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.validation import mask_nik
from rtbook.web.login import check_csrf, now_for, page_key, page_session, require_login
from rtbook.web.pages.layout import render_error, render_page
from rtbook.web.pages.refs import ref_of
from rtbook_lansia import doses as dose_store
from rtbook_lansia import listing, page_list
from rtbook_lansia.ages import age_on
from rtbook_lansia.exports import MEDIA_TYPES, csv_chunks, xlsx_chunks
from rtbook_lansia.page_areas import PageContext, default_area, page_context, rt_label
from rtbook_lansia.page_list import (
    PageFilters,
    check_min_age,
    count_list,
    cursor_token,
    find_by_ref,
    open_list,
    parse_filters,
)

RtPath = Annotated[str, PathParameter(description="Kode RT (RT code)")]
RefPath = Annotated[str, PathParameter(description="Rujukan penduduk (resident ref)")]
PAGE_ROWS = 25  # rows per page on a phone
LIST_TITLE = "Daftar lansia (elderly list)"
FILTER_KEYS = ("area", "as_of", "min_age", "sex", "vaksin", "vaccine")
DOSE_FIELDS = ("vaccine", "dose_number", "date", "place")
MSG_SAVED = "Dosis tersimpan (dose saved)"
MSG_NO_AREA = "pilih wilayah (choose an area)"
MSG_RESIDENT_NOT_FOUND = "Penduduk tidak ditemukan (resident not found)"


def _db(request: Request[Any, Any, Any]) -> Database:
    return request.app.state.db


async def _principal(request: Request[Any, Any, Any]) -> Principal:
    session = await page_session(request)
    assert session is not None  # require_login
    return session.principal


def _params(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The first value of each query parameter, each at most 200 characters."""
    return {k: v[:200] for k, v in request.query_params.items()}


def _refusal(exc: Exception) -> int:
    return 404 if isinstance(exc, NotFound) else 403


# -- the list -------------------------------------------------------------------------


class Refused(Exception):
    """A filter is wrong (400): shown on the form, next to its field."""

    def __init__(self, field: str, message: str, context: PageContext | None) -> None:
        super().__init__(message)
        self.field, self.message, self.context = field, message, context


async def _checked(
    request: Request[Any, Any, Any], principal: Principal, params: Mapping[str, str]
) -> tuple[PageFilters, PageContext]:
    """The filters and the area's context; Refused (400), NotFound, Forbidden."""
    code = default_area(principal, params)
    if code is None:
        raise Refused("area", MSG_NO_AREA, None)
    try:
        filters = parse_filters(params, code)
    except InvalidQuery as exc:
        raise Refused(exc.field, exc.message, None) from None

    async def unit(conn: Connection) -> PageContext:
        return await page_context(conn, principal, filters.query.area, filters.query.level)

    context = await _db(request).read(unit)
    try:
        check_min_age(filters, context.city_min_age)
    except InvalidQuery as exc:
        raise Refused(exc.field, exc.message, context) from None
    return filters, context


def _form_values(params: Mapping[str, str], filters: PageFilters | None) -> dict[str, str]:
    if filters is not None:
        values = filters.params()
        values.setdefault("vaksin", "")
        return values
    return {key: params.get(key, "") for key in FILTER_KEYS}


async def _list_page(
    request: Request[Any, Any, Any],
    *,
    status_code: int = 200,
    params: Mapping[str, str],
    filters: PageFilters | None = None,
    context: PageContext | None = None,
    errors: Mapping[str, str] | None = None,
    **values: Any,
) -> Response[str]:
    return await render_page(
        request,
        "lansia/list.html",
        title=LIST_TITLE,
        status_code=status_code,
        form=_form_values(params, filters),
        choices=[] if context is None else context.choices,
        city_min_age=None if context is None else context.city_min_age,
        errors=errors or {},
        **{"rows": [], **values},
    )


def _row(secret: bytes, item: listing.LansiaItem) -> dict[str, Any]:
    return {
        "ref": ref_of(secret, item.nik),
        "name": item.name,
        "sex": item.sex,
        "age": item.age,
        "birth_date": item.birth_date,
        "rt": item.rt,
        "rt_label": rt_label(item.rt),
        "address": item.address or "",
        "nik_tail": mask_nik(item.nik),
        "doses": item.doses,
    }


async def lansia_page(request: Request[Any, Any, Any]) -> Response[str]:
    principal = await _principal(request)
    params = _params(request)
    try:
        filters, context = await _checked(request, principal, params)
    except Refused as exc:
        return await _list_page(
            request,
            status_code=400,
            params=params,
            context=exc.context,
            errors={exc.field: exc.message},
        )
    except (NotFound, Forbidden) as exc:
        return await render_error(request, _refusal(exc), str(exc))
    after = params.get("after") or None
    secret, db = page_key(request), _db(request)
    try:
        start = await open_list(
            db, principal, filters, "html", page_size=PAGE_ROWS + 1, after=after, secret=secret
        )
    except InvalidQuery as exc:
        return await _list_page(
            request,
            status_code=400,
            params=params,
            filters=filters,
            context=context,
            errors={exc.field: exc.message},
        )
    except (NotFound, Forbidden) as exc:
        return await render_error(request, _refusal(exc), str(exc))
    items = start.first.items[:PAGE_ROWS]
    has_next = len(start.first.items) > PAGE_ROWS
    await listing.finish_list(db, start, len(items), complete=not has_next)
    spec = start.spec

    async def counting(conn: Connection) -> int:
        return await count_list(conn, spec)

    total = await db.read(counting)
    more_than = page_list.COUNT_CAP if total > page_list.COUNT_CAP else None
    shown_from = _int(params.get("mulai"), 1) if after else 1
    query = filters.params()
    next_href = None
    if has_next:
        next_query = {
            **query,
            "after": cursor_token(secret, items[-1]),
            "mulai": str(shown_from + len(items)),
        }
        next_href = "/lansia?" + urlencode(next_query)
    return await _list_page(
        request,
        params=params,
        filters=filters,
        context=context,
        rows=[_row(secret, item) for item in items],
        total=total if more_than is None else more_than,
        more_than=more_than,
        shown_from=shown_from,
        shown_to=shown_from + len(items) - 1,
        as_of=spec.as_of,
        min_age=spec.min_age,
        area=context.area,
        next_href=next_href,
        first_href="/lansia?" + urlencode(query) if after else None,
        csv_href="/lansia/unduh.csv?" + urlencode(query),
        xlsx_href="/lansia/unduh.xlsx?" + urlencode(query),
    )


def _int(text: str | None, default: int) -> int:
    value = (text or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 9 else default


# -- downloads ------------------------------------------------------------------------


async def _download(request: Request[Any, Any, Any], fmt: str) -> Response[Any]:
    principal = await _principal(request)
    params = _params(request)
    try:
        filters, _ = await _checked(request, principal, params)
    except Refused as exc:
        return await render_error(request, 400, f"{exc.field}: {exc.message}", back="/lansia")
    except (NotFound, Forbidden) as exc:
        return await render_error(request, _refusal(exc), str(exc), back="/lansia")
    db = _db(request)
    start = await open_list(db, principal, filters, fmt, page_size=listing.PAGE_SIZE)
    if start.first.cursor is None:  # one page: iter_pages leaves the audit row as it is
        await listing.finish_list(db, start, len(start.first.items), complete=True)
    pages = listing.iter_pages(db, start)
    area = start.spec.area.code
    chunks = csv_chunks(pages) if fmt == "csv" else xlsx_chunks(pages, title=f"lansia {area}")
    filename = f"lansia-{area}-{start.spec.as_of.isoformat()}.{fmt}"
    return Stream(
        chunks,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


async def download_csv(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _download(request, "csv")


async def download_xlsx(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _download(request, "xlsx")


# -- one resident and their doses -----------------------------------------------------


async def _resident(request: Request[Any, Any, Any], rt: str, ref: str) -> Any:
    """The resident ``ref`` points to in ``rt``, or the 404 page to answer."""
    secret = page_key(request)

    async def find(conn: Connection) -> Any:
        return await find_by_ref(conn, secret, rt, ref)

    resident = await _db(request).read(find)
    if resident is None:
        return await render_error(request, 404, MSG_RESIDENT_NOT_FOUND, back="/lansia")
    return resident


async def _resident_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    rt: str,
    ref: str,
    *,
    status_code: int = 200,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    message: str | None = None,
    notice: str | None = None,
) -> Response[str]:
    """The resident, their doses (an audited read, scope checked) and, for those who
    record doses, the form."""
    resident = await _resident(request, rt, ref)
    if isinstance(resident, Response):
        return resident
    try:
        found = await _db(request).write(dose_store.resident_doses(principal, resident["nik"]))
    except (NotFound, Forbidden) as exc:
        return await render_error(request, _refusal(exc), str(exc), back="/lansia")
    city = resident["city_code"]
    today = now_for(request).astimezone(ZoneInfo(resident["timezone"])).date()
    may_record = dose_store.may_record_doses(principal, rt, city)
    values = {"vaccine": "", "dose_number": "", "date": today.isoformat(), "place": ""}
    values.update(form or {})
    return await render_page(
        request,
        "lansia/resident.html",
        title=f"{resident['name']} · lansia",
        status_code=status_code,
        notice=notice,
        resident={
            "name": resident["name"],
            "sex": resident["sex"],
            "age": age_on(resident["birth_date"], today),
            "birth_date": resident["birth_date"],
            "address": resident["address"] or "",
            "status": resident["status"],
            "rt": rt,
            "rt_label": rt_label(rt),
            "nik_tail": mask_nik(resident["nik"]),
        },
        doses=found.doses,
        may_record=may_record,
        action=f"/lansia/warga/{rt}/{ref}",
        back="/lansia?" + urlencode({"area": rt}),
        form=values,
        errors=errors or {},
        message=message,
        max_dose=dose_store.MAX_DOSE_NUMBER,
        today=today.isoformat(),
    )


async def resident_page(request: Request[Any, Any, Any], rt: RtPath, ref: RefPath) -> Response[str]:
    principal = await _principal(request)
    notice = MSG_SAVED if request.query_params.get("ok") == "1" else None
    return await _resident_page(request, principal, rt, ref, notice=notice)


def _dose_number(text: str) -> Any:
    """The form's text as the API's JSON would carry it: digits are a number."""
    value = text.strip()
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 6 else value


async def record_dose(request: Request[Any, Any, Any], rt: RtPath, ref: RefPath) -> Response[str]:
    session = await page_session(request)
    assert session is not None  # require_login
    await check_csrf(request, session)
    principal = session.principal
    form = await request.form()
    fields: dict[str, str] = {}
    for key in DOSE_FIELDS:
        value = form.get(key)
        fields[key] = value[:200] if isinstance(value, str) else ""
    resident = await _resident(request, rt, ref)
    if isinstance(resident, Response):
        return resident
    data = dose_store.DoseInput(
        nik=resident["nik"],
        vaccine=fields.get("vaccine"),
        dose_number=_dose_number(fields.get("dose_number", "")),
        date=(fields.get("date") or "").strip() or None,
        place=fields.get("place"),
    )
    try:
        dose = dose_store.check_dose(data)
        await _db(request).write(dose_store.add_dose(principal, dose, now=now_for(request)))
    except dose_store.DoseRefused as exc:
        errors = {i.field: i.message for i in exc.issues}
        return await _resident_page(
            request,
            principal,
            rt,
            ref,
            status_code=422,
            form=fields,
            errors=errors,
            message="Dosis tidak dapat dicatat (dose refused)",
        )
    except dose_store.DoseExists as exc:
        return await _resident_page(
            request, principal, rt, ref, status_code=409, form=fields, message=str(exc)
        )
    except (NotFound, Forbidden) as exc:
        return await render_error(request, _refusal(exc), str(exc), back="/lansia")
    return Response(
        content="",
        status_code=303,
        media_type=MediaType.HTML,
        headers={"Location": f"/lansia/warga/{rt}/{ref}?ok=1"},
    )


# -- the handlers ---------------------------------------------------------------------

_PAGE = {
    "guards": [require_login],
    "include_in_schema": False,
    "cache_control": None,
}


def page_handlers() -> list[Any]:
    """New handler objects on every call (each app gets its own)."""
    return [
        get("/lansia", media_type=MediaType.HTML, **_PAGE)(lansia_page),
        get("/lansia/unduh.csv", **_PAGE)(download_csv),
        get("/lansia/unduh.xlsx", **_PAGE)(download_xlsx),
        get("/lansia/warga/{rt:str}/{ref:str}", media_type=MediaType.HTML, **_PAGE)(resident_page),
        post(
            "/lansia/warga/{rt:str}/{ref:str}",
            media_type=MediaType.HTML,
            status_code=303,
            **_PAGE,
        )(record_dose),
    ]
