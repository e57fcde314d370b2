"""Errors the domain raises for callers (CLI, web) to turn into user-facing answers."""

from __future__ import annotations


class RtbookError(Exception):
    """Bad input or a refused action, with a one-line reason meant for the user."""


class NotFound(RtbookError):
    """The thing asked for does not exist."""


class Forbidden(RtbookError):
    """The caller's role or scope does not allow this."""


class ConfigError(RtbookError):
    """The configuration (environment, files) is unusable."""
