"""Piccolo configuration (PICCOLO_CONF=rtbook.piccolo_conf), built from RTBOOK_DATABASE_URL.

rtbook itself runs queries through rtbook.core.db; Piccolo owns the schema and runs
the migrations (see rtbook.core.schema).
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from rtbook.core.settings import database_url


def _engine() -> Engine:
    url = database_url()
    if url.dialect == "sqlite":
        from piccolo.engine.sqlite import SQLiteEngine

        assert url.sqlite_path is not None
        return SQLiteEngine(path=str(url.sqlite_path))
    from piccolo.engine.postgres import PostgresEngine

    return PostgresEngine(config={"dsn": url.raw})


DB = _engine()


def _apps() -> list[str]:
    from rtbook.core.plugins.registry import PluginRegistry
    from rtbook.core.schema import app_modules

    return app_modules(PluginRegistry.load(log_failures=False))


APP_REGISTRY = AppRegistry(apps=_apps())
