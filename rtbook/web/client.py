"""Who is calling, as far as the network tells: the client address and the scheme.

Behind a reverse proxy the socket peer is the proxy. The address the proxy saw is
taken from a header only when the operator names that header in
``RTBOOK_TRUSTED_PROXY_HEADER`` (e.g. ``X-Forwarded-For``): without it, anyone could
send such a header and pick the address their failed logins are counted against.
Likewise the scheme (for HSTS and Secure cookies) comes from
``RTBOOK_TRUSTED_PROTO_HEADER`` (default ``X-Forwarded-Proto``) only when a trusted
proxy header is configured.
"""

from __future__ import annotations

import os
from typing import Any

from litestar.connection import ASGIConnection

PROXY_HEADER_ENV = "RTBOOK_TRUSTED_PROXY_HEADER"
PROTO_HEADER_ENV = "RTBOOK_TRUSTED_PROTO_HEADER"
DEFAULT_PROTO_HEADER = "X-Forwarded-Proto"
UNKNOWN = "unknown"
ADDRESS_MAX = 100


def trusted_proxy_header() -> str | None:
    """The header a trusted proxy puts the client address in, or None (no proxy)."""
    name = os.environ.get(PROXY_HEADER_ENV, "").strip()
    return name.lower() or None


def _header(scope: Any, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers") or ():
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


def scope_client_address(scope: Any) -> str:
    """:func:`client_address` for a raw ASGI scope (middleware)."""
    header = trusted_proxy_header()
    if header is not None:
        value = _header(scope, header)
        if value:
            first = value.split(",", 1)[0].strip()
            if first:
                return first[:ADDRESS_MAX]
    peer = scope.get("client")
    if peer and peer[0]:
        return str(peer[0])[:ADDRESS_MAX]
    return UNKNOWN


def client_address(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The socket peer, or the first address of the trusted proxy header when
    ``RTBOOK_TRUSTED_PROXY_HEADER`` names one and the request carries it."""
    return scope_client_address(request.scope)


def scope_is_https(scope: Any) -> bool:
    """:func:`is_https` for a raw ASGI scope."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    if trusted_proxy_header() is None:
        return False
    name = os.environ.get(PROTO_HEADER_ENV, "").strip() or DEFAULT_PROTO_HEADER
    value = _header(scope, name)
    return bool(value) and value.split(",", 1)[0].strip().lower() == "https"


def is_https(request: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Served over https: the connection's scheme, or the trusted proxy's proto header."""
    return scope_is_https(request.scope)
