"""Security headers on every response, allowed hosts, and the general API rate limit.

- :func:`security_headers_hook` makes an app-wide ``before_send`` hook, so the headers
  also reach answers that never meet a route (404, 405, a refused host) and errors.
- :func:`allowed_hosts` reads RTBOOK_ALLOWED_HOSTS for Litestar's AllowedHostsConfig;
  the hook gives its refusal (400) the contract's ``{"error", "details"}`` body.
- :class:`ApiRateLimitMiddleware` counts every /api/v1 request in the database
  (rtbook.core.ratelimit) per token, or per client without one, batched per process
  (:class:`BatchedApiCounter`), and answers 429 with Retry-After over
  RTBOOK_API_RATE_PER_MINUTE.

docs/security.md describes the policy and the variables.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.middleware.allowed_hosts import AllowedHostsMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rtbook.core.auth import TOKEN_PREFIX
from rtbook.core.db import Connection, Database
from rtbook.core.errors import ConfigError
from rtbook.core.ratelimit import (
    ApiVerdict,
    api_add,
    api_hit,
    api_key,
    api_verdict,
    api_window,
    purge_stale,
)
from rtbook.web.auth import bearer_token
from rtbook.web.client import scope_client_address, scope_is_https
from rtbook.web.errors import ApiError, ErrorBody

ALLOWED_HOSTS_ENV = "RTBOOK_ALLOWED_HOSTS"
API_RATE_ENV = "RTBOOK_API_RATE_PER_MINUTE"
DEFAULT_API_RATE_PER_MINUTE = 600
API_FLUSH_ENV = "RTBOOK_API_RATE_FLUSH_SECONDS"
DEFAULT_API_FLUSH_SECONDS = 1.0

PURGE_SECONDS = 3600  # how often a process deletes stale counters

log = logging.getLogger("rtbook.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"

_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
_OURS = frozenset(name for name, _ in _HEADERS) | {b"strict-transport-security"}

# A refused host (Litestar's AllowedHostsMiddleware, or ours on /api/v1) is answered
# with the contract's error body.
HOST_REFUSED = "host tidak diizinkan (host not allowed)"
_HOST_ERROR = msgspec.json.encode(ErrorBody(error=HOST_REFUSED))
_REWRITE_KEY = "rtbook.host_refused"

clock: Callable[[], float] = time.time  # tests replace it to drive the API window


def allowed_hosts() -> AllowedHostsConfig | None:
    """RTBOOK_ALLOWED_HOSTS as Litestar's config (``*.example.id`` wildcards allowed);
    None (every host) when unset, for local use."""
    raw = os.environ.get(ALLOWED_HOSTS_ENV, "")
    hosts = [h.strip() for h in raw.split(",") if h.strip()]
    if not hosts or "*" in hosts:
        return None
    return AllowedHostsConfig(allowed_hosts=hosts, www_redirect=False)


def api_rate_per_minute() -> int:
    """RTBOOK_API_RATE_PER_MINUTE (default 600; 0 turns the limit off)."""
    raw = os.environ.get(API_RATE_ENV, "").strip()
    if not raw:
        return DEFAULT_API_RATE_PER_MINUTE
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(
            f"{API_RATE_ENV} harus bilangan bulat >= 0 (must be a whole number >= 0): {raw[:20]}"
        )
    return value


def api_flush_seconds() -> float:
    """RTBOOK_API_RATE_FLUSH_SECONDS (default 1; 0: one database write per request)."""
    raw = os.environ.get(API_FLUSH_ENV, "").strip()
    if not raw:
        return DEFAULT_API_FLUSH_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise ConfigError(
            f"{API_FLUSH_ENV} harus angka 0..60 detik (must be 0..60 seconds): {raw[:20]}"
        )
    return value


def _host_pattern(config: AllowedHostsConfig | None) -> re.Pattern[str] | None:
    """The pattern Litestar's allowed-hosts check matches the Host header with."""
    if config is None:
        return None
    return AllowedHostsMiddleware(app=_no_app, config=config).allowed_hosts_regex


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
    return None


def _host_refused(pattern: re.Pattern[str] | None, scope: Scope) -> bool:
    """Whether Litestar's allowed-hosts check refuses this request's host."""
    if pattern is None:
        return False
    host = ""
    for key, value in scope.get("headers") or ():
        if key == b"host":
            host = value.decode("latin-1")
            break
    return not (host.split(":")[0] and pattern.fullmatch(host))


def security_headers_hook(
    hosts: AllowedHostsConfig | None,
) -> Callable[[Message, Scope], Any]:
    """The ``before_send`` hook of an app whose allowed hosts are ``hosts``."""

    pattern = _host_pattern(hosts)

    async def security_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers") or () if k.lower() not in _OURS]
            headers.extend(_HEADERS)
            if scope_is_https(scope):
                headers.append((b"strict-transport-security", HSTS.encode()))
            if message["status"] == 400 and _host_refused(pattern, scope):
                scope[_REWRITE_KEY] = True  # type: ignore[literal-required]
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(_HOST_ERROR)).encode()))
            message["headers"] = headers
        elif message["type"] == "http.response.body" and scope.get(_REWRITE_KEY):
            # the refusal's body (Litestar's or ours) becomes the contract's, whole in
            # the first chunk, as the content-length above says
            message["body"] = _HOST_ERROR if scope[_REWRITE_KEY] is True else b""  # type: ignore[literal-required]
            scope[_REWRITE_KEY] = "sent"  # type: ignore[literal-required]

    return security_headers


