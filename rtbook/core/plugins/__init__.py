"""Plugins: discovery through entry points, hook specs, per-city settings.

What a plugin author imports::

    import rtbook                                  # rtbook.hookimpl marks hooks
    from rtbook.core.plugins import MenuItem, PluginInfo, Secret, StartupSettings

The hook specs are in rtbook.core.hookspecs; docs/plugins.md describes them all.
Kept light: importing this package does not import the registry or the database.
"""

from rtbook.core.plugins.api import (
    SECRET_MASK,
    ChannelSender,
    MenuItem,
    PluginInfo,
    Secret,
    StartupSettings,
)

__all__ = [
    "SECRET_MASK",
    "ChannelSender",
    "MenuItem",
    "PluginInfo",
    "Secret",
    "StartupSettings",
]
