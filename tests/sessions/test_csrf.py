"""CSRF: the session's token on every state-changing form (field or header), and the
signed double-submit cookie of the login form."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import MediaType, Request, get, post
from litestar.testing import TestClient
from sessions_support import (
    PASSWORD,
    Clock,
    Seeded,
    csrf_field,
    login,
    session_rows,
    set_cookie_headers,
)

from rtbook.core.sessions import COOKIE_NAME
from rtbook.web.app import create_app
from rtbook.web.login import (
    MSG_CSRF,
    MSG_LOGIN_CSRF,
    CurrentUser,
    check_csrf,
    page_session,
    require_login,
)


def assert_refused_page(response: Any, message: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_logout_without_or_with_a_wrong_token_is_refused(
    client: TestClient[Any], seeded: Seeded
) -> None:
    assert login(client, "budi").status_code == 303
    token = csrf_field(client.get("/").text)
    for data in ({}, {"_csrf": ""}, {"_csrf": token[:-1] + "x"}, {"_csrf": token + "x"}):
        assert_refused_page(client.post("/logout", data=data, follow_redirects=False), MSG_CSRF)
    assert len(session_rows(seeded.url)) == 1  # still logged in
    bad_header = client.post("/logout", headers={"X-CSRF-Token": "salah"}, follow_redirects=False)
    assert_refused_page(bad_header, MSG_CSRF)
    # the header form (HTMX hx-headers) is accepted
    ok = client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert ok.status_code == 303
    assert session_rows(seeded.url) == []


def test_another_sessions_token_does_not_pass(client: TestClient[Any], seeded: Seeded) -> None:
    login(client, "siti")
    their_token = csrf_field(client.get("/").text)
    client.cookies.clear()
    login(client, "budi")
    response = client.post("/logout", data={"_csrf": their_token}, follow_redirects=False)
    assert_refused_page(response, MSG_CSRF)
    assert len(session_rows(seeded.url)) == 2


@pytest.mark.parametrize(
    "case", ["no-cookie", "no-field", "mismatch", "unsigned", "signature-of-another"]
)
def test_login_without_its_signed_double_submit_token_is_refused(
    client: TestClient[Any], seeded: Seeded, case: str
) -> None:
    form = client.get("/login")
    token = csrf_field(form.text)
    data = {"username": "budi", "password": PASSWORD, "_csrf": token}
    if case == "no-cookie":
        client.cookies.clear()
    elif case == "no-field":
        del data["_csrf"]
    elif case == "mismatch":
        data["_csrf"] = csrf_field(TestClient(client.app).get("/login").text)
    elif case == "unsigned":  # an attacker who can plant a cookie, but not sign it
        client.cookies.clear()
        client.cookies.set("rtbook_login_csrf", "abc.def", path="/login")
        data["_csrf"] = "abc.def"
    else:
        nonce, _, _ = token.partition(".")
        other = csrf_field(TestClient(client.app).get("/login").text)
        forged = nonce + "." + other.partition(".")[2]
        client.cookies.clear()
        client.cookies.set("rtbook_login_csrf", forged, path="/login")
        data["_csrf"] = forged
    response = client.post("/login", data=data, follow_redirects=False)
    assert_refused_page(response, MSG_LOGIN_CSRF)
    assert set_cookie_headers(response, COOKIE_NAME) == []
    assert session_rows(seeded.url) == []
    # the page offers a fresh form that works
    retry = client.post(
        "/login",
        data={"username": "budi", "password": PASSWORD, "_csrf": csrf_field(response.text)},
        follow_redirects=False,
    )
    assert retry.status_code == 303


@get("/halaman-saya", media_type=MediaType.HTML, guards=[require_login])
async def my_page(current_user: CurrentUser) -> str:
    assert current_user is not None
    return f"<p>halo {current_user.username}</p>"


@post("/halaman-saya", media_type=MediaType.HTML, guards=[require_login], status_code=200)
async def my_action(request: Request[Any, Any, Any]) -> str:
    session = await page_session(request)
    assert session is not None
    await check_csrf(request, session)
    return "<p>tersimpan (saved)</p>"


def test_pages_built_on_current_user_and_check_csrf(seeded: Seeded, clock: Clock) -> None:
    app = create_app(seeded.url, extra_handlers=[my_page, my_action])
    app.state.clock = clock
    with TestClient(app) as client:
        response = client.get("/halaman-saya", params={"a": "1"}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/halaman-saya%3Fa%3D1"
        assert client.post("/halaman-saya", follow_redirects=False).status_code == 303
        assert login(client, "budi", next="/halaman-saya").headers["location"] == "/halaman-saya"
        assert client.get("/halaman-saya").text == "<p>halo budi</p>"
        assert_refused_page(client.post("/halaman-saya", data={"x": "1"}), MSG_CSRF)
        token = csrf_field(client.get("/").text)
        saved = client.post("/halaman-saya", data={"_csrf": token, "x": "1"})
        assert saved.status_code == 200 and "tersimpan" in saved.text
