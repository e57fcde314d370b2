"""The pages' files: served from the package with the right types, revalidated with
ETags (a phone on a slow network gets 304, not the file again), the service worker
at the root with its scope, and nothing else under /static."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app
from rtbook.web.pages.assets import STATIC_FILES, assets_version


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    """An app on an empty SQLite file: the files need no data."""
    with TestClient(create_app(DatabaseURL.parse(f"sqlite:///{tmp_path}/a.db"))) as app:
        yield app


def test_each_file_has_its_type_and_an_etag(client: TestClient[Any]) -> None:
    types = {
        "/static/rtbook.css": "text/css",
        "/static/htmx.min.js": "text/javascript",
        "/static/app.js": "text/javascript",
        "/static/icon.svg": "image/svg+xml",
        "/sw.js": "text/javascript",
        "/manifest.webmanifest": "application/manifest+json",
    }
    for path, media_type in types.items():
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith(media_type), path
        etag = answer.headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
    assert set(STATIC_FILES) >= {"rtbook.css", "htmx.min.js", "app.js", "icon.svg"}


def test_service_worker_covers_the_site_and_names_its_cache_by_release(
    client: TestClient[Any],
) -> None:
    answer = client.get("/sw.js")
    assert answer.headers["service-worker-allowed"] == "/"
    assert answer.headers["cache-control"] == "no-cache"  # a new release is seen at once
    assert f'"{assets_version()}"' in answer.text and "__ASSETS_VERSION__" not in answer.text


def test_manifest_describes_an_installable_app(client: TestClient[Any]) -> None:
    manifest = json.loads(client.get("/manifest.webmanifest").text)
    assert manifest["lang"] == "id" and manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_nothing_else_is_served_and_files_are_read_only(client: TestClient[Any]) -> None:
    for path in ("/static/nope.js", "/static/../pyproject.toml", "/static/", "/static"):
        assert client.get(path).status_code == 404, path
    assert client.post("/static/app.js").status_code == 405
    head = client.head("/static/app.js", headers={"Accept-Encoding": "identity"})
    get = client.get("/static/app.js", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_pages_and_files_travel_compressed(client: TestClient[Any]) -> None:
    raw = client.get("/static/htmx.min.js", headers={"Accept-Encoding": "identity"})
    packed = client.get("/static/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in raw.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(raw.content) / 2
