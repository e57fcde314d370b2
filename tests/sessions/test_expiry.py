"""Idle (30 min) and absolute (12 h) timeouts, checked on every request, with the
app's clock driven by the test."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from sessions_support import Clock, Seeded, login, session_rows, write_sql

from rtbook.core.sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT


def logged_in(client: TestClient[Any]) -> bool:
    return "<strong>budi</strong>" in client.get("/").text


def test_timeouts_are_the_documented_ones() -> None:
    assert IDLE_TIMEOUT.total_seconds() == 30 * 60
    assert ABSOLUTE_TIMEOUT.total_seconds() == 12 * 3600


def test_idle_timeout_slides_with_each_request(
    client: TestClient[Any], seeded: Seeded, clock: Clock
) -> None:
    assert login(client, "budi").status_code == 303
    for _ in range(3):  # 87 minutes in all, never 30 without a request
        clock.advance(minutes=29)
        assert logged_in(client)
    clock.advance(minutes=30)
    assert not logged_in(client)
    assert session_rows(seeded.url) == []  # the expired row is gone


def test_absolute_timeout_ends_even_a_busy_session(
    client: TestClient[Any], seeded: Seeded, clock: Clock
) -> None:
    assert login(client, "budi").status_code == 303
    for _ in range(12 * 3 - 1):  # a request every 20 minutes for 11 h 40 min
        clock.advance(minutes=20)
        assert logged_in(client)
    clock.advance(minutes=20)  # 12 h after login
    assert not logged_in(client)
    assert session_rows(seeded.url) == []


def test_expired_sessions_of_others_are_purged_at_a_login(
    client: TestClient[Any], seeded: Seeded, clock: Clock
) -> None:
    assert login(client, "budi").status_code == 303
    client.cookies.clear()
    clock.advance(minutes=31)
    assert login(client, "siti").status_code == 303
    assert [r["user_id"] for r in session_rows(seeded.url)] == [seeded.user_ids["siti"]]


def test_a_deactivated_user_loses_the_session(client: TestClient[Any], seeded: Seeded) -> None:
    assert login(client, "budi").status_code == 303
    assert logged_in(client)
    deactivate = "UPDATE rtbook_user SET is_active = $1 WHERE username = $2"
    write_sql(seeded.url, deactivate, False, "budi")
    assert not logged_in(client)
    assert session_rows(seeded.url) == []


def test_a_password_reset_ends_the_users_sessions(client: TestClient[Any], seeded: Seeded) -> None:
    assert login(client, "budi").status_code == 303
    assert logged_in(client)
    answer = client.post(
        "/api/v1/users/budi/password",
        json={"password": "Kelapa-Sawit-Tenggarong-77"},
        headers={"Authorization": f"Bearer {seeded.tokens['siti']}"},
    )
    assert answer.status_code == 200, answer.text
    assert not logged_in(client)  # the old session is gone with the old password
    assert session_rows(seeded.url) == []
    assert login(client, "budi").status_code == 401  # the old password is refused
    assert login(client, "budi", "Kelapa-Sawit-Tenggarong-77").status_code == 303
