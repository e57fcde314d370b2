"""Users and their scopes: shared by ``rtbook user add`` and (later) the web admin.

Two steps, so the slow part stays out of database transactions: :func:`new_user`
checks what needs no database and hashes the password (argon2id, tens of ms), then
:func:`insert_user`, inside a write transaction, checks the scopes against the stored
cities, RTs and regions and writes ``rtbook_user``, ``user_rt`` and ``user_area``.
Both raise :class:`RtbookError` with one line listing every problem.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.passwords import hash_password, password_problem
from rtbook.core.regions import city_exists, region_info, region_level
from rtbook.core.validation import (
    Issues,
    check_email,
    check_region_code,
    check_rt_code,
    normalize_phone,
)

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,64}")
ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user checked without the database, ready for :func:`insert_user`."""

    username: str
    role: Role
    city_code: str | None = None
    rt_codes: tuple[str, ...] = ()
    area_codes: tuple[str, ...] = ()
    whatsapp: str | None = None  # E.164
    email: str | None = None
    password_hash: str | None = None


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values))


def check_username(username: str, issues: Issues) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        issues.error(
            "username",
            "nama pengguna 3-64 karakter: huruf kecil a-z, angka, titik, garis bawah, "
            "tanda hubung (3-64 chars of a-z 0-9 . _ -)",
        )


def _check_scopes(
    role: Role,
    city: str | None,
    rts: tuple[str, ...],
    areas: tuple[str, ...],
    issues: Issues,
) -> None:
    """Which of --city / --rt / --area the role needs and takes."""
    if role in (Role.CITY_ADMIN, Role.INTEGRATOR) and not city:
        issues.error("city", f"peran {role.value} wajib punya --city (requires --city)")
    if role is Role.ADMIN and city:
        issues.error("city", "peran admin tidak memakai --city (admin takes no --city)")
    if role is Role.RT_HEAD and not rts:
        issues.error("rt", "peran rt_head wajib punya minimal satu --rt (requires --rt)")
    if role is not Role.RT_HEAD and rts:
        issues.error("rt", "--rt hanya untuk peran rt_head (only for rt_head)")
    if role is Role.HEALTH_WORKER and not areas:
        issues.error(
            "area", "peran health_worker wajib punya minimal satu --area (requires --area)"
        )
    if role is not Role.HEALTH_WORKER and areas:
        issues.error("area", "--area hanya untuk peran health_worker (only for health_worker)")
    if city and region_level(city) != "city":
        issues.error("city", f"{city!r} bukan kode kota, contoh 64.71 (not a city code)")
    for rt in rts:
        check_rt_code(rt, "rt", issues)
    for area in areas:
        if check_region_code(area, "area", issues) is not None and "." not in area:
            issues.error(
                "area",
                f"{area}: wilayah harus kota, kecamatan atau kelurahan "
                "(area must be a city, kecamatan or kelurahan)",
            )


def new_user(
    username: str,
    role: str,
    *,
    city: str | None = None,
    rts: Iterable[str] = (),
    areas: Iterable[str] = (),
    whatsapp: str | None = None,
    email: str | None = None,
    password: str | None = None,
) -> NewUser:
    """Check a new user's fields and hash the password; RtbookError listing problems."""
    issues = Issues()
    check_username(username, issues)
    try:
        role_value = Role(role)
    except ValueError:
        raise RtbookError(
            f"peran {role!r} tidak dikenal, pilih: {', '.join(ROLES)} (unknown role)"
        ) from None
    city = city.strip() if city else None
    rt_codes, area_codes = _dedupe(rts), _dedupe(areas)
    _check_scopes(role_value, city, rt_codes, area_codes, issues)
    phone = normalize_phone(whatsapp, "whatsapp", issues)
    mail = check_email(email.strip() if email else email, "email", issues)
    if password is not None:
        problem = password_problem(password)
        if problem:
            issues.error("password", problem)
    if issues:
        raise RtbookError(issues.one_line())
    return NewUser(
        username=username,
        role=role_value,
        city_code=city,
        rt_codes=rt_codes,
        area_codes=area_codes,
        whatsapp=phone,
        email=mail,
        password_hash=hash_password(password) if password is not None else None,
    )


async def _scope_city(conn: Connection, user: NewUser, issues: Issues) -> str | None:
    """The city the user belongs to, checked against stored cities, RTs and regions."""
    cities: set[str] = set()
    if user.city_code:
        if not await city_exists(conn, user.city_code):
            issues.error("city", f"kota {user.city_code} belum ditambahkan (city not added)")
        cities.add(user.city_code)
    for rt in user.rt_codes:
        rt_city = await conn.fetchval("SELECT city_code FROM rt WHERE code = $1", rt)
        if rt_city is None:
            issues.error("rt", f"RT {rt} belum ada, tambahkan dengan rtbook rt add (unknown RT)")
        else:
            cities.add(rt_city)
    for area in user.area_codes:
        info = await region_info(conn, area)
        area_city = info[1] if info is not None and info[0] != "province" else None
        if area_city is None or not await city_exists(conn, area_city):
            issues.error(
                "area",
                f"wilayah {area} tidak ada di kota yang sudah ditambahkan "
                "(area not in an added city)",
            )
        else:
            cities.add(area_city)
    if len(cities) > 1:
        issues.error(
            "city",
            f"cakupan pengguna harus dalam satu kota, bukan {', '.join(sorted(cities))} "
            "(scopes must lie in one city)",
        )
    return next(iter(cities)) if len(cities) == 1 else None


