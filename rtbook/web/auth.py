"""Bearer-token authentication for /api/v1 and the role guards of its routes.

The middleware sits on the API router only, so /health, /schema and the pages are
open to it. Per-record scope (which RT, which city) is checked where the record is
read (rtbook.core.ledger.reads), in the same database round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection, Request
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Guard

from rtbook.core.auth import Principal, Role, principal_for_token
from rtbook.core.db import Connection, Database
from rtbook.web.errors import MESSAGES, WWW_AUTHENTICATE, ApiError

SECURITY_SCHEME = "BearerToken"
SECURITY_COMPONENTS = Components(
    security_schemes={
        SECURITY_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            description="Token API dari `rtbook token create USERNAME` (API token)",
        )
    }
)
SECURITY: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves ``Authorization: Bearer TOKEN`` to a Principal (``request.user``)."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection.headers.get("authorization"))
        principal = None
        if token is not None:
            db: Database = connection.app.state.db

            async def lookup(conn: Connection) -> Principal | None:
                return await principal_for_token(conn, token)

            principal = await db.read(lookup)
        if principal is None:
            raise NotAuthorizedException(detail=MESSAGES[401], headers=WWW_AUTHENTICATE)
        return AuthenticationResult(user=principal, auth=token)


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency: the authenticated caller of an /api/v1 route."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):  # only reachable if a route escaped the middleware
        raise NotAuthorizedException(detail=MESSAGES[401], headers=WWW_AUTHENTICATE)
    return user


def require(allowed: Callable[[Principal], bool], message: str | None = None) -> Guard:
    """A guard that lets a caller through when ``allowed(principal)`` (403 otherwise)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise NotAuthorizedException(detail=MESSAGES[401], headers=WWW_AUTHENTICATE)
        if not allowed(user):
            raise ApiError(403, message or MESSAGES[403])

    return guard


def require_roles(*roles: Role, message: str | None = None) -> Guard:
    """A guard that lets only the given roles through (403 for the others)."""
    allowed = frozenset(roles)
    return require(lambda principal: principal.role in allowed, message)
