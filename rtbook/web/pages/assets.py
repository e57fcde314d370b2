"""The pages' files: /static/* (stylesheet, htmx, the app script, icon), the web app
manifest and the service worker (at the root, so its scope is the whole site).

They are ASGI handlers, not part of the API document, read once from the package.
Each answers with an ETag, so a phone on a slow network revalidates with a 304
instead of downloading again; compression is the app's (Litestar's gzip).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from litestar import asgi
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

from rtbook import __version__

_TYPES = {
    ".css": "text/css",  # Litestar adds the charset to text/*
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".webmanifest": "application/manifest+json",
}
STATIC_FILES = ("rtbook.css", "htmx.min.js", "app.js", "icon.svg", "htmx.LICENSE.txt")
SERVICE_WORKER = "sw.js"
MANIFEST = "manifest.webmanifest"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _read(name: str) -> bytes:
    return resources.files("rtbook.web").joinpath("static", name).read_bytes()


def _asset(name: str, body: bytes) -> Asset:
    suffix = name[name.rindex(".") :]
    digest = hashlib.sha256(body).hexdigest()[:20]
    return Asset(body=body, media_type=_TYPES[suffix], etag=f'"{digest}"')


@cache
def assets_version() -> str:
    """Changes whenever a static file or rtbook's version does: the service worker's
    cache name, so a new release replaces what phones keep offline."""
    digest = hashlib.sha256(__version__.encode())
    for name in STATIC_FILES:
        digest.update(_read(name))
    return digest.hexdigest()[:12]


@cache
def asset(name: str) -> Asset | None:
    if name in STATIC_FILES:
        return _asset(name, _read(name))
    if name == SERVICE_WORKER:
        text = _read(name).decode("utf-8").replace("__ASSETS_VERSION__", assets_version())
        return _asset(name, text.encode("utf-8"))
    if name == MANIFEST:
        return _asset(name, _read(name))
    return None


async def _answer(scope: Scope, receive: Receive, send: Send, name: str, cache: str) -> None:
    found = asset(name)
    method = scope.get("method")
    if found is None:
        response = ASGIResponse(body=b"", status_code=404)
    elif method not in ("GET", "HEAD"):
        response = ASGIResponse(body=b"", status_code=405, headers={"allow": "GET, HEAD"})
    else:
        headers = {"cache-control": cache, "etag": found.etag}
        if name == SERVICE_WORKER:
            headers["service-worker-allowed"] = "/"
        sent = dict(scope.get("headers") or ()).get(b"if-none-match", b"").decode("latin-1")
        if found.etag in {tag.strip() for tag in sent.split(",")}:
            response = ASGIResponse(body=b"", status_code=304, headers=headers)
        else:
            head = method == "HEAD"
            if head:  # the headers of the GET, no body
                headers["content-length"] = str(len(found.body))
            response = ASGIResponse(
                body=b"" if head else found.body,
                media_type=found.media_type,
                headers=headers,
                is_head_response=head,
            )
    await response(scope, receive, send)


def _static_handler(name: str) -> Any:
    """``/static/NAME``: one route per file (a mount would rewrite the request's path,
    which the access log then shows)."""

    @asgi(f"/static/{name}", copy_scope=True, name=f"static-{name}")
    async def static_file(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer(scope, receive, send, name, "public, max-age=3600")

    return static_file


@asgi("/sw.js", copy_scope=True)
async def service_worker(scope: Scope, receive: Receive, send: Send) -> None:
    await _answer(scope, receive, send, SERVICE_WORKER, "no-cache")


@asgi("/manifest.webmanifest", copy_scope=True)
async def manifest(scope: Scope, receive: Receive, send: Send) -> None:
    await _answer(scope, receive, send, MANIFEST, "public, max-age=3600")


ASSET_HANDLERS = (*(_static_handler(name) for name in STATIC_FILES), service_worker, manifest)
