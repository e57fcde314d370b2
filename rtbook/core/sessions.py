"""Web sessions of the pages: server-side rows in ``web_session``.

The browser holds a random session id (256 bits) in the ``rtbook_session`` cookie; the
table holds only its SHA-256 (like API tokens, rtbook.core.auth), so a copy of the
database does not give anyone a session. Every login makes a new id: an id the client
sent is never adopted (session fixation; Litestar's own server-side session would keep
it, ARCHITECTURE.md).

A session ends after :data:`IDLE_TIMEOUT` without a request or :data:`ABSOLUTE_TIMEOUT`
after login, whichever comes first; both are checked on every request
(:func:`resume_session`), and expired rows are purged at each login. A session whose
user was deactivated ends at its next request.

Each session carries its own CSRF token, sent back in a hidden ``_csrf`` field of
every form (or the ``X-CSRF-Token`` header) and compared with :func:`csrf_matches`.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from rtbook.core.auth import Principal, hash_token, load_principal
from rtbook.core.db import Connection

COOKIE_NAME = "rtbook_session"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
ID_BYTES = 32  # 256 random bits, as for API tokens
SESSION_ID_MAX = 100  # longer cookie values are not looked up at all
USERNAME_MAX = 64  # rtbook.core.users.USERNAME_PATTERN


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just started: ``session_id`` goes into the cookie, and only there."""

    session_id: str
    csrf_token: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """A live session and its user, as resumed for one request."""

    id_hash: str
    principal: Principal
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime

    def expires_at(self) -> datetime:
        """When it ends if no other request comes."""
        return min(self.last_seen_at + IDLE_TIMEOUT, self.created_at + ABSOLUTE_TIMEOUT)


def is_expired(created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= IDLE_TIMEOUT or now - created_at >= ABSOLUTE_TIMEOUT


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token with what a request sent: the token
    itself, or a copy masked by :func:`mask_csrf`."""
    if not given or not expected:
        return False
    if given.startswith(_MASKED_PREFIX):
        given = _unmask_csrf(given) or ""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


_MASKED_PREFIX = "m."


def mask_csrf(token: str) -> str:
    """A copy of ``token`` that differs on every page (random pad, XOR), so a
    compressed page does not leak the token to a BREACH-style length attack."""
    raw = token.encode("utf-8")
    pad = secrets.token_bytes(len(raw))
    masked = bytes(a ^ b for a, b in zip(raw, pad, strict=True))
    text = base64.urlsafe_b64encode(pad + masked).decode("ascii").rstrip("=")
    return _MASKED_PREFIX + text


def _unmask_csrf(value: str) -> str | None:
    text = value[len(_MASKED_PREFIX) :]
    try:  # strict: a changed or extended copy never decodes to the token
        blob = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    if base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=") != text:
        return None
    half = len(blob) // 2
    if not blob or len(blob) % 2:
        return None
    raw = bytes(a ^ b for a, b in zip(blob[:half], blob[half:], strict=True))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


async def login_candidate(conn: Connection, username: str) -> tuple[int, str] | None:
    """``(user_id, password_hash)`` of an active user with a password, else None.

    An unknown, deactivated or password-less user are all None: the caller verifies a
    dummy hash then (rtbook.core.passwords.verify_nothing), so all fail alike."""
    name = username.strip().lower()
    if not name or len(name) > USERNAME_MAX:
        return None
    row = await conn.fetchrow(
        "SELECT id, password_hash FROM rtbook_user"
        " WHERE username = $1 AND is_active = $2 AND password_hash IS NOT NULL",
        name,
        True,
    )
    return None if row is None else (int(row["id"]), str(row["password_hash"]))


async def start_session(conn: Connection, user_id: int, now: datetime) -> NewSession:
    """Store a new session for the user (a fresh random id) and purge expired ones."""
    await purge_expired(conn, now)
    session_id = secrets.token_urlsafe(ID_BYTES)
    csrf_token = secrets.token_urlsafe(ID_BYTES)
    await conn.execute(
        "INSERT INTO web_session (id_hash, user_id, created_at, last_seen_at, csrf_token)"
        " VALUES ($1, $2, $3, $4, $5)",
        hash_token(session_id),
        user_id,
        now,
        now,
        csrf_token,
    )
    return NewSession(session_id=session_id, csrf_token=csrf_token, created_at=now)


async def resume_session(
    conn: Connection, session_id: str | None, now: datetime
) -> ActiveSession | None:
    """The live session behind a cookie value, its last-seen time moved to ``now``;
    None (and the row deleted) when it is unknown, expired or its user is inactive.
    Run it in a write unit."""
    if not session_id or len(session_id) > SESSION_ID_MAX:
        return None
    id_hash = hash_token(session_id)
    row = await conn.fetchrow(
        "SELECT user_id, created_at, last_seen_at, csrf_token FROM web_session WHERE id_hash = $1",
        id_hash,
    )
    if row is None:
        return None
    principal = None
    if not is_expired(row["created_at"], row["last_seen_at"], now):
        principal = await load_principal(conn, int(row["user_id"]))
    if principal is None:
        await conn.execute("DELETE FROM web_session WHERE id_hash = $1", id_hash)
        return None
    await conn.execute("UPDATE web_session SET last_seen_at = $1 WHERE id_hash = $2", now, id_hash)
    return ActiveSession(
        id_hash=id_hash,
        principal=principal,
        csrf_token=row["csrf_token"],
        created_at=row["created_at"],
        last_seen_at=now,
    )


async def end_session(conn: Connection, id_hash: str) -> None:
    """Delete a session (logout); the cookie's id is worth nothing afterwards."""
    await conn.execute("DELETE FROM web_session WHERE id_hash = $1", id_hash)


async def end_sessions_of(conn: Connection, user_id: int) -> None:
    """Delete every session of a user (a password reset logs them out everywhere)."""
    await conn.execute("DELETE FROM web_session WHERE user_id = $1", user_id)


async def end_session_by_id(conn: Connection, session_id: str | None) -> None:
    """Delete the session behind a cookie value, if there is one (at a new login)."""
    if session_id and len(session_id) <= SESSION_ID_MAX:
        await end_session(conn, hash_token(session_id))


async def purge_expired(conn: Connection, now: datetime) -> int:
    """Delete the sessions past either timeout; how many."""
    return await conn.execute(
        "DELETE FROM web_session WHERE last_seen_at <= $1 OR created_at <= $2",
        now - IDLE_TIMEOUT,
        now - ABSOLUTE_TIMEOUT,
    )
