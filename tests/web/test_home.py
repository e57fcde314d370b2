"""Opening the server's address in a browser: the login page without a session, and
/tentang says what the server is and where the API lives."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_root_without_a_session_is_the_login_page(client: TestClient[Any]) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    page = client.get("/").text
    assert 'action="/login"' in page and "Buku induk RT" in page
    assert 'href="/tentang"' in page


def test_about_page_describes_the_api_in_bahasa_indonesia(client: TestClient[Any]) -> None:
    response = client.get("/tentang")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="id">' in page
    assert "Buku induk RT" in page
    # every link on the page leads somewhere real
    for link in ("/health", "/schema/openapi.json", "/login"):
        assert f'href="{link}"' in page
        assert client.get(link).status_code == 200


def test_pages_are_not_in_the_api_document(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert not {"/", "/tentang", "/login", "/bahasa"} & set(paths)
