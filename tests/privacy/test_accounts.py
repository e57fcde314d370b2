"""Token revoke and list, password reset by a city admin: CLI and HTTP."""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import TestClient
from privacy_support import World, run_sql, write_sql

from rtbook.core.passwords import hash_password, verify_password

ME = "/api/v1/me/notification-preferences"  # any authenticated route answers 401 or not
EVENTS = "/api/v1/rts/64.71.06.1005-003-005/events"


def stored_hash(world: World, username: str) -> str:
    return run_sql(
        world.url, "SELECT password_hash FROM rtbook_user WHERE username = $1", username
    )[0]["password_hash"]


def test_token_list_and_revoke(client: TestClient[Any], world: World, rtbook: Any) -> None:
    assert client.get(EVENTS, headers=world.auth("head_a")).status_code == 200
    second = rtbook("token", "create", "head_a").out.strip()
    listed = rtbook("token", "list", "head_a")
    assert listed.code == 0, listed.err
    assert world.tokens["head_a"][:10] in listed.out and second[:10] in listed.out
    assert world.tokens["head_a"] not in listed.out and second not in listed.out

    revoked = rtbook("token", "revoke", "head_a", world.tokens["head_a"][:10])
    assert revoked.code == 0, revoked.err
    assert client.get(EVENTS, headers=world.auth("head_a")).status_code == 401
    assert client.get(EVENTS, headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert "dicabut (revoked)" in rtbook("token", "list", "head_a").out

    assert rtbook("token", "revoke", "head_a", "--all").code == 0
    assert client.get(EVENTS, headers={"Authorization": f"Bearer {second}"}).status_code == 401
    audit = run_sql(world.url, "SELECT * FROM audit_log WHERE action = 'token.revoke' ORDER BY id")
    assert [(a["target"], a["scope"]) for a in audit] == [("head_a", "64.71")] * 2
    assert json.loads(audit[0]["detail"])["tokens"] == [world.tokens["head_a"][:10]]
    assert world.tokens["head_a"] not in json.dumps(audit, default=str)
    # other users keep theirs
    assert client.get(EVENTS, headers=world.auth("city_admin")).status_code == 200


def test_token_bad_input(client: TestClient[Any], world: World, rtbook: Any) -> None:
    token = world.tokens["head_a"]
    for args in (
        ("token", "revoke", "head_a"),
        ("token", "revoke", "head_a", "--all", token[:10]),
        ("token", "revoke", "nobody", "--all"),
        ("token", "revoke", "head_a", "rtb_zzzzzz"),
        ("token", "revoke", "head_a", token),  # the whole token is never an argument
        ("token", "revoke", "head_a", "xyz"),
        ("token", "list", "nobody"),
        ("token", "list"),
    ):
        result = rtbook(*args)
        assert result.one_error_line, (args, result.code, result.err)
        assert token not in result.err
    assert rtbook("token", "revoke", "head_a", "--all").code == 0
    again = rtbook("token", "revoke", "head_a", "--all")  # nothing left to revoke
    assert again.one_error_line
    assert client.get(EVENTS, headers=world.auth("city_admin")).status_code == 200


def test_cli_password_reset(world: World, rtbook: Any) -> None:
    write_sql(
        world.url,
        [
            (
                "UPDATE rtbook_user SET password_hash = $1 WHERE username = 'head_a'",
                (hash_password("kata-sandi-lama-1"),),
            )
        ],
    )
    result = rtbook(
        "user", "reset-password", "head_a", "--password-stdin", stdin="Baru-Sekali-77\n"
    )
    assert result.code == 0, result.err
    assert "Baru-Sekali-77" not in result.out
    stored = stored_hash(world, "head_a")
    assert verify_password(stored, "Baru-Sekali-77")
    assert not verify_password(stored, "kata-sandi-lama-1")

    generated = rtbook("user", "reset-password", "head_a")
    assert generated.code == 0, generated.err
    password = generated.out.strip().splitlines()[-1].rsplit(" ", 1)[1]
    assert len(password) >= 12
    assert verify_password(stored_hash(world, "head_a"), password)
    assert not verify_password(stored_hash(world, "head_a"), "Baru-Sekali-77")
    audit = run_sql(world.url, "SELECT * FROM audit_log WHERE action = 'user.password_reset'")
    assert [(a["target"], a["scope"], a["user_id"]) for a in audit] == [
        ("head_a", "64.71", None)
    ] * 2
    assert password not in json.dumps(audit, default=str)

    current = stored_hash(world, "head_a")
    for args, stdin in (
        (("user", "reset-password", "head_a", "--password-stdin"), "pendek\n"),
        (("user", "reset-password", "head_a", "--password-stdin"), "head_a\n"),
        (("user", "reset-password", "nobody", "--password-stdin"), "Baru-Sekali-77\n"),
        (("user", "reset-password"), None),
    ):
        result = rtbook(*args, stdin=stdin)
        assert result.one_error_line, (args, result.code, result.err)
    assert stored_hash(world, "head_a") == current


def reset(client: TestClient[Any], world: World, who: str, username: str, body: Any) -> Any:
    url = f"/api/v1/users/{username}/password"
    headers = world.auth(who)
    if isinstance(body, bytes):
        return client.post(url, headers=headers, content=body)
    return client.post(url, headers=headers, json=body)


def test_api_password_reset(client: TestClient[Any], world: World) -> None:
    response = reset(client, world, "city_admin", "head_a", {"password": "Rahasia-Baru-2026"})
    assert response.status_code == 200, response.text
    assert response.json() == {"username": "head_a", "sessions_ended": True, "password": None}
    assert response.headers["cache-control"] == "no-store"
    assert verify_password(stored_hash(world, "head_a"), "Rahasia-Baru-2026")

    response = reset(client, world, "admin", "city_admin_other", b"")
    assert response.status_code == 200, response.text
    password = response.json()["password"]
    assert verify_password(stored_hash(world, "city_admin_other"), password)

    audit = run_sql(world.url, "SELECT * FROM audit_log WHERE action = 'user.password_reset'")
    assert [(a["username"], a["target"]) for a in audit] == [
        ("city_admin", "head_a"),
        ("admin", "city_admin_other"),
    ]


def test_api_password_reset_scopes_and_bad_input(client: TestClient[Any], world: World) -> None:
    before = stored_hash(world, "head_a")
    cases: list[tuple[str, str, Any, int]] = [
        ("city_admin_other", "head_a", {}, 403),
        ("city_admin", "head_other_city", {}, 403),
        ("city_admin", "admin", {}, 403),
        ("head_a", "head_a", {}, 403),
        ("integrator", "head_a", {}, 403),
        ("health_worker", "head_a", {}, 403),
        ("city_admin", "nobody", {}, 404),
        ("city_admin", "head_a", b"{not json", 400),
        ("city_admin", "head_a", {"password": "short"}, 422),
        ("city_admin", "head_a", {"password": "head_a"}, 422),
        ("city_admin", "head_a", {"password": 12345678}, 422),
        ("city_admin", "head_a", {"password": "x" * 5000}, 422),
        ("city_admin", "head_a", {"pass": "Rahasia-Baru-2026"}, 422),
        ("city_admin", "head_a", ["Rahasia-Baru-2026"], 422),
    ]
    for who, username, body, status in cases:
        response = reset(client, world, who, username, body)
        assert response.status_code == status, (who, username, body, response.text)
        assert set(response.json()) == {"error", "details"}
    assert client.post("/api/v1/users/head_a/password", json={}).status_code == 401
    assert stored_hash(world, "head_a") == before
    assert not run_sql(world.url, "SELECT id FROM audit_log WHERE action = 'user.password_reset'")
