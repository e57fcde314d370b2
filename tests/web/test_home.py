"""Opening the server's address in a browser shows what it is and where the API lives."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_home_page_describes_the_api_in_bahasa_indonesia(client: TestClient[Any]) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="id">' in page
    assert "Buku induk RT" in page
    # every link on the page leads somewhere real
    for link in ("/health", "/schema/openapi.json"):
        assert f'href="{link}"' in page
        assert client.get(link).status_code == 200


def test_home_page_is_not_in_the_api_document(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert "/" not in paths
