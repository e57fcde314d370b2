"""rtbook's built-in ``whatsapp`` plugin: notices by WhatsApp, through Apprise, over
Meta's Cloud API (provider ``cloud``) or a self-hosted Evolution API gateway
(provider ``evolution``).

Config per city: ``rtbook_whatsapp.config`` (``CloudConfig | EvolutionConfig``); the
channel sender is ``rtbook_whatsapp.sender.send_whatsapp``. See docs/channels.md.
"""

from __future__ import annotations

from typing import Any

import rtbook
from rtbook.core.notify.apprise_results import ChannelSendError, TargetResult
from rtbook.core.plugins import StartupSettings

from .config import CloudConfig, EvolutionConfig, WhatsAppConfig
from .sender import GRAPH_URL_ENV, check_graph_url, send_whatsapp

__all__ = [
    "ChannelSendError",
    "CloudConfig",
    "EvolutionConfig",
    "TargetResult",
    "WhatsAppConfig",
    "send_whatsapp",
]


@rtbook.hookimpl
def rtbook_plugin_info() -> dict[str, str]:
    return {
        "name": "whatsapp",
        "description": (
            "Pemberitahuan WhatsApp untuk ketua RT lewat Meta Cloud API atau gateway "
            "Evolution API (WhatsApp notices)"
        ),
    }


@rtbook.hookimpl
def rtbook_config_schema() -> Any:
    return WhatsAppConfig


@rtbook.hookimpl
def rtbook_notification_channels() -> dict[str, Any]:
    return {"whatsapp": send_whatsapp}


@rtbook.hookimpl
def rtbook_startup_check(settings: StartupSettings) -> list[str]:
    problem = check_graph_url(settings.environ.get(GRAPH_URL_ENV))
    return [problem] if problem else []
