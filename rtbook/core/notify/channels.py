"""The channels that enabled plugins offer (``rtbook_notification_channels``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CHANNELS_HOOK = "rtbook_notification_channels"


@dataclass(frozen=True, slots=True)
class Channel:
    plugin: str
    name: str
    sender: Callable[..., Any]


def channel_senders(registry: Any) -> dict[str, list[Channel]]:
    """plugin -> the channels it offers (installed plugins; the city's enabled ones
    are picked per event)."""
    offered: dict[str, list[Channel]] = {}
    collect = getattr(registry, "collect", None)
    if not callable(collect):
        return offered
    for plugin, answer in collect(CHANNELS_HOOK):
        if isinstance(answer, Mapping):
            offered[plugin] = [
                Channel(plugin, str(name), sender)
                for name, sender in answer.items()
                if callable(sender)
            ]
    return offered
