"""Abuse limits: failed logins per account and per client, API requests per caller.

The counters live in the database (table ``rate_counter``), never only in one
process's memory, so that several web processes behind a load balancer share them
(ARCHITECTURE.md, Storage). Each change is one upsert that SQLite and PostgreSQL both
run; times are Unix seconds (``now`` may be an aware datetime or a number) so the
window arithmetic is plain SQL on both.

Logins: 5 failures of one account within 15 minutes lock that account for 15
minutes; 20 failures from one client within 15 minutes lock that client for 15
minutes. A lockout heals by itself when its time is over; a successful login clears
the account's count (not the client's, so one valid account cannot wash a client
that is guessing others).

API: a fixed one-minute window per token (or per client without one); see
:func:`api_hit`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

from rtbook.core.db import Connection

LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_LOCKOUT_SECONDS = 15 * 60
ACCOUNT_FAILURES = 5  # per account, within LOGIN_WINDOW_SECONDS
CLIENT_FAILURES = 20  # per client address, within LOGIN_WINDOW_SECONDS
API_WINDOW_SECONDS = 60
STALE_SECONDS = 24 * 3600  # counters untouched this long (and not locked) are deleted

KEY_MAX = 200

Clock = datetime | float | int


def _seconds(now: Clock) -> float:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime (UTC)")
        return now.timestamp()
    return float(now)


def _key(kind: str, value: str) -> str:
    """``kind:value``; long values (or ones a caller chose freely) are hashed so a key
    always fits and never carries a secret."""
    key = f"{kind}:{value}"
    if len(key) <= 120:
        return key
    return f"{kind}:h:{hashlib.sha256(value.encode('utf-8')).hexdigest()}"


def account_key(username: str) -> str:
    return _key("login:user", username.strip().casefold())


def client_key(client: str) -> str:
    return _key("login:client", client.strip())


# One statement for a failure: a fresh window when the last one is over, else one
# more hit; the lockout starts when the hits reach the limit. ``$3`` is the oldest
# window start still counting, ``$4`` the limit, ``$5`` the end of a new lockout.
_FAIL = """
INSERT INTO rate_counter (key, window_start, hits, blocked_until)
VALUES ($1, CAST($2 AS DOUBLE PRECISION), 1,
        CASE WHEN 1 >= $4 THEN CAST($5 AS DOUBLE PRECISION) ELSE NULL END)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_counter.window_start <= CAST($3 AS DOUBLE PRECISION) THEN 1
                ELSE rate_counter.hits + 1 END,
    window_start = CASE WHEN rate_counter.window_start <= CAST($3 AS DOUBLE PRECISION)
                        THEN CAST($2 AS DOUBLE PRECISION)
                        ELSE rate_counter.window_start END,
    blocked_until = CASE
        WHEN (CASE WHEN rate_counter.window_start <= CAST($3 AS DOUBLE PRECISION) THEN 1
                   ELSE rate_counter.hits + 1 END) >= $4 THEN CAST($5 AS DOUBLE PRECISION)
        ELSE rate_counter.blocked_until END
"""

_BLOCKED = (
    "SELECT MAX(blocked_until) FROM rate_counter"
    " WHERE key IN ($1, $2) AND blocked_until IS NOT NULL AND blocked_until > $3"
)

_PURGE = (
    "DELETE FROM rate_counter WHERE window_start < $1"
    " AND (blocked_until IS NULL OR blocked_until < $2)"
)


async def login_blocked(conn: Connection, username: str, client: str, now: Clock) -> float | None:
    """Seconds to wait (for Retry-After) while this account or client is locked out,
    else None."""
    at = _seconds(now)
    until = await conn.fetchval(_BLOCKED, account_key(username), client_key(client), at)
    return None if until is None else max(float(until) - at, 1.0)


async def login_failed(conn: Connection, username: str, client: str, now: Clock) -> None:
    """Count one failed login against the account and the client (run it in a write
    unit of work)."""
    at = _seconds(now)
    oldest = at - LOGIN_WINDOW_SECONDS
    until = at + LOGIN_LOCKOUT_SECONDS
    await conn.execute(_FAIL, account_key(username), at, oldest, ACCOUNT_FAILURES, until)
    await conn.execute(_FAIL, client_key(client), at, oldest, CLIENT_FAILURES, until)
    await purge_stale(conn, at)


async def login_succeeded(conn: Connection, username: str, client: str, now: Clock) -> None:
    """A successful login clears the account's failure count."""
    await conn.execute("DELETE FROM rate_counter WHERE key = $1", account_key(username))


async def purge_stale(conn: Connection, now: Clock) -> int:
    """Delete counters untouched for a day and not locked; the number deleted. Keeps
    the table small when callers make up many keys (guessed usernames, tokens)."""
    at = _seconds(now)
    return await conn.execute(_PURGE, at - STALE_SECONDS, at)


# --- the general API limit -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiVerdict:
    """One counted API request: allowed or not, and when the window resets."""

    allowed: bool
    hits: int
    limit: int
    retry_after: int  # whole seconds until the window resets (>= 1)


_API_ADD = """
INSERT INTO rate_counter (key, window_start, hits, blocked_until)
VALUES ($1, CAST($2 AS DOUBLE PRECISION), $3, NULL)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_counter.window_start = CAST($2 AS DOUBLE PRECISION)
                THEN rate_counter.hits + $3 ELSE $3 END,
    window_start = CAST($2 AS DOUBLE PRECISION)
RETURNING hits
"""


def api_key(token: str | None, client: str) -> str:
    """The counter of one API caller: its bearer token (hashed) or its client address."""
    if token:
        return f"api:tok:{hashlib.sha256(token.encode('utf-8')).hexdigest()[:40]}"
    return _key("api:client", client.strip())


def api_window(now: Clock) -> float:
    """The start of the one-minute window ``now`` falls in."""
    return float(math.floor(_seconds(now) / API_WINDOW_SECONDS) * API_WINDOW_SECONDS)


def api_verdict(hits: int, limit: int, now: Clock) -> ApiVerdict:
    at = _seconds(now)
    retry_after = max(1, math.ceil(api_window(at) + API_WINDOW_SECONDS - at))
    return ApiVerdict(hits <= limit, hits, limit, retry_after)


async def api_add(conn: Connection, key: str, window: float, count: int) -> int:
    """Add ``count`` requests to a caller's counter for ``window``; the window's total."""
    return int(await conn.fetchval(_API_ADD, key, window, count))


async def api_hit(conn: Connection, key: str, limit: int, now: Clock) -> ApiVerdict:
    """Count one request in the caller's current one-minute window (one upsert)."""
    hits = await api_add(conn, key, api_window(now), 1)
    return api_verdict(hits, limit, now)
