"""``GET /rt/{rt}/kabar``: "Kabar warga", the RT's feed newest first, and
``GET /rt/{rt}/kabar/baru?after=SEQ``: what came since (HTMX polling).

Readers as for the RT's book (rtbook.core.feed_reads checks scope like the API).
Items the reader had not been shown carry the class ``unread`` and a "Baru" badge;
opening the feed moves the reader's marker to the newest item shown, so the home
page's count drops. The open page asks every 10 s for newer items: the answer is
the next poller plus the new items, put on top of ``#feed`` out of band. Without
JavaScript the page has a plain "Perbarui" link instead.

Audit: the page is an ``events.list`` read like the API's (detail ``view: page``);
a poll is recorded only when it served items (an empty poll shows nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response, get

from rtbook.core import audit
from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.feed_reads import FeedItem, FeedView, feed_since, feed_view
from rtbook.core.ledger.feed import SERVICE_LABELS
from rtbook.core.ledger.reads import AFTER_MAX
from rtbook.core.notify.compose import day_in_words, nik_tail
from rtbook.web.login import now_for, page_session, render, require_login
from rtbook.web.pages.layout import render_error, render_page, rt_short
from rtbook.web.pages.refs import resident_ref
from rtbook.web.pages.rt_common import RtPath, city_time, scoped

POLL_SECONDS = 10
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA"}
ZONE_NAMES["Asia/Jayapura"] = "WIT"


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    service: str
    summary: str
    name: str
    nik: str
    when: str
    unread: bool
    href: str | None


def _entry(request: Request[Any, Any, Any], rt: str, item: FeedItem, timezone: str) -> Entry:
    data = item.data
    resident = data.get("resident") if isinstance(data.get("resident"), dict) else {}
    masked = str(resident.get("nik_masked") or "")
    service_type = str(data.get("service_type") or "")
    moment = city_time(item.time, timezone)
    href = None
    if item.resident_nik and masked[-4:] == item.resident_nik[-4:]:
        href = f"/rt/{rt}/warga/{resident_ref(request, item.resident_nik)}"
    return Entry(
        seq=item.seq,
        service=SERVICE_LABELS.get(service_type, service_type or "Layanan"),
        summary=str(data.get("summary") or ""),
        name=str(resident.get("name") or "-"),
        nik=nik_tail(masked) or "-",
        when=f"{day_in_words(moment.date())} {moment:%H:%M} {ZONE_NAMES.get(timezone, '')}".strip(),
        unread=item.unread,
        href=href,
    )


class BadNumber(ValueError):
    """A sequence number in the address that is not one."""


def _seq_param(raw: str | None) -> int | None:
    """None when absent, else the number (BadNumber when it is not one)."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > AFTER_MAX:
        raise BadNumber(raw)
    return int(raw)


def _msg_seq(name: str) -> str:
    return f"{name}: harus bilangan bulat 0 sampai 2^62 (must be an integer 0..2^62)"


def _recorded_view(
    request: Request[Any, Any, Any],
    principal: Principal,
    rt: str,
    *,
    before: int | None = None,
    after: int | None = None,
) -> Any:
    at = now_for(request)

    async def unit(conn: Connection) -> FeedView:
        if after is None:
            view = await feed_view(conn, principal, rt, before=before, at=at)
            detail: dict[str, Any] = {"rows": len(view.items), "before": before, "view": "page"}
        else:
            view = await feed_since(conn, principal, rt, after, at=at)
            detail = {"rows": len(view.items), "after": after, "view": "poll"}
        if after is None or view.items:
            await audit.record(conn, principal, "events.list", rt, view.city, detail, at=at)
        return view

    return unit


@get(
    "/rt/{rt:str}/kabar",
    guards=[require_login],
    media_type=MediaType.HTML,
    include_in_schema=False,
    cache_control=None,
)
async def feed_page(request: Request[Any, Any, Any], rt: RtPath) -> Response[str]:
    session = await page_session(request)
    assert session is not None  # require_login
    try:
        before = _seq_param(request.query_params.get("before"))
    except BadNumber:
        return await render_error(request, 400, _msg_seq("before"), back=f"/rt/{rt}/kabar")
    view = await scoped(
        request,
        session.principal,
        rt,
        _recorded_view(request, session.principal, rt, before=before),
    )
    if isinstance(view, Response):
        return view
    entries = [_entry(request, rt, item, view.timezone) for item in view.items]
    return await render_page(
        request,
        "pages/feed.html",
        title=f"Kabar warga {rt_short(rt)}",
        rt=rt,
        rt_label=rt_short(rt),
        entries=entries,
        unread_count=sum(e.unread for e in entries),
        newest=view.newest if before is None else None,
        poll_seconds=POLL_SECONDS,
        older_href=f"/rt/{rt}/kabar?before={view.older}" if view.older else None,
        paged=before is not None,
    )


@get(
    "/rt/{rt:str}/kabar/baru",
    guards=[require_login],
    media_type=MediaType.HTML,
    include_in_schema=False,
    cache_control=None,
)
async def feed_new(request: Request[Any, Any, Any], rt: RtPath) -> Response[str]:
    """The poller and the items after ``after`` (HTMX). Opened without HTMX (a link
    followed by hand), it sends the reader to the feed itself."""
    session = await page_session(request)
    assert session is not None  # require_login
    if not request.headers.get("HX-Request"):
        return Response(
            content="",
            status_code=303,
            media_type=MediaType.HTML,
            headers={"Location": f"/rt/{rt}/kabar"},
        )
    try:
        after = _seq_param(request.query_params.get("after"))
    except BadNumber:
        after = None
    if after is None:
        return await render_error(request, 400, _msg_seq("after"), back=f"/rt/{rt}/kabar")
    view = await scoped(
        request, session.principal, rt, _recorded_view(request, session.principal, rt, after=after)
    )
    if isinstance(view, Response):
        return view
    entries = [_entry(request, rt, item, view.timezone) for item in view.items]
    return render(
        "pages/feed_new.html",
        session=session,
        rt=rt,
        entries=entries,
        newest=max(after, view.newest),
        poll_seconds=POLL_SECONDS,
    )


FEED_HANDLERS = (feed_page, feed_new)
