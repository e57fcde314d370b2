"""What a city admin manages besides what rtbook.core.users already does: the city's
users (listing, creating, API tokens, deactivating) and its RTs (listing with
resident counts and heads, adding), each checked against the caller's city and
audited like the CLI and API do.

The rules: an admin manages every city; a city_admin only the users and RTs of
their own city, and never creates an admin (admins have no city, so a city_admin
can never reach one). Everything here is a unit of work for ``db.read`` /
``db.write``; the slow password hash happens before (rtbook.core.users.new_user).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rtbook.core import audit
from rtbook.core.auth import TOKEN_PREFIX, Principal, Role, create_token
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.notify.masking import mask_address
from rtbook.core.rts import RTCode, add_rts, parse_rt_codes
from rtbook.core.users import NewUser, end_web_sessions, insert_user

MSG_NOT_YOURS = "tidak berwenang mengubah pengguna ini (not allowed for this user)"
MSG_NO_ADMIN = "admin kota tidak boleh membuat admin (a city admin cannot create admins)"
MSG_NOT_MANAGER = "hanya admin kota dan admin (city admins and admins only)"


def check_city_manager(principal: Principal, city: str) -> None:
    """Forbidden unless the caller manages ``city`` (admin, or that city's admin)."""
    if not principal.can_manage_city(city):
        raise Forbidden(MSG_NOT_MANAGER)


# -- users --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user as the admin pages show it: contact addresses masked."""

    id: int
    username: str
    role: Role
    city_code: str | None
    rt_codes: tuple[str, ...]
    area_codes: tuple[str, ...]
    is_active: bool
    whatsapp: str | None  # masked
    email: str | None  # masked
    active_tokens: int


async def _summaries(conn: Connection, where: str, *args: object) -> list[UserSummary]:
    rows = await conn.fetch(
        "SELECT id, username, role, city_code, whatsapp, email, is_active FROM rtbook_user"
        f" WHERE {where} ORDER BY username",
        *args,
    )
    found: list[UserSummary] = []
    for row in rows:
        user_id = int(row["id"])
        rts = await conn.fetch(
            "SELECT rt_code FROM user_rt WHERE user_id = $1 ORDER BY rt_code", user_id
        )
        areas = await conn.fetch(
            "SELECT region_code FROM user_area WHERE user_id = $1 ORDER BY region_code", user_id
        )
        tokens = await conn.fetchval(
            "SELECT count(*) FROM api_token WHERE user_id = $1 AND revoked_at IS NULL", user_id
        )
        found.append(
            UserSummary(
                id=user_id,
                username=row["username"],
                role=Role(row["role"]),
                city_code=row["city_code"],
                rt_codes=tuple(r[0] for r in rts),
                area_codes=tuple(r[0] for r in areas),
                is_active=bool(row["is_active"]),
                whatsapp=mask_address(row["whatsapp"]) if row["whatsapp"] else None,
                email=mask_address(row["email"]) if row["email"] else None,
                active_tokens=int(tokens or 0),
            )
        )
    return found


async def list_city_users(conn: Connection, principal: Principal, city: str) -> list[UserSummary]:
    """The users of ``city`` (active or not), by username; Forbidden outside the
    caller's city."""
    check_city_manager(principal, city)
    return await _summaries(conn, "city_code = $1", city)


async def managed_user(conn: Connection, principal: Principal, username: str) -> UserSummary:
    """One user the caller may manage; NotFound for an unknown name, Forbidden for a
    user outside the caller's city (an admin, for a city_admin)."""
    found = await _summaries(conn, "username = $1", username)
    if not found:
        raise NotFound(f"pengguna {username[:64]!r} tidak ada (unknown user)")
    user = found[0]
    if not principal.is_admin and not (
        user.city_code is not None and principal.can_manage_city(user.city_code)
    ):
        raise Forbidden(MSG_NOT_YOURS)
    return user


def check_may_create(principal: Principal, user: NewUser, city: str | None) -> None:
    """Forbidden when the caller may not create ``user`` in ``city``: only an admin
    creates admins; a city_admin creates users of their own city only (the scopes'
    city is checked against the stored RTs and regions by insert_user)."""
    if principal.is_admin:
        return
    if user.role is Role.ADMIN:
        raise Forbidden(MSG_NO_ADMIN)
    if city is None or not principal.can_manage_city(city):
        raise Forbidden(MSG_NOT_MANAGER)
    outside = [
        code
        for code in (user.city_code, *user.rt_codes, *user.area_codes)
        if code is not None and code[:5] != city
    ]
    if outside:
        raise Forbidden(f"di luar kota {city}: {', '.join(outside)} (outside your city {city})")


async def create_user(
    conn: Connection,
    principal: Principal,
    user: NewUser,
    city: str | None,
    *,
    now: datetime | None = None,
) -> int:
    """Store a user checked by rtbook.core.users.new_user for a city admin or admin
    (check_may_create) and audit it (``user.create``); the new id. RtbookError
    naming every problem (name taken, unknown RT, scopes in two cities)."""
    check_may_create(principal, user, city)
    moment = now or datetime.now(UTC)
    user_id = await insert_user(conn, user, now=moment)
    stored_city = await conn.fetchval("SELECT city_code FROM rtbook_user WHERE id = $1", user_id)
    if not principal.is_admin and stored_city != city:  # insert_user found another city
        raise Forbidden(MSG_NOT_MANAGER)
    detail = {
        "user_id": user_id,
        "role": user.role.value,
        "rts": list(user.rt_codes),
        "areas": list(user.area_codes),
        "password_set": user.password_hash is not None,
    }
    await audit.record(
        conn, principal, "user.create", user.username, stored_city, detail, at=moment
    )
    return user_id


async def create_user_token(
    conn: Connection, principal: Principal, username: str, *, now: datetime | None = None
) -> str:
    """A new API token for a user the caller manages, audited like ``rtbook token
    create`` (``token.create``, its prefix only); the token, to be shown once."""
    user = await managed_user(conn, principal, username)
    token = await create_token(conn, user.id)
    prefix = token[: len(TOKEN_PREFIX) + 6]  # as stored in api_token.prefix
    detail = {"user_id": user.id, "prefix": prefix, "via": "web"}
    await audit.record(conn, principal, "token.create", username, user.city_code, detail, at=now)
    return token


async def set_user_active(
    conn: Connection,
    principal: Principal,
    username: str,
    active: bool,
    *,
    now: datetime | None = None,
) -> None:
    """Deactivate (its web sessions end; its tokens stop working, since tokens are
    only honoured for active users) or reactivate a user the caller manages;
    audited as ``user.deactivate`` / ``user.activate``. Nobody deactivates
    themselves (an admin locked out of their own pages)."""
    user = await managed_user(conn, principal, username)
    if not active and user.id == principal.user_id:
        raise RtbookError("tidak bisa menonaktifkan akun sendiri (you cannot deactivate yourself)")
    await conn.execute("UPDATE rtbook_user SET is_active = $1 WHERE id = $2", active, user.id)
    if not active:
        await end_web_sessions(conn, user.id)
    action = "user.activate" if active else "user.deactivate"
    await audit.record(conn, principal, action, username, user.city_code, {}, at=now)


# -- RTs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RTSummary:
    code: str
    residents: int  # active residents
    households: int
    heads: tuple[str, ...]  # usernames of the RT's active heads


async def city_rts(conn: Connection, principal: Principal, city: str) -> list[RTSummary]:
    """The city's RTs in code order, with their active residents, households and
    heads; Forbidden outside the caller's city."""
    check_city_manager(principal, city)
    rows = await conn.fetch(
        "SELECT rt.code,"
        " (SELECT count(*) FROM resident r WHERE r.rt_code = rt.code AND r.status = $2) AS people,"
        " (SELECT count(*) FROM household h WHERE h.rt_code = rt.code) AS families"
        " FROM rt WHERE rt.city_code = $1 ORDER BY rt.code",
        city,
        "active",
    )
    heads = await conn.fetch(
        "SELECT ur.rt_code, u.username FROM user_rt ur"
        " JOIN rtbook_user u ON u.id = ur.user_id JOIN rt ON rt.code = ur.rt_code"
        " WHERE rt.city_code = $1 AND u.is_active = $2 ORDER BY u.username",
        city,
        True,
    )
    by_rt: dict[str, list[str]] = {}
    for row in heads:
        by_rt.setdefault(row["rt_code"], []).append(row["username"])
    return [
        RTSummary(
            code=row["code"],
            residents=int(row["people"]),
            households=int(row["families"]),
            heads=tuple(by_rt.get(row["code"], ())),
        )
        for row in rows
    ]


async def add_city_rts(
    conn: Connection,
    principal: Principal,
    city: str,
    codes: Iterable[str],
    *,
    now: datetime | None = None,
) -> list[RTCode]:
    """``rtbook rt add`` for a city admin: the same checks (rtbook.core.rts, all or
    nothing), every RT inside ``city``, audited as ``rt.add``."""
    check_city_manager(principal, city)
    parsed = parse_rt_codes(codes)
    outside = [r.code for r in parsed if r.city != city]
    if outside:
        raise RtbookError(f"RT di luar kota {city} (RTs outside the city): {', '.join(outside)}")
    added = await add_rts(conn, [r.code for r in parsed], now=now)
    await audit.record(
        conn, principal, "rt.add", city, city, {"rts": [r.code for r in added]}, at=now
    )
    return added
