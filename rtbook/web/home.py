"""The site's root and the pages every visitor may open.

- ``GET /``: the logged-in user's home (a tile per menu entry, unread feed items);
  without a session, the login page.
- ``GET /tentang``: what this server is and where its API lives (no login).
- ``POST /bahasa``: the reader's language for the pages (Bahasa Indonesia, or
  English glosses beside it), kept in a cookie; only a display preference.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import Cookie

from rtbook.core.auth import Principal, Role
from rtbook.web.client import is_https
from rtbook.web.login import page_session, render, require_login, safe_next
from rtbook.web.pages.layout import LANG_COOKIE, LANGUAGES, render_page, rt_short

ROLE_LABELS = {
    Role.ADMIN: "Admin sistem (system admin)",
    Role.CITY_ADMIN: "Admin kota (city admin)",
    Role.RT_HEAD: "Ketua RT (RT head)",
    Role.HEALTH_WORKER: "Petugas kesehatan (health worker)",
    Role.INTEGRATOR: "Integrasi SIAK (registry integrator)",
}
LANG_MAX_AGE = 365 * 24 * 3600


def _scope_label(principal: Principal) -> str:
    if principal.rt_codes:
        return ", ".join(rt_short(rt) for rt in sorted(principal.rt_codes))
    if principal.area_codes:
        return "wilayah (areas) " + ", ".join(sorted(principal.area_codes))
    return principal.city_code or ""


@get(
    "/",
    media_type=MediaType.HTML,
    include_in_schema=False,
    cache_control=None,
    guards=[require_login],
)
async def home(request: Request[Any, Any, Any]) -> Response[str]:
    session = await page_session(request)
    assert session is not None  # require_login
    principal = session.principal
    return await render_page(
        request,
        "home.html",
        title="Beranda (home)",
        role_label=ROLE_LABELS[principal.role],
        scope_label=_scope_label(principal),
        unread=await unread_feed(request, principal),
        rt_short=rt_short,
        request_path="/",
    )


async def unread_feed(
    request: Request[Any, Any, Any], principal: Principal
) -> list[tuple[str, int]]:
    """(RT, unread feed items) of an RT head's RTs that have any (rtbook.core
    .feed_reads: events after the head's marker, moved when they open the feed)."""
    from rtbook.core.feed_reads import unread_counts

    if not principal.rt_codes:
        return []

    async def unit(conn: Any) -> dict[str, int]:
        return await unread_counts(conn, principal.user_id, principal.rt_codes)

    counts = await request.app.state.db.read(unit)
    return [(rt, counts[rt]) for rt in sorted(counts)]


@get("/tentang", media_type=MediaType.HTML, include_in_schema=False, cache_control=None)
async def about(request: Request[Any, Any, Any]) -> Response[str]:
    return render("about.html", session=await page_session(request), title="Tentang (about)")


@post("/bahasa", media_type=MediaType.HTML, include_in_schema=False, status_code=303)
async def choose_language(request: Request[Any, Any, Any]) -> Response[str]:
    form = await request.form()
    lang = form.get("lang")
    lang = lang if isinstance(lang, str) and lang in LANGUAGES else "id"
    back = request.headers.get("referer", "/")
    host = f"{request.url.scheme}://{request.url.netloc}"
    next_path = safe_next(back[len(host) :] if back.startswith(host + "/") else "/")
    cookie = Cookie(
        key=LANG_COOKIE,
        value=lang,
        path="/",
        max_age=LANG_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    return Response(
        content="",
        status_code=303,
        media_type=MediaType.HTML,
        headers={"Location": next_path},
        cookies=[cookie],
    )


HOME_HANDLERS = (home, about, choose_language)
