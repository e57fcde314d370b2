"""Who is calling and what they may see: roles, scopes and API tokens.

A principal carries its scopes (city, RTs, areas) so that every route can check both
the role and the record: an RT head of RT 005 reads RT 005 and gets 403 on RT 006.
API tokens carry 256 random bits, so a SHA-256 of the token is a safe lookup key
(a slow password hash would add nothing but latency to every request); the token
itself is shown once and never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from rtbook.core.db import Connection, Row

TOKEN_PREFIX = "rtb_"


class Role(StrEnum):
    ADMIN = "admin"
    CITY_ADMIN = "city_admin"
    RT_HEAD = "rt_head"
    HEALTH_WORKER = "health_worker"
    INTEGRATOR = "integrator"


def region_contains(area: str, code: str) -> bool:
    """True when ``code`` (a region or RT code) lies inside region ``area``."""
    return code == area or code.startswith(area + ".") or code.startswith(area + "-")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: Role
    city_code: str | None = None
    rt_codes: frozenset[str] = field(default_factory=frozenset)
    area_codes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can_read_rt(self, rt_code: str, rt_city: str) -> bool:
        """Readers of an RT's ledger and feed: its heads, its city's admin, admin."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.CITY_ADMIN:
            return self.city_code == rt_city
        if self.role is Role.RT_HEAD:
            return rt_code in self.rt_codes
        return False

    def covers_area(self, code: str) -> bool:
        """For area-scoped readers (health workers): is ``code`` inside their areas?"""
        return any(region_contains(area, code) for area in self.area_codes)

    def can_submit_services(self, city_code: str) -> bool:
        """Integrators and city admins of the city, and admins, post completed services."""
        if self.role is Role.ADMIN:
            return True
        return self.role in (Role.INTEGRATOR, Role.CITY_ADMIN) and self.city_code == city_code

    def can_manage_city(self, city_code: str) -> bool:
        return self.role is Role.ADMIN or (
            self.role is Role.CITY_ADMIN and self.city_code == city_code
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(conn: Connection, user_id: int) -> str:
    """Store a new token for the user and return it; this is the only time it is seen."""
    token = new_token()
    await conn.execute(
        "INSERT INTO api_token (user_id, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4)",
        user_id,
        hash_token(token),
        token[: len(TOKEN_PREFIX) + 6],
        datetime.now(UTC),
    )
    return token


_USER_COLUMNS = "u.id, u.username, u.role, u.city_code"


async def _principal_from_row(conn: Connection, user: Row) -> Principal:
    """Complete a user row with the scopes its role needs (RTs or areas)."""
    role = Role(user["role"])
    user_id = user["id"]
    rts: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    if role is Role.RT_HEAD:
        rows = await conn.fetch("SELECT rt_code FROM user_rt WHERE user_id = $1", user_id)
        rts = frozenset(r[0] for r in rows)
    elif role is Role.HEALTH_WORKER:
        rows = await conn.fetch("SELECT region_code FROM user_area WHERE user_id = $1", user_id)
        areas = frozenset(r[0] for r in rows)
    return Principal(
        user_id=user_id,
        username=user["username"],
        role=role,
        city_code=user["city_code"],
        rt_codes=rts,
        area_codes=areas,
    )


async def load_principal(conn: Connection, user_id: int) -> Principal | None:
    user = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM rtbook_user u WHERE u.id = $1 AND u.is_active = $2",
        user_id,
        True,
    )
    return None if user is None else await _principal_from_row(conn, user)


async def principal_for_token(conn: Connection, token: str) -> Principal | None:
    """The active user behind a bearer token, or None for an unknown or revoked one.

    One query finds token and user; RT heads and health workers need one more for
    their scopes."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    user = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM api_token t JOIN rtbook_user u ON u.id = t.user_id"
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.is_active = $2",
        hash_token(token),
        True,
    )
    return None if user is None else await _principal_from_row(conn, user)
