"""Piccolo app of the lansia plugin: its table and migrations (rtbook_piccolo_apps)."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from rtbook_lansia.tables import LANSIA_TABLES

APP_CONFIG = AppConfig(
    app_name="lansia",
    migrations_folder_path=str(Path(__file__).resolve().parent / "migrations"),
    table_classes=LANSIA_TABLES,
    migration_dependencies=[],
    commands=[],
)