@dataclass(slots=True)
class _Slot:
    window: float  # the minute counted
    pending: int = 0  # counted here, not yet added to the database
    flushing: int = 0  # being added by the running flush
    known: int = 0  # the database's total for the window at the last flush


class BatchedApiCounter:
    """The API counters of one web process, added to the database in one write every
    ``flush_seconds`` (in the background) instead of one write per request.

    A request is judged on the database total seen at the last flush plus what this
    process counted since, so the counters stay shared by every process (the app is
    stateless) at the price of some lag: with P processes a caller may get up to
    P x (its requests in one flush interval) over the limit, and a process that stops
    loses at most one interval of counts. docs/security.md has the measurements.
    """

    MAX_KEYS = 10_000  # flush at once beyond this many callers in memory

    def __init__(self, limit: int, flush_seconds: float) -> None:
        self.limit = limit
        self.flush_seconds = flush_seconds
        self.slots: dict[str, _Slot] = {}
        self.last_flush = 0.0
        self.last_purge = 0.0
        self.task: asyncio.Task[None] | None = None

    def hit(self, db: Database, key: str, now: float) -> ApiVerdict:
        window = api_window(now)
        slot = self.slots.get(key)
        if slot is None or slot.window != window:
            slot = self.slots[key] = _Slot(window)
        due = now - self.last_flush >= self.flush_seconds or len(self.slots) > self.MAX_KEYS
        if due and (self.task is None or self.task.done()):
            self.last_flush = now
            self.task = asyncio.create_task(self.flush(db, now))
        hits = slot.known + slot.flushing + slot.pending + 1
        if hits > self.limit:
            return api_verdict(hits, self.limit, now)
        slot.pending += 1
        return api_verdict(hits, self.limit, now)

    async def flush(self, db: Database, now: float) -> None:
        """Add the pending counts to the database and learn the totals."""
        batch = {
            key: (slot.window, slot.pending) for key, slot in self.slots.items() if slot.pending
        }
        for key, (_, count) in batch.items():
            self.slots[key].pending = 0
            self.slots[key].flushing = count
        current = api_window(now)
        for key in [
            k
            for k, slot in self.slots.items()
            if slot.window < current and not slot.pending and not slot.flushing
        ]:
            del self.slots[key]
        if not batch:
            return

        purge = now - self.last_purge >= PURGE_SECONDS

        async def add(conn: Connection) -> dict[str, int]:
            if purge:  # counters of callers gone for a day (e.g. made-up tokens)
                await purge_stale(conn, now)
            return {
                key: await api_add(conn, key, window, count)
                for key, (window, count) in sorted(batch.items())
            }

        try:
            totals = await db.write(add)
            if purge:
                self.last_purge = now
        except Exception:  # the database is away: keep the counts for the next flush
            log.warning("API rate counters not saved; kept for the next flush", exc_info=True)
            for key, (window, count) in batch.items():
                slot = self.slots.get(key)
                if slot is not None and slot.window == window:
                    slot.pending += count
                    slot.flushing = 0
            return
        for key, total in totals.items():
            slot = self.slots.get(key)
            if slot is not None and slot.window == batch[key][0]:
                slot.known, slot.flushing = total, 0


class ApiRateLimitMiddleware(ASGIMiddleware):
    """The general /api/v1 limit: a fixed one-minute window per token (or client).

    It sits before the token check so that unauthenticated callers are counted too
    (per client address). A batch POST /services is one request, so it counts once.
    With RTBOOK_API_RATE_FLUSH_SECONDS=0 every request is one upsert in the database;
    otherwise the counts are batched per process (:class:`BatchedApiCounter`).
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, limit: int | None = None, flush_seconds: float | None = None) -> None:
        self.limit = api_rate_per_minute() if limit is None else limit
        flush = api_flush_seconds() if flush_seconds is None else flush_seconds
        self.batched = BatchedApiCounter(self.limit, flush) if flush > 0 else None
        # Litestar checks the host inside a route's own middleware, so a refused host
        # is answered here, before it is counted or its token looked up.
        self.hosts = _host_pattern(allowed_hosts())

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if _host_refused(self.hosts, scope):
            raise ApiError(400, HOST_REFUSED)
        if self.limit > 0:
            verdict = await self._count(scope)
            if not verdict.allowed:
                raise ApiError(
                    429,
                    headers={
                        "Retry-After": str(verdict.retry_after),
                        "RateLimit-Limit": str(verdict.limit),
                    },
                )
        await next_app(scope, receive, send)

    async def _count(self, scope: Scope) -> ApiVerdict:
        token = None
        for key, value in scope.get("headers") or ():
            if key == b"authorization":
                token = bearer_token(value.decode("latin-1"))
                break
        if token is not None and not (token.startswith(TOKEN_PREFIX) and len(token) <= 200):
            token = None  # not one of ours: count it against the client
        key = api_key(token, scope_client_address(scope))
        db: Database = scope["app"].state.db
        limit, now = self.limit, clock()
        if self.batched is not None:
            return self.batched.hit(db, key, now)

        async def hit(conn: Connection) -> ApiVerdict:
            return await api_hit(conn, key, limit, now)

        return await db.write(hit)
