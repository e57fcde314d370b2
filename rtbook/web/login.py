"""The pages' login: GET/POST /login, POST /logout, the session of a page request and
CSRF checks for every state-changing form (docs/sessions.md).

- Sessions are rows (rtbook.core.sessions); the ``rtbook_session`` cookie is HttpOnly,
  SameSite=Lax, Path=/, and Secure when the request came over https (the connection's
  scheme, or the trusted proxy's header: rtbook.web.client.is_https).
- The session cookie authenticates pages only: /api/v1 reads nothing but a bearer
  token (rtbook.web.auth), so the API needs no CSRF protection.
- CSRF: a form that changes state carries the session's token in a hidden ``_csrf``
  field (or the ``X-CSRF-Token`` header, for HTMX's hx-headers); :func:`check_csrf`
  refuses anything else with a 403 page. Before there is a session, the login form
  uses a double-submit cookie signed with RTBOOK_SECRET_KEY, so a forged login
  (logging a victim into the attacker's account) is refused too.
- Passwords are verified off the event loop (argon2id takes tens of ms). An unknown
  user verifies a dummy hash, so unknown user and wrong password look and last alike.
- The clock is ``app.state.clock`` when set (tests drive timeouts with it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeAlias
from urllib.parse import quote

from litestar import MediaType, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from rtbook import __version__
from rtbook.core import audit, ratelimit, sessions, settings
from rtbook.core.auth import Principal, load_principal
from rtbook.core.db import Connection, Database
from rtbook.core.passwords import verify_nothing, verify_password
from rtbook.core.sessions import ActiveSession
from rtbook.web.client import client_address, is_https
from rtbook.web.templating import environment

CLOCK_KEY = "clock"  # app.state key of a ``() -> aware datetime`` replacing the clock
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_CSRF_COOKIE = "rtbook_login_csrf"
NEXT_MAX = 500
# a page handler's parameter ``current_user: CurrentUser`` (None without a session)
CurrentUser: TypeAlias = NamedDependency[Principal | None]
_STATE_KEY = "rtbook_page_session"  # request.state: the session resolved once
_SAFE_NEXT = re.compile(r"/(?![/\\])[\x21-\x7e]*")

MSG_BAD_LOGIN = "Nama pengguna atau kata sandi salah (wrong username or password)"
MSG_BLOCKED = (
    "Terlalu banyak percobaan gagal, coba lagi nanti (too many failed attempts, try later)"
)
MSG_LOGIN_CSRF = (
    "Formulir kedaluwarsa atau tidak sah, silakan coba lagi (form expired or invalid, "
    "please try again)"
)
MSG_CSRF = "Token formulir tidak ada atau salah (missing or wrong form token)"
MSG_NOT_HERE = "Halaman ini tidak ada di kota ini (no such page in this city)"


# -- rendering ----------------------------------------------------------------------------


def render(
    name: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    session: ActiveSession | None = None,
    template_dirs: Sequence[str] = (),
    **context: Any,
) -> Response[str]:
    """A page from rtbook/web/templates (and ``template_dirs``, plugins' folders);
    ``session`` shows who is logged in. Its CSRF token is masked afresh on every page
    (rtbook.core.sessions.mask_csrf), since pages are sent compressed. A logged-in
    page is never stored by the browser's HTTP cache (personal data)."""
    values: dict[str, Any] = {
        "user": None if session is None else session.principal,
        "csrf_token": None if session is None else sessions.mask_csrf(session.csrf_token),
        "version": __version__,
    }
    values.update(context)
    html = environment(template_dirs).get_template(name).render(**values)
    all_headers = {"Cache-Control": "no-store"} if session is not None else {}
    all_headers.update(headers or {})
    return Response(
        content=html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers=all_headers,
    )


# -- the request's clock, session and user ------------------------------------------------


def now_for(connection: ASGIConnection[Any, Any, Any, Any]) -> datetime:
    clock: Callable[[], datetime] | None = connection.app.state.get(CLOCK_KEY)
    return clock() if clock is not None else datetime.now(UTC)


def _db(connection: ASGIConnection[Any, Any, Any, Any]) -> Database:
    return connection.app.state.db


async def page_session(connection: ASGIConnection[Any, Any, Any, Any]) -> ActiveSession | None:
    """The live session of a page request (resolved once per request: idle and
    absolute timeouts checked, last-seen moved on), or None."""
    if _STATE_KEY in connection.state:
        return connection.state[_STATE_KEY]
    cookie = connection.cookies.get(sessions.COOKIE_NAME)
    active = None
    if cookie:
        at = now_for(connection)

        async def unit(conn: Connection) -> ActiveSession | None:
            return await sessions.resume_session(conn, cookie, at)

        active = await _db(connection).write(unit)
    connection.state[_STATE_KEY] = active
    return active


async def provide_current_user(request: Request[Any, Any, Any]) -> Principal | None:
    """Dependency ``current_user`` of the pages: the logged-in user, or None."""
    active = await page_session(request)
    return None if active is None else active.principal


class PageError(Exception):
    """Raised by page code; answered as an HTML page (see PAGE_EXCEPTION_HANDLERS)."""


class LoginRequired(PageError):
    """No live session: the browser is sent to /login, and back here afterwards."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class CsrfRejected(PageError):
    """A state-changing request without the session's CSRF token: 403."""


class PageNotFound(PageError):
    """A page that does not exist here (e.g. a plugin's page where it is off): 404."""


async def require_login(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard for pages that need a logged-in user (then ``current_user`` is set)."""
    if await page_session(connection) is None:
        raise login_required(connection)


def login_required(connection: ASGIConnection[Any, Any, Any, Any]) -> LoginRequired:
    """To the login page, and back to this page's address afterwards."""
    path = connection.url.path
    if connection.url.query:
        path += "?" + connection.url.query
    return LoginRequired(path)


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The form fields that are text (a file or a repeated field keeps its first text)."""
    form = await request.form()
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in fields:
            fields[key] = value
    return fields


async def check_csrf(request: Request[Any, Any, Any], session: ActiveSession) -> None:
    """Refuse (CsrfRejected, 403) a state-changing request of a session whose form
    field ``_csrf`` or header ``X-CSRF-Token`` is not the session's token."""
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        given = (await _form(request)).get(CSRF_FIELD)
    if not sessions.csrf_matches(session.csrf_token, given):
        raise CsrfRejected()


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another host, //x, /\\x,
    control characters) becomes /."""
    if value and len(value) <= NEXT_MAX and _SAFE_NEXT.fullmatch(value):
        return value
    return "/"


# -- cookies ------------------------------------------------------------------------------


def _cookie(request: Request[Any, Any, Any], key: str, value: str, path: str = "/") -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=path,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def _expired_cookie(request: Request[Any, Any, Any], key: str, path: str = "/") -> Cookie:
    cookie = _cookie(request, key, "", path)
    cookie.max_age = 0
    cookie.expires = 0
    return cookie


@cache
def _secret(raw_url: str) -> bytes:
    return settings.secret_key(settings.DatabaseURL.parse(raw_url)).encode("utf-8")


def page_key(connection: ASGIConnection[Any, Any, Any, Any]) -> bytes:
    """RTBOOK_SECRET_KEY as bytes: the key of the login form's token and of the pages'
    resident references (rtbook.web.pages.refs)."""
    return _secret(connection.app.state.database_url.raw)


def _login_signature(request: Request[Any, Any, Any], nonce: str) -> str:
    key = page_key(request)
    mac = hmac.new(key, b"rtbook-login-csrf:" + nonce.encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def _new_login_token(request: Request[Any, Any, Any]) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_login_signature(request, nonce)}"


def _login_token_valid(request: Request[Any, Any, Any], token: str | None) -> bool:
    if not token or len(token) > 200 or "." not in token:
        return False
    nonce, _, signature = token.partition(".")
    if not nonce.isascii():
        return False
    return sessions.csrf_matches(_login_signature(request, nonce), signature)


def _login_page(
    request: Request[Any, Any, Any],
    *,
    status_code: int = 200,
    message: str | None = None,
    username: str = "",
    next_path: str = "/",
    headers: Mapping[str, str] | None = None,
    session: ActiveSession | None = None,
) -> Response[str]:
    """The login form, with the pre-session CSRF cookie (kept when still valid)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not _login_token_valid(request, token):
        token = _new_login_token(request)
    response = render(
        "login.html",
        status_code=status_code,
        headers=headers,
        session=session,
        message=message,
        username=username[: sessions.USERNAME_MAX],
        next=next_path,
        login_token=token,
    )
    response.set_cookie(_cookie(request, LOGIN_CSRF_COOKIE, token, path="/login"))
    return response


def _redirect(location: str, cookies: list[Cookie]) -> Response[str]:
    return Response(
        content="",
        status_code=303,
        media_type=MediaType.HTML,
        headers={"Location": location},
        cookies=cookies,
    )


# -- handlers -----------------------------------------------------------------------------


@get("/login", media_type=MediaType.HTML, include_in_schema=False, cache_control=None)
async def login_form(request: Request[Any, Any, Any]) -> Response[str]:
    """The form, also to a logged-in user (who sees who they are, and may switch: a
    login ends the browser's previous session)."""
    next_path = safe_next(request.query_params.get("next"))
    return _login_page(request, next_path=next_path, session=await page_session(request))


@post("/login", media_type=MediaType.HTML, include_in_schema=False, status_code=303)
async def login(request: Request[Any, Any, Any]) -> Response[str]:
    fields = await _form(request)
    username = fields.get("username", "").strip().lower()
    password = fields.get("password", "")
    next_path = safe_next(fields.get("next"))
    given = request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not (
        _login_token_valid(request, cookie_token)
        and cookie_token is not None
        and sessions.csrf_matches(cookie_token, given)
    ):
        return _login_page(
            request,
            status_code=403,
            message=MSG_LOGIN_CSRF,
            username=username,
            next_path=next_path,
        )

    db, at, client = _db(request), now_for(request), client_address(request)

    async def blocked(conn: Connection) -> float | None:
        return await ratelimit.login_blocked(conn, username, client, at)

    wait = await db.read(blocked)
    if wait is not None:
        return _login_page(
            request,
            status_code=429,
            message=MSG_BLOCKED,
            username=username,
            next_path=next_path,
            headers={"Retry-After": str(math.ceil(wait))},
        )

    async def candidate(conn: Connection) -> tuple[int, str] | None:
        return await sessions.login_candidate(conn, username)

    found = await db.read(candidate)
    if found is None:
        ok = await asyncio.to_thread(verify_nothing, password)
    else:
        ok = await asyncio.to_thread(verify_password, found[1], password)

    async def succeed(conn: Connection) -> tuple[Principal, sessions.NewSession] | None:
        assert found is not None
        principal = await load_principal(conn, found[0])
        if principal is None:  # deactivated between the two units
            return None
        await sessions.end_session_by_id(conn, request.cookies.get(sessions.COOKIE_NAME))
        new = await sessions.start_session(conn, principal.user_id, at)
        await ratelimit.login_succeeded(conn, username, client, at)
        await audit.record(
            conn,
            principal,
            "auth.login",
            principal.username,
            principal.city_code,
            {"client": client},
            at=at,
        )
        return principal, new

    started = await db.write(succeed) if ok and found is not None else None
    if started is None:

        async def fail(conn: Connection) -> None:
            await ratelimit.login_failed(conn, username, client, at)
            await audit.record(
                conn,
                None,
                "auth.login_failed",
                None,
                None,
                {"client": client},
                at=at,
                username=username,
            )

        await db.write(fail)
        return _login_page(
            request,
            status_code=401,
            message=MSG_BAD_LOGIN,
            username=username,
            next_path=next_path,
        )
    _, new = started
    return _redirect(
        next_path,
        [
            _cookie(request, sessions.COOKIE_NAME, new.session_id),
            _expired_cookie(request, LOGIN_CSRF_COOKIE, path="/login"),
        ],
    )


@post("/logout", media_type=MediaType.HTML, include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[str]:
    active = await page_session(request)
    if active is not None:
        await check_csrf(request, active)
        at = now_for(request)

        async def unit(conn: Connection) -> None:
            await sessions.end_session(conn, active.id_hash)
            await audit.record(
                conn,
                active.principal,
                "auth.logout",
                active.principal.username,
                active.principal.city_code,
                {"client": client_address(request)},
                at=at,
            )

        await _db(request).write(unit)
    response = _redirect("/login", [_expired_cookie(request, sessions.COOKIE_NAME)])
    # the phone forgets the pages it kept offline (service worker caches, storage)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


# -- errors of pages ----------------------------------------------------------------------


def _page_error(request: Request[Any, Any, Any], exc: PageError) -> Response[str]:
    if isinstance(exc, LoginRequired):
        location = "/login" if exc.path == "/" else f"/login?next={_quote(exc.path)}"
        return _redirect(location, [])
    session = request.state.get(_STATE_KEY)
    if isinstance(exc, PageNotFound):
        return render(
            "error.html",
            status_code=404,
            session=session,
            status=404,
            title="Tidak ditemukan (not found)",
            message=MSG_NOT_HERE,
            back="/",
        )
    return render(
        "error.html",
        status_code=403,
        session=session,
        status=403,
        title="Ditolak (forbidden)",
        message=MSG_CSRF,
        back="/",
    )


def _quote(path: str) -> str:
    return quote(safe_next(path), safe="/")


PAGE_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {PageError: _page_error}
LOGIN_HANDLERS = (login_form, login, logout)
