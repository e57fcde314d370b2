"""/admin/pengguna/{username}: one user of the city: scope, API tokens (prefixes
only), and the actions of the CLI and API on it:

- reset the password (rtbook.core.users.reset_password: ends their web sessions,
  audited): generated and shown once, or typed;
- create an API token (shown once) and revoke tokens (all, or one by prefix);
- deactivate / reactivate (rtbook.core.user_admin.set_user_active).

Scope: rtbook.core.user_admin.managed_user (a city admin: users of their city).
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from rtbook.core.db import Connection
from rtbook.core.errors import RtbookError
from rtbook.core.passwords import hash_password
from rtbook.core.user_admin import UserSummary, create_user_token, managed_user, set_user_active
from rtbook.core.users import (
    TokenInfo,
    generated_password,
    list_tokens,
    new_password_problem,
    reset_password,
    revoke_user_tokens,
)
from rtbook.web.home import ROLE_LABELS
from rtbook.web.login import now_for
from rtbook.web.pages.admin_common import (
    ADMIN_ROUTE,
    AdminPage,
    admin_page,
    admin_post,
    core_error,
    form_fields,
    redirect,
    render_admin,
)
from rtbook.web.pages.layout import rt_short

NOTICES = {
    "created": "Pengguna dibuat (user created)",
    "password": "Kata sandi diganti, sesi web pengguna diakhiri (password reset, sessions ended)",
    "revoked": "Token dicabut (tokens revoked)",
    "active": "Pengguna diaktifkan (user activated)",
    "inactive": "Pengguna dinonaktifkan, sesi web diakhiri (user deactivated, sessions ended)",
}
PASSWORD_MAX = 1024
PREFIX_MAX = 12  # api_token.prefix


def _path(username: str) -> str:
    return f"/admin/pengguna/{username}"


async def _detail(
    request: Request[Any, Any, Any],
    page: AdminPage,
    username: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response[str]:
    async def unit(conn: Connection) -> tuple[UserSummary, list[TokenInfo]]:
        user = await managed_user(conn, page.principal, username)
        return user, await list_tokens(conn, user.id)

    try:
        user, tokens = await request.app.state.db.read(unit)
    except RtbookError as exc:
        return await core_error(request, exc, page.url("/admin/pengguna"))
    return await render_admin(
        request,
        page,
        "pages/admin_user.html",
        title=f"Pengguna {user.username} (user)",
        status_code=status_code,
        notice=notice,
        u=user,
        tokens=tokens,
        role_label=ROLE_LABELS[user.role],
        rt_short=rt_short,
        errors=errors or {},
        is_self=user.id == page.principal.user_id,
    )


@get("/admin/pengguna/{username:str}", cache_control=None, **ADMIN_ROUTE)
async def user_detail(request: Request[Any, Any, Any], username: FromPath[str]) -> Response[str]:
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    notice = NOTICES.get(request.query_params.get("ok") or "")
    return await _detail(request, page, username, notice=notice)


@post("/admin/pengguna/{username:str}/sandi", status_code=303, **ADMIN_ROUTE)
async def user_password(request: Request[Any, Any, Any], username: FromPath[str]) -> Response[str]:
    """Reset: the typed password, or a generated one shown once on the answer."""
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    fields = await form_fields(request)
    typed = fields.get("password_mode") == "typed"
    password = fields.get("password", "")[:PASSWORD_MAX] if typed else generated_password()
    problem = new_password_problem(password, username)
    if problem:
        return await _detail(request, page, username, status_code=422, errors={"password": problem})
    password_hash = await asyncio.to_thread(hash_password, password)
    at = now_for(request)

    async def unit(conn: Connection) -> None:
        await reset_password(conn, page.principal, username, password_hash, now=at)

    try:
        await request.app.state.db.write(unit)
    except RtbookError as exc:
        return await core_error(request, exc, page.url("/admin/pengguna"))
    if typed:
        return redirect(page.url(_path(username), ok="password"))
    return await render_admin(
        request,
        page,
        "pages/admin_secret.html",
        title="Kata sandi baru (new password)",
        notice=NOTICES["password"],
        heading="Kata sandi baru",
        heading_en="new password",
        secret=password,
        username=username,
    )


@post("/admin/pengguna/{username:str}/token", status_code=303, **ADMIN_ROUTE)
async def user_token(request: Request[Any, Any, Any], username: FromPath[str]) -> Response[str]:
    """A new API token, shown once on the answer."""
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    at = now_for(request)

    async def unit(conn: Connection) -> str:
        return await create_user_token(conn, page.principal, username, now=at)

    try:
        token = await request.app.state.db.write(unit)
    except RtbookError as exc:
        return await core_error(request, exc, page.url("/admin/pengguna"))
    return await render_admin(
        request,
        page,
        "pages/admin_secret.html",
        title="Token API baru (new API token)",
        notice="Token dibuat (token created)",
        heading="Token API baru",
        heading_en="new API token",
        secret=token,
        username=username,
    )


@post("/admin/pengguna/{username:str}/cabut", status_code=303, **ADMIN_ROUTE)
async def user_revoke(request: Request[Any, Any, Any], username: FromPath[str]) -> Response[str]:
    """Revoke one token (``prefix``) or every active one (``prefix`` empty)."""
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    prefix = (await form_fields(request)).get("prefix", "").strip() or None
    if prefix is not None and len(prefix) > PREFIX_MAX:
        return await _detail(
            request,
            page,
            username,
            status_code=422,
            errors={"prefix": "prefiks token tidak dikenal (unknown token prefix)"},
        )
    at = now_for(request)

    async def unit(conn: Connection) -> list[str]:
        return await revoke_user_tokens(conn, page.principal, username, prefix, now=at)

    try:
        await request.app.state.db.write(unit)
    except RtbookError as exc:
        return await core_error(request, exc, page.url(_path(username)))
    return redirect(page.url(_path(username), ok="revoked"))


@post("/admin/pengguna/{username:str}/aktif", status_code=303, **ADMIN_ROUTE)
async def user_active(request: Request[Any, Any, Any], username: FromPath[str]) -> Response[str]:
    """``active`` "1" reactivates, "0" deactivates."""
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    value = (await form_fields(request)).get("active")
    if value not in ("0", "1"):
        return await render_admin_error(request, page, username)
    at = now_for(request)

    async def unit(conn: Connection) -> None:
        await set_user_active(conn, page.principal, username, value == "1", now=at)

    try:
        await request.app.state.db.write(unit)
    except RtbookError as exc:
        return await core_error(request, exc, page.url(_path(username)))
    return redirect(page.url(_path(username), ok="active" if value == "1" else "inactive"))


async def render_admin_error(
    request: Request[Any, Any, Any], page: AdminPage, username: str
) -> Response[str]:
    return await core_error(
        request,
        RtbookError("pilihan aktif tidak sah (invalid active choice)"),
        page.url(_path(username)),
    )


ADMIN_USER_HANDLERS = (user_detail, user_password, user_token, user_revoke, user_active)