async def insert_user(conn: Connection, user: NewUser, *, now: datetime | None = None) -> int:
    """Store the user and scopes (run inside a write transaction); the new user's id."""
    issues = Issues()
    if await user_id_by_name(conn, user.username) is not None:
        issues.error("username", f"nama pengguna {user.username} sudah dipakai (already taken)")
    city = await _scope_city(conn, user, issues)
    if issues:
        raise RtbookError(issues.one_line())
    user_id = await conn.fetchval(
        "INSERT INTO rtbook_user (username, role, city_code, whatsapp, email, password_hash,"
        " language, is_active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " RETURNING id",
        user.username,
        user.role.value,
        city,
        user.whatsapp,
        user.email,
        user.password_hash,
        "id",
        True,
        now or datetime.now(UTC),
    )
    if user.rt_codes:
        await conn.executemany(
            "INSERT INTO user_rt (user_id, rt_code) VALUES ($1, $2)",
            [(user_id, rt) for rt in user.rt_codes],
        )
    if user.area_codes:
        await conn.executemany(
            "INSERT INTO user_area (user_id, region_code) VALUES ($1, $2)",
            [(user_id, area) for area in user.area_codes],
        )
    return int(user_id)


async def user_id_by_name(conn: Connection, username: str) -> int | None:
    value = await conn.fetchval("SELECT id FROM rtbook_user WHERE username = $1", username)
    return None if value is None else int(value)


async def require_user_id(conn: Connection, username: str) -> int:
    """The user's id; NotFound naming the user when there is none."""
    user_id = await user_id_by_name(conn, username)
    if user_id is None:
        raise NotFound(f"pengguna {username!r} tidak ada (unknown user)")
    return user_id


async def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """Replace a user's password (hash it first with rtbook.core.passwords)."""
    await conn.execute(
        "UPDATE rtbook_user SET password_hash = $1 WHERE id = $2", password_hash, user_id
    )


# -- tokens and passwords managed by an administrator ----------------------------------


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown of a token: never the token, only its prefix."""

    id: int
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def user_scope(conn: Connection, username: str) -> tuple[int, str | None]:
    """(id, city) of a user; NotFound naming the user when there is none."""
    row = await conn.fetchrow("SELECT id, city_code FROM rtbook_user WHERE username = $1", username)
    if row is None:
        raise NotFound(f"pengguna {username[:64]!r} tidak ada (unknown user)")
    return int(row["id"]), row["city_code"]


async def list_tokens(conn: Connection, user_id: int) -> list[TokenInfo]:
    rows = await conn.fetch(
        "SELECT id, prefix, created_at, last_used_at, revoked_at FROM api_token"
        " WHERE user_id = $1 ORDER BY id",
        user_id,
    )
    return [TokenInfo(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


async def revoke_tokens(
    conn: Connection, user_id: int, prefix: str | None, now: datetime
) -> list[str]:
    """Revoke the user's active tokens (all of them, or those whose prefix starts with
    ``prefix``); the prefixes revoked. NotFound when none matched."""
    rows = await conn.fetch(
        "SELECT id, prefix FROM api_token WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
        user_id,
    )
    chosen = [r for r in rows if prefix is None or r["prefix"].startswith(prefix)]
    if not chosen:
        raise NotFound("tidak ada token aktif yang cocok (no matching active token)")
    for row in chosen:
        await conn.execute("UPDATE api_token SET revoked_at = $1 WHERE id = $2", now, row["id"])
    return [r["prefix"] for r in chosen]


def new_password_problem(password: str, username: str) -> str | None:
    """The password policy (rtbook.core.passwords.check_new_password): length, common
    passwords, not the username."""
    from rtbook.core.passwords import check_new_password as policy

    return policy(password, username)


def generated_password() -> str:
    """A random password (about 96 bits) for a reset without one given."""
    return secrets.token_urlsafe(12)


async def end_web_sessions(conn: Connection, user_id: int) -> None:
    """End the user's web sessions."""
    from rtbook.core.sessions import end_sessions_of

    await end_sessions_of(conn, user_id)


def check_new_password(password: str, username: str) -> str:
    """The password, or RtbookError with the policy's reason (one line)."""
    problem = new_password_problem(password, username)
    if problem:
        raise RtbookError(problem)
    return password


async def reset_password(
    conn: Connection,
    principal: Principal | None,
    username: str,
    password_hash: str,
    *,
    now: datetime | None = None,
) -> None:
    """Set a user's password (already checked and hashed), end their web sessions and
    audit it (``user.password_reset``). ``principal`` None: the operator's CLI;
    otherwise admin, or city_admin for users of their city (Forbidden otherwise)."""
    from rtbook.core import audit

    user_id, city = await user_scope(conn, username)
    if principal is not None and not (
        principal.is_admin or (city is not None and principal.can_manage_city(city))
    ):
        raise Forbidden("tidak berwenang mengubah pengguna ini (not allowed for this user)")
    await set_password_hash(conn, user_id, password_hash)
    await end_web_sessions(conn, user_id)
    await audit.record(conn, principal, "user.password_reset", username, city, {}, at=now)


async def revoke_user_tokens(
    conn: Connection,
    principal: Principal | None,
    username: str,
    prefix: str | None,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Revoke a user's tokens (all, or by prefix) and audit it (``token.revoke``)."""
    from rtbook.core import audit

    moment = now or datetime.now(UTC)
    user_id, city = await user_scope(conn, username)
    if principal is not None and not (
        principal.is_admin or (city is not None and principal.can_manage_city(city))
    ):
        raise Forbidden("tidak berwenang mengubah pengguna ini (not allowed for this user)")
    revoked = await revoke_tokens(conn, user_id, prefix, moment)
    await audit.record(
        conn, principal, "token.revoke", username, city, {"tokens": revoked}, at=moment
    )
    return revoked
