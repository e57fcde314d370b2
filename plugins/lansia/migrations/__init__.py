"""Migrations of the lansia plugin's Piccolo app."""
