"""Piccolo migrations, one folder per app (installed as the ``rtbook_migrations`` package)."""
