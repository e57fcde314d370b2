"""Abuse limits: failed logins per account and per client with a lockout that heals,
the trusted proxy header, and the general /api/v1 limit (429 with Retry-After).

The login counters are driven with an explicit clock (``now``); the API limit with
``rtbook.web.security.clock``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from factories import CITY, NOW, add_user, standard_city
from litestar import Litestar, Request, get
from litestar.testing import TestClient

from rtbook.core import ratelimit
from rtbook.core.auth import Role
from rtbook.core.db import Connection, Database, make_database
from rtbook.core.ratelimit import (
    ACCOUNT_FAILURES,
    CLIENT_FAILURES,
    LOGIN_LOCKOUT_SECONDS,
    login_blocked,
    login_failed,
    login_succeeded,
)
from rtbook.core.settings import DatabaseURL
from rtbook.web import security
from rtbook.web.app import create_app
from rtbook.web.client import client_address

# --- login lockout (rtbook.core.ratelimit) ---------------------------------------------


async def fail(db: Database, username: str, client: str, times: int, start: Any) -> None:
    for i in range(times):

        async def unit(conn: Connection, i: int = i) -> None:
            await login_failed(conn, username, client, start + timedelta(seconds=i))

        await db.write(unit)


async def blocked(db: Database, username: str, client: str, now: Any) -> float | None:
    async def unit(conn: Connection) -> float | None:
        return await login_blocked(conn, username, client, now)

    return await db.read(unit)


async def test_account_locked_after_five_failures_from_any_client(db: Database) -> None:
    await fail(db, "budi", "10.0.0.1", ACCOUNT_FAILURES - 1, NOW)
    at = NOW + timedelta(seconds=30)
    assert await blocked(db, "budi", "10.0.0.1", at) is None

    await fail(db, "budi", "10.0.0.2", 1, at)  # the fifth, from another address
    wait = await blocked(db, "budi", "10.0.0.9", at)
    assert wait is not None and LOGIN_LOCKOUT_SECONDS - 5 <= wait <= LOGIN_LOCKOUT_SECONDS
    # the same account under another spelling is the same account
    assert await blocked(db, " BUDI ", "10.0.0.9", at) is not None
    # another account from the same client is not locked
    assert await blocked(db, "siti", "10.0.0.1", at) is None


async def test_account_lockout_heals_after_its_time(db: Database) -> None:
    await fail(db, "budi", "10.0.0.1", ACCOUNT_FAILURES, NOW)
    last = NOW + timedelta(seconds=ACCOUNT_FAILURES - 1)
    almost = last + timedelta(seconds=LOGIN_LOCKOUT_SECONDS - 10)
    assert (await blocked(db, "budi", "10.0.0.1", almost)) == pytest.approx(10.0)
    healed = last + timedelta(seconds=LOGIN_LOCKOUT_SECONDS + 1)
    assert await blocked(db, "budi", "10.0.0.1", healed) is None
    # after healing, a single new failure starts a fresh count: no lockout
    await fail(db, "budi", "10.0.0.1", 1, healed)
    assert await blocked(db, "budi", "10.0.0.1", healed + timedelta(seconds=1)) is None


async def test_failures_spread_beyond_the_window_do_not_lock(db: Database) -> None:
    for n in range(ACCOUNT_FAILURES + 2):
        await fail(db, "budi", "10.0.0.1", 1, NOW + timedelta(minutes=16 * n))
        assert await blocked(db, "budi", "10.0.0.1", NOW + timedelta(minutes=16 * n)) is None


async def test_success_clears_the_account_count(db: Database) -> None:
    await fail(db, "budi", "10.0.0.1", ACCOUNT_FAILURES - 1, NOW)
    at = NOW + timedelta(minutes=1)

    async def succeed(conn: Connection) -> None:
        await login_succeeded(conn, "budi", "10.0.0.1", at)

    await db.write(succeed)
    await fail(db, "budi", "10.0.0.1", ACCOUNT_FAILURES - 1, at)
    assert await blocked(db, "budi", "10.0.0.1", at + timedelta(minutes=1)) is None


async def test_client_locked_after_twenty_failures_over_many_accounts(db: Database) -> None:
    for n in range(CLIENT_FAILURES - 1):
        await fail(db, f"user{n}", "203.0.113.7", 1, NOW + timedelta(seconds=n))
    at = NOW + timedelta(minutes=1)
    assert await blocked(db, "someone", "203.0.113.7", at) is None

    await fail(db, "user-last", "203.0.113.7", 1, at)
    assert await blocked(db, "someone", "203.0.113.7", at) is not None
    # the accounts tried are not locked from elsewhere, nor another client
    assert await blocked(db, "user1", "198.51.100.1", at) is None
    healed = at + timedelta(seconds=LOGIN_LOCKOUT_SECONDS + 1)
    assert await blocked(db, "someone", "203.0.113.7", healed) is None


async def test_counters_live_in_the_database(db_url: DatabaseURL) -> None:
    """A second process (another Database on the same URL) sees the lockout."""
    first, second = make_database(db_url), make_database(db_url)
    await first.open()
    await second.open()
    try:
        await fail(first, "budi", "10.0.0.1", ACCOUNT_FAILURES, NOW)
        assert await blocked(second, "budi", "10.0.0.1", NOW + timedelta(seconds=10))
    finally:
        await first.close()
        await second.close()


async def test_long_and_odd_keys_fit_and_old_counters_are_purged(db: Database) -> None:
    long_name = "x" * 5000
    await fail(db, long_name, "::1", ACCOUNT_FAILURES, NOW)
    assert await blocked(db, long_name, "::1", NOW + timedelta(seconds=10)) is not None
    assert await blocked(db, "x" * 4999, "::2", NOW + timedelta(seconds=10)) is None

    later = NOW + timedelta(days=2)

    async def purge(conn: Connection) -> int:
        return await ratelimit.purge_stale(conn, later)

    assert await db.write(purge) == 2  # the account and the client counter
    count = await db.read(lambda conn: conn.fetchval("SELECT COUNT(*) FROM rate_counter"))
    assert count == 0


# --- the client address ----------------------------------------------------------------


@get("/whoami", sync_to_thread=False)
def whoami(request: Request[Any, Any, Any]) -> str:
    return client_address(request)


def test_proxy_header_ignored_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTBOOK_TRUSTED_PROXY_HEADER", raising=False)
    with TestClient(Litestar([whoami])) as client:
        answer = client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
        assert answer.text == "testclient"


def test_configured_proxy_header_gives_the_first_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RTBOOK_TRUSTED_PROXY_HEADER", "X-Forwarded-For")
    with TestClient(Litestar([whoami])) as client:
        headers = {"X-Forwarded-For": "203.0.113.9, 10.0.0.2", "X-Real-IP": "1.2.3.4"}
        assert client.get("/whoami", headers=headers).text == "203.0.113.9"
        # a request without the header: the socket peer
        assert client.get("/whoami").text == "testclient"


def test_only_the_named_header_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTBOOK_TRUSTED_PROXY_HEADER", "X-Real-IP")
    with TestClient(Litestar([whoami])) as client:
        headers = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "198.51.100.4"}
        assert client.get("/whoami", headers=headers).text == "198.51.100.4"


# --- the general API limit -------------------------------------------------------------

LIMIT = 3
READ = "/api/v1/me/notification-preferences"


async def _seed(url: DatabaseURL) -> tuple[str, str]:
    async with make_database(url) as db:

        async def unit(conn: Connection) -> tuple[str, str]:
            await standard_city(conn)
            _, first = await add_user(conn, "admin1", Role.CITY_ADMIN, city=CITY, email="a@x.id")
            _, second = await add_user(conn, "admin2", Role.CITY_ADMIN, city=CITY, email="b@x.id")
            return first, second

        return await db.write(unit)


@pytest.fixture
def tokens(db_env: DatabaseURL) -> tuple[str, str]:
    return asyncio.run(_seed(db_env))


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(NOW.timestamp() + 5)  # 5 s into a minute: no window edge mid-test
    monkeypatch.setattr(security, "clock", fixed)
    return fixed


@pytest.fixture(params=["0", "1"], ids=["each-request", "batched"])
def api(
    db_env: DatabaseURL,
    tokens: tuple[str, str],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[TestClient[Any]]:
    """The app with the limit counted by one upsert per request, or batched per process
    (flushed every second of the driven clock)."""
    monkeypatch.setenv("RTBOOK_API_RATE_PER_MINUTE", str(LIMIT))
    monkeypatch.setenv("RTBOOK_API_RATE_FLUSH_SECONDS", request.param)
    with TestClient(create_app(db_env)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_limit_answers_429_with_retry_after(
    api: TestClient[Any], tokens: tuple[str, str], clock: Clock
) -> None:
    first, second = tokens
    for _ in range(LIMIT):
        assert api.get(READ, headers=bearer(first)).status_code == 200
    refused = api.get(READ, headers=bearer(first))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "55"
    body = refused.json()
    assert set(body) == {"error", "details"} and "too many requests" in body["error"]

    # another token has its own count; /health is never limited
    assert api.get(READ, headers=bearer(second)).status_code == 200
    for _ in range(LIMIT + 2):
        assert api.get("/health").status_code == 200

    clock.now += 55  # the next minute: the first token may read again
    assert api.get(READ, headers=bearer(first)).status_code == 200


def test_unauthenticated_callers_are_counted_per_client(
    api: TestClient[Any], tokens: tuple[str, str]
) -> None:
    for _ in range(LIMIT):
        assert api.get(READ).status_code == 401
    assert api.get(READ, headers={"Authorization": "Bearer not-ours"}).status_code == 429
    # a caller with its own valid token is not held back by them
    assert api.get(READ, headers=bearer(tokens[0])).status_code == 200


def test_batch_post_counts_once(api: TestClient[Any], tokens: tuple[str, str]) -> None:
    items = [{"bad": n} for n in range(LIMIT + 5)]  # refused as a whole, counted once
    answer = api.post("/api/v1/services", json=items, headers=bearer(tokens[0]))
    assert answer.status_code not in (429, 500)
    for _ in range(LIMIT - 1):
        assert api.get(READ, headers=bearer(tokens[0])).status_code == 200
    assert api.get(READ, headers=bearer(tokens[0])).status_code == 429


def test_api_limit_can_be_turned_off(
    db_env: DatabaseURL, tokens: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RTBOOK_API_RATE_PER_MINUTE", "0")
    with TestClient(create_app(db_env)) as client:
        for _ in range(LIMIT + 3):
            assert client.get(READ, headers=bearer(tokens[0])).status_code == 200
        count = asyncio.run(_counters(db_env))
        assert count == 0


def test_batched_counts_are_shared_by_processes(
    db_env: DatabaseURL, tokens: tuple[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app processes on one database: what one counted holds the caller back on
    the other once it has flushed (the lag is at most one flush interval)."""
    monkeypatch.setenv("RTBOOK_API_RATE_PER_MINUTE", str(LIMIT))
    monkeypatch.setenv("RTBOOK_API_RATE_FLUSH_SECONDS", "1")
    token = bearer(tokens[0])
    with TestClient(create_app(db_env)) as first, TestClient(create_app(db_env)) as second:
        for _ in range(LIMIT):
            assert first.get(READ, headers=token).status_code == 200
        clock.now += 2  # a flush is due: the next request starts it
        assert first.get(READ, headers=token).status_code == 429
        wait_for_hits(db_env, LIMIT)

        # the second process has not flushed yet: it lets one request through ...
        assert second.get(READ, headers=token).status_code == 200
        wait_for_hits(db_env, LIMIT + 1)
        # ... and from its flush on it knows the database's count
        assert second.get(READ, headers=token).status_code == 429
        assert first.get("/health").status_code == 200


def wait_for_hits(url: DatabaseURL, hits: int) -> None:
    """Wait (up to 10 s) until the API counter in the database reaches ``hits``."""
    for _ in range(200):
        if asyncio.run(_api_hits(url)) >= hits:
            return
        time.sleep(0.05)
    raise AssertionError(f"the API counter never reached {hits}")


async def _api_hits(url: DatabaseURL) -> int:
    async with make_database(url) as db:
        value = await db.read(
            lambda conn: conn.fetchval(
                "SELECT MAX(hits) FROM rate_counter WHERE key LIKE $1", "api:tok:%"
            )
        )
        return int(value or 0)


async def _counters(url: DatabaseURL) -> int:
    async with make_database(url) as db:
        return int(await db.read(lambda conn: conn.fetchval("SELECT COUNT(*) FROM rate_counter")))
