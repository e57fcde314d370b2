"""Piccolo app of rtbook's core tables; its migrations live in migrations/core/."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

import rtbook_migrations.core as core_migrations
from rtbook.core.tables import CORE_TABLES

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(core_migrations.__file__).parent),
    table_classes=CORE_TABLES,
    migration_dependencies=[],
    commands=[],
)
