"""/admin/pengguna: the city's users (role, scope, active) and a form creating one.

The checks are rtbook.core.users.new_user's (the CLI's ``rtbook user add``) and
rtbook.core.user_admin.create_user's (a city admin creates users of their own
city only, never an admin). A generated password is shown once, on the page that
answers the form (never in an address); a typed one follows the password policy.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from litestar import Request, Response, get, post

from rtbook.core.auth import Role
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, RtbookError
from rtbook.core.user_admin import UserSummary, create_user, list_city_users
from rtbook.core.users import NewUser, generated_password, new_password_problem, new_user
from rtbook.web.home import ROLE_LABELS
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

TITLE = "Pengguna kota (the city's users)"
FIELDS = ("username", "role", "rt", "area", "whatsapp", "email", "password", "city")
TEXT_MAX = 2000
_ISSUE = re.compile(r"^(?P<field>[a-z_]+): (?P<message>.*)$", re.DOTALL)


def role_choices(page: AdminPage) -> list[tuple[str, str]]:
    """The roles the caller may give: an admin all, a city admin all but admin."""
    return [
        (role.value, ROLE_LABELS[role])
        for role in Role
        if role is not Role.ADMIN or page.principal.is_admin
    ]


def field_errors(message: str) -> dict[str, list[str]]:
    """A core one-line refusal ("field: why; field: why") by form field; what names
    no known field goes under ``""`` (shown above the form)."""
    found: dict[str, list[str]] = {}
    for part in message.split("; "):
        match = _ISSUE.match(part)
        if match and match.group("field") in FIELDS:
            name = match.group("field")
            key = "" if name == "city" else name  # the form has no city field
            found.setdefault(key, []).append(match.group("message"))
        else:
            found.setdefault("", []).append(part)
    return found


async def _page(
    request: Request[Any, Any, Any],
    page: AdminPage,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
) -> Response[str]:
    async def unit(conn: Connection) -> list[UserSummary]:
        return await list_city_users(conn, page.principal, page.city)

    users = await request.app.state.db.read(unit)
    return await render_admin(
        request,
        page,
        "pages/admin_users.html",
        title=TITLE,
        status_code=status_code,
        notice=notice,
        users=users,
        roles=role_choices(page),
        role_labels={role.value: label for role, label in ROLE_LABELS.items()},
        rt_short=rt_short,
        values=values or {"password_mode": "generate"},
        errors=errors or {},
    )


@get("/admin/pengguna", cache_control=None, **ADMIN_ROUTE)
async def user_list(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    return await _page(request, page)


def _checked_user(page: AdminPage, values: dict[str, str], password: str | None) -> NewUser:
    """The form as a NewUser (password hashed): RtbookError listing every problem."""
    username = values.get("username", "").strip().lower()
    role = values.get("role", "")
    if password is not None and (problem := new_password_problem(password, username)):
        raise RtbookError(f"password: {problem}")
    return new_user(
        username,
        role,
        city=None if role == Role.ADMIN.value else page.city,
        rts=split_codes(values.get("rt", "")),
        areas=split_codes(values.get("area", "")),
        whatsapp=values.get("whatsapp", "").strip() or None,
        email=values.get("email", "").strip() or None,
        password=password,
    )


@post("/admin/pengguna", status_code=303, **ADMIN_ROUTE)
async def user_create(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    fields = await form_fields(request)
    values = {k: fields.get(k, "")[:TEXT_MAX] for k in (*FIELDS, "password_mode")}
    values.pop("password")  # never rendered back
    generate = fields.get("password_mode", "generate") != "typed"
    password = generated_password() if generate else fields.get("password", "")[:1024]
    if values.get("role") == Role.ADMIN.value and not page.principal.is_admin:
        return await core_error(
            request, Forbidden("admin kota tidak boleh membuat admin (cannot create admins)"), "/"
        )
    try:
        user = await asyncio.to_thread(_checked_user, page, values, password)

        async def unit(conn: Connection) -> int:
            city = None if user.role is Role.ADMIN else page.city
            return await create_user(conn, page.principal, user, city)

        await request.app.state.db.write(unit)
    except Forbidden as exc:  # e.g. an RT of another city: the form again, refused
        return await _page(request, page, status_code=403, values=values, errors={"": [str(exc)]})
    except RtbookError as exc:
        return await _page(
            request, page, status_code=422, values=values, errors=field_errors(str(exc))
        )
    if not generate:
        return redirect(page.url(f"/admin/pengguna/{user.username}", ok="created"))
    return await render_admin(
        request,
        page,
        "pages/admin_secret.html",
        title="Pengguna dibuat (user created)",
        notice=f"Pengguna {user.username} dibuat (user created)",
        heading="Kata sandi awal",
        heading_en="initial password",
        secret=password,
        username=user.username,
    )


ADMIN_USERS_HANDLERS = (user_list, user_create)
