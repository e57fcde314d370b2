"""Security headers on every answer (API, pages, errors, refused hosts), HSTS only
over https, the OpenAPI document under its CSP, and the allowed hosts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from factories import CITY, add_user, standard_city
from litestar.testing import TestClient

from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database
from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
READ = "/api/v1/me/notification-preferences"


async def _seed(url: DatabaseURL) -> str:
    async with make_database(url) as db:

        async def unit(conn: Connection) -> str:
            await standard_city(conn)
            _, token = await add_user(conn, "admin1", Role.CITY_ADMIN, city=CITY, email="a@x.id")
            return token

        return await db.write(unit)


@pytest.fixture
def token(db_env: DatabaseURL) -> str:
    return asyncio.run(_seed(db_env))


@pytest.fixture
def app_client(
    db_env: DatabaseURL, token: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient[Any]]:
    for name in ("RTBOOK_ALLOWED_HOSTS", "RTBOOK_TRUSTED_PROXY_HEADER"):
        monkeypatch.delenv(name, raising=False)
    with TestClient(create_app(db_env)) as client:
        yield client


def assert_secured(headers: Any, label: str = "") -> None:
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (label, name)
    csp = {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1:]
        for part in headers["content-security-policy"].split(";")
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no CDN
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]


def test_headers_on_api_page_and_error_answers(app_client: TestClient[Any], token: str) -> None:
    answers = {
        "api 200": app_client.get(READ, headers={"Authorization": f"Bearer {token}"}),
        "api 401": app_client.get(READ),
        "api 400": app_client.post(
            "/api/v1/services",
            content=b"{broken",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ),
        "page": app_client.get("/"),
        "health": app_client.get("/health"),
        "unknown path": app_client.get("/no/such/page"),
        "wrong method": app_client.delete("/health"),
        "openapi": app_client.get("/schema/openapi.json"),
    }
    assert answers["api 200"].status_code == 200
    assert answers["api 401"].status_code == 401
    assert answers["api 400"].status_code == 400
    assert answers["page"].status_code == 200
    assert "text/html" in answers["page"].headers["content-type"]
    assert answers["unknown path"].status_code == 404
    assert answers["wrong method"].status_code == 405
    for label, answer in answers.items():
        assert_secured(answer.headers, label)
        assert "strict-transport-security" not in answer.headers, label  # plain http


def test_openapi_document_served_without_html_viewers(app_client: TestClient[Any]) -> None:
    document = app_client.get("/schema/openapi.json")
    assert document.status_code == 200 and "paths" in document.json()
    root = app_client.get("/schema")
    assert root.status_code == 200 and "paths" in root.json()
    # the CDN-loaded viewers (inline script) are not served under the CSP
    for viewer in ("/schema/swagger", "/schema/redoc", "/schema/elements"):
        assert app_client.get(viewer).status_code == 404


def test_hsts_over_https(db_env: DatabaseURL, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTBOOK_TRUSTED_PROXY_HEADER", raising=False)
    monkeypatch.delenv("RTBOOK_ALLOWED_HOSTS", raising=False)
    with TestClient(create_app(db_env), base_url="https://rtbook.example.id") as client:
        for path in ("/health", "/", READ, "/missing"):
            answer = client.get(path)
            assert answer.headers["strict-transport-security"].startswith("max-age="), path
            assert_secured(answer.headers, path)


def test_forwarded_proto_trusted_only_behind_a_configured_proxy(
    db_env: DatabaseURL, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RTBOOK_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("RTBOOK_TRUSTED_PROXY_HEADER", raising=False)
    proto = {"X-Forwarded-Proto": "https"}
    with TestClient(create_app(db_env)) as client:
        assert "strict-transport-security" not in client.get("/health", headers=proto).headers

    monkeypatch.setenv("RTBOOK_TRUSTED_PROXY_HEADER", "X-Forwarded-For")
    with TestClient(create_app(db_env)) as client:
        assert "strict-transport-security" in client.get("/health", headers=proto).headers
        plain = client.get("/health", headers={"X-Forwarded-Proto": "http"})
        assert "strict-transport-security" not in plain.headers


def test_allowed_hosts_refuse_others_with_400(
    db_env: DatabaseURL, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RTBOOK_ALLOWED_HOSTS", "rtbook.example.id, *.rtbook.go.id")
    app = create_app(db_env)
    with TestClient(app, base_url="http://rtbook.example.id") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": "balikpapan.rtbook.go.id"}).status_code == 200
        for host in ("evil.example", "rtbook.example.id.evil.example", ""):
            refused = client.get("/health", headers={"Host": host})
            assert refused.status_code == 400, host
            body = refused.json()
            assert set(body) == {"error", "details"} and "host" in body["error"]
            assert_secured(refused.headers)
        refused = client.get(READ, headers={"Host": "evil.example", "Authorization": "Bearer x"})
        assert refused.status_code == 400


def test_every_host_allowed_when_unset(app_client: TestClient[Any]) -> None:
    for host in ("localhost", "127.0.0.1:8000", "anything.example"):
        assert app_client.get("/health", headers={"Host": host}).status_code == 200
