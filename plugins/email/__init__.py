"""rtbook's built-in ``email`` plugin: notices by e-mail over SMTP, through Apprise.

Config per city: see ``rtbook_email.config.EmailConfig``; the channel sender is
``rtbook_email.sender.send_email``. docs/channels.md describes both.
"""

from __future__ import annotations

from typing import Any

import rtbook
from rtbook.core.notify.apprise_results import ChannelSendError, TargetResult

from .config import EmailConfig
from .sender import mailto_url, send_email

__all__ = ["ChannelSendError", "EmailConfig", "TargetResult", "mailto_url", "send_email"]


@rtbook.hookimpl
def rtbook_plugin_info() -> dict[str, str]:
    return {
        "name": "email",
        "description": "Pemberitahuan lewat email (SMTP) untuk ketua RT (e-mail notices)",
    }


@rtbook.hookimpl
def rtbook_config_schema() -> type[EmailConfig]:
    return EmailConfig


@rtbook.hookimpl
def rtbook_notification_channels() -> dict[str, Any]:
    return {"email": send_email}
