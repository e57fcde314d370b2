"""Logging in and out of the pages: the form, the cookie's flags, a new session id at
every login, wrong passwords, inactive users, and the API that ignores the cookie."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import RT_A
from litestar.testing import TestClient
from sessions_support import (
    PASSWORD,
    Clock,
    Seeded,
    cookie_attributes,
    csrf_field,
    login,
    session_rows,
    set_cookie_headers,
    sql,
    stored_hash_of,
)

from rtbook.core.sessions import COOKIE_NAME, csrf_matches
from rtbook.web.app import create_app
from rtbook.web.login import MSG_BAD_LOGIN

WRONG = "bukan-kata-sandinya-9"


def session_cookie(response: Any) -> tuple[str, set[str]]:
    headers = set_cookie_headers(response, COOKIE_NAME)
    assert len(headers) == 1, response.headers
    return cookie_attributes(headers[0])


def test_login_form_renders_in_bahasa_indonesia(client: TestClient[Any]) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="id">' in page
    assert "Masuk" in page and "(log in)" in page
    assert '<label for="username">Nama pengguna (username)</label>' in page
    assert '<label for="password">Kata sandi (password)</label>' in page
    assert 'id="username" name="username"' in page and 'id="password"' in page
    assert '<form class="stack" method="post" action="/login">' in page
    assert csrf_field(page)
    # no inline script or style (the CSP forbids them): scripts only from files
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all(
        re.fullmatch(r'<script src="/static/[a-z.]+" defer>', s) for s in scripts
    )
    assert " style=" not in page and "<style" not in page
    css = client.get("/static/rtbook.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "body{" in css.text
    # the form's CSRF cookie: HttpOnly, only sent back to /login
    (header,) = set_cookie_headers(response, "rtbook_login_csrf")
    value, attributes = cookie_attributes(header)
    assert value == csrf_field(page)
    assert {"httponly", "path=/login", "samesite=lax"} <= attributes


def test_good_login_starts_a_session_with_safe_cookie_flags(
    client: TestClient[Any], seeded: Seeded
) -> None:
    response = login(client, "budi")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    session_id, attributes = session_cookie(response)
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes  # plain http here
    assert len(session_id) >= 40
    # the table holds the id's SHA-256, never the id
    rows = session_rows(seeded.url)
    assert [(r["id_hash"], r["user_id"]) for r in rows] == [
        (stored_hash_of(session_id), seeded.user_ids["budi"])
    ]
    assert session_id not in str(rows)
    # the home page shows who is logged in, and a logout button with its token
    home = client.get("/")
    assert home.status_code == 200
    assert "<strong>budi</strong>" in home.text
    assert 'action="/logout"' in home.text
    # the page carries the session's token masked afresh (BREACH), never as stored
    masked = csrf_field(home.text)
    assert masked != rows[0]["csrf_token"] and masked != csrf_field(client.get("/").text)
    assert csrf_matches(rows[0]["csrf_token"], masked)
    audit = sql(seeded.url, "SELECT user_id, username, action FROM audit_log")
    budi = seeded.user_ids["budi"]
    assert audit == [{"user_id": budi, "username": "budi", "action": "auth.login"}]


def test_home_without_session_offers_the_login(client: TestClient[Any]) -> None:
    page = client.get("/").text
    assert 'action="/login"' in page and 'action="/logout"' not in page


def test_every_login_gets_a_new_id_and_a_client_chosen_one_is_never_kept(
    client: TestClient[Any], seeded: Seeded
) -> None:
    chosen = "id-yang-dipilih-penyerang-0123456789abcdef"
    client.cookies.set(COOKIE_NAME, chosen)
    first, _ = session_cookie(login(client, "budi"))
    assert first != chosen
    hashes = {r["id_hash"] for r in session_rows(seeded.url)}
    assert stored_hash_of(chosen) not in hashes and chosen not in hashes
    # logging in again from the same browser: another id, and the old one is over
    second, _ = session_cookie(login(client, "budi"))
    assert second not in (first, chosen)
    assert [r["id_hash"] for r in session_rows(seeded.url)] == [stored_hash_of(second)]
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, first)
    assert "<strong>budi</strong>" not in client.get("/").text


@pytest.mark.parametrize(
    ("username", "password"),
    [("budi", WRONG), ("tidakada", PASSWORD), ("lama", PASSWORD), ("budi", "")],
    ids=["wrong-password", "unknown-user", "inactive-user", "empty-password"],
)
def test_refused_logins_look_alike_and_start_nothing(
    client: TestClient[Any], seeded: Seeded, username: str, password: str
) -> None:
    response = login(client, username, password)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert MSG_BAD_LOGIN in response.text
    assert '<form class="stack" method="post" action="/login">' in response.text
    assert set_cookie_headers(response, COOKIE_NAME) == []
    assert session_rows(seeded.url) == []
    assert "<strong>" not in client.get("/").text
    audit = sql(seeded.url, "SELECT user_id, username, action FROM audit_log")
    assert audit == [{"user_id": None, "username": username, "action": "auth.login_failed"}]


def test_secure_flag_over_https_and_behind_a_trusted_proxy(
    seeded: Seeded, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(seeded.url)
    app.state.clock = clock
    with TestClient(app, base_url="https://rtbook.example") as client:
        _, attributes = session_cookie(login(client, "budi"))
        assert "secure" in attributes
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with TestClient(app) as client:
        client.headers.update(proxied)
        # without a configured proxy, anyone could send the header: not trusted
        _, attributes = session_cookie(login(client, "budi"))
        assert "secure" not in attributes
        monkeypatch.setenv("RTBOOK_TRUSTED_PROXY_HEADER", "X-Forwarded-For")
        form = client.get("/login")
        (header,) = set_cookie_headers(form, "rtbook_login_csrf")
        token, attributes = cookie_attributes(header)
        assert "secure" in attributes  # so the test client keeps it for https only:
        response = client.post(  # send it as the browser talking to the proxy would
            "/login",
            data={"username": "siti", "password": PASSWORD, "_csrf": token},
            headers={"Cookie": f"rtbook_login_csrf={token}"},
            follow_redirects=False,
        )
        _, attributes = session_cookie(response)
        assert "secure" in attributes


def test_next_is_followed_only_to_local_paths(client: TestClient[Any]) -> None:
    assert login(client, "budi", next="/lansia?rt=1").headers["location"] == "/lansia?rt=1"
    for hostile in ("//evil.example/x", "https://evil.example", "/\\evil.example", "x", "/a b"):
        assert login(client, "budi", next=hostile).headers["location"] == "/", hostile
    # GET /login carries next into the form
    assert 'name="next" value="/abc"' in client.get("/login", params={"next": "/abc"}).text


def test_session_cookie_never_authenticates_the_api(
    client: TestClient[Any], seeded: Seeded
) -> None:
    session_id, _ = session_cookie(login(client, "budi"))
    residents = f"/api/v1/rts/{RT_A}/residents"
    assert client.cookies.get(COOKIE_NAME) == session_id  # the browser sends it along
    response = client.get(residents)
    assert response.status_code == 401
    assert set(response.json()) == {"error", "details"}
    token = {"Authorization": f"Bearer {seeded.tokens['budi']}"}
    assert client.get(residents, headers=token).status_code == 200


def test_logout_ends_the_session(client: TestClient[Any], seeded: Seeded) -> None:
    session_id, _ = session_cookie(login(client, "budi"))
    token = csrf_field(client.get("/").text)
    response = client.post("/logout", data={"_csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    (cleared,) = set_cookie_headers(response, COOKIE_NAME)
    value, attributes = cookie_attributes(cleared)
    assert value in ("", '""') and "max-age=0" in attributes
    assert session_rows(seeded.url) == []
    # the old cookie is worth nothing now
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, session_id)
    assert "<strong>budi</strong>" not in client.get("/").text
    actions = [r["action"] for r in sql(seeded.url, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["auth.login", "auth.logout"]


def test_repeated_failures_lock_the_account_until_it_heals(
    client: TestClient[Any], seeded: Seeded, clock: Clock
) -> None:
    for _ in range(5):
        assert login(client, "budi", WRONG).status_code == 401
    blocked = login(client, "budi")  # even the right password
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 15 * 60
    assert set_cookie_headers(blocked, COOKIE_NAME) == []
    assert login(client, "siti").status_code == 303  # another account is not locked
    clock.advance(minutes=16)
    assert login(client, "budi").status_code == 303
