"""The Litestar application: ``create_app()`` (also a uvicorn factory).

    uvicorn --factory rtbook.web.app:create_app

The app is stateless apart from its database pool: it opens the Database at startup
(creating or updating the schema if needed) and closes it at shutdown. Handlers get
the Database and the caller (``principal``, on /api/v1) through dependency injection.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import ControllerRouterHandler

import rtbook
from rtbook.core import settings
from rtbook.core.db import make_database
from rtbook.core.plugins.api import StartupSettings
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.schema import ensure_schema
from rtbook.core.settings import DatabaseURL
from rtbook.web.api_audit import AuditController
from rtbook.web.api_dispatch import DeadLettersController
from rtbook.web.api_ledger import RTLedgerController
from rtbook.web.api_notify import DeliveriesController
from rtbook.web.api_plugins import (
    PluginSettingsController,
    plugin_api_handlers,
    plugin_page_handlers,
)
from rtbook.web.api_preferences import MyPreferencesController
from rtbook.web.api_privacy import PrivacyController
from rtbook.web.api_services import MAX_BODY_BYTES, ServicesController
from rtbook.web.auth import SECURITY, SECURITY_COMPONENTS, BearerAuthMiddleware, provide_principal
from rtbook.web.body import JSONSafeRequest
from rtbook.web.deps import provide_db
from rtbook.web.errors import EXCEPTION_HANDLERS
from rtbook.web.health import health
from rtbook.web.login import LOGIN_HANDLERS, PAGE_EXCEPTION_HANDLERS, provide_current_user
from rtbook.web.pages.routes import PAGE_HANDLERS
from rtbook.web.security import ApiRateLimitMiddleware, allowed_hosts, security_headers_hook

log = logging.getLogger("rtbook.web")

API_PREFIX = "/api/v1"
API_HANDLERS: tuple[ControllerRouterHandler, ...] = (
    ServicesController,
    RTLedgerController,
    DeadLettersController,
    PluginSettingsController,
    DeliveriesController,
    MyPreferencesController,
    AuditController,
    PrivacyController,
)


def api_router(handlers: Sequence[ControllerRouterHandler]) -> Router:
    """/api/v1: bearer-token auth and the ``principal`` dependency."""
    return Router(
        path=API_PREFIX,
        route_handlers=list(handlers),
        # the rate limit first: unauthenticated callers are counted too
        middleware=[
            ApiRateLimitMiddleware(),
            DefineMiddleware(BearerAuthMiddleware),
        ],
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
        security=SECURITY,
    )


def create_app(
    database_url: DatabaseURL | None = None,
    *,
    extra_api_handlers: Sequence[ControllerRouterHandler] = (),
    extra_handlers: Sequence[ControllerRouterHandler] = (),
    registry: PluginRegistry | None = None,
) -> Litestar:
    """The rtbook web app for a database (default: RTBOOK_DATABASE_URL).

    Installed plugins (entry-point group ``rtbook``, or ``registry``) add their API
    routes under /api/v1 and their pages at the root, each answering 404 in a city
    where the plugin is not enabled. ``extra_api_handlers`` join /api/v1 (token auth,
    ``principal``); ``extra_handlers`` are mounted as they are.
    """
    url = database_url or settings.database_url()
    plugins = registry if registry is not None else PluginRegistry.load()
    hosts = allowed_hosts()

    @asynccontextmanager
    async def database_lifespan(app: Litestar) -> AsyncIterator[None]:
        db = make_database(url)
        await db.open()
        try:
            await ensure_schema(db, url, plugins)
            for name, problems in plugins.startup_problems(
                StartupSettings(database_dialect=url.dialect, environ=dict(os.environ))
            ).items():
                for problem in problems:
                    log.warning("plugin %s: %s", name, problem)
            app.state.db = db
            yield
        finally:
            await db.close()

    return Litestar(
        route_handlers=[
            *PAGE_HANDLERS,
            *LOGIN_HANDLERS,
            health,
            api_router([*API_HANDLERS, *plugin_api_handlers(plugins), *extra_api_handlers]),
            *plugin_page_handlers(plugins),
            *extra_handlers,
        ],
        state=State({"plugins": plugins, "database_url": url}),
        lifespan=[database_lifespan],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "current_user": Provide(provide_current_user),  # pages: the session's user
        },
        exception_handlers={**EXCEPTION_HANDLERS, **PAGE_EXCEPTION_HANDLERS},
        request_max_body_size=MAX_BODY_BYTES,
        # pages reach phones over slow networks; their CSRF tokens are masked per page
        compression_config=CompressionConfig(backend="gzip", minimum_size=500),
        request_class=JSONSafeRequest,  # a body that is not JSON: 400, never 500
        allowed_hosts=hosts,
        before_send=[security_headers_hook(hosts)],
        openapi_config=OpenAPIConfig(
            title="rtbook",
            version=_version(),
            description=(
                "Buku induk RT yang tersinkron dengan Dukcapil (the RT resident book kept in "
                "sync with the civil registry). Galat (errors): "
                '`{"error": "...", "details": [...]}`.'
            ),
            path="/schema",
            components=SECURITY_COMPONENTS,
            use_handler_docstrings=False,
            # only the JSON document: the HTML viewers load scripts from CDNs and
            # inline, which the Content-Security-Policy refuses (docs/security.md)
            render_plugins=[JsonRenderPlugin(path=["/openapi.json", "/"])],
        ),
    )


def _version() -> str:
    version: Any = getattr(rtbook, "__version__", None)
    return str(version or "0.1.0")
