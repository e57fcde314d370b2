"""Migrations of the sample plugin's Piccolo app (it owns no tables)."""
