"""Plugins: discovery through entry points, hook specs, per-city settings."""
