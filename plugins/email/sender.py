"""Sending one e-mail through Apprise (mailto:// or mailtos://) from the city's config."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import apprise

from rtbook.core.validation import Issues, check_email

from .outcome import ChannelSendError, check_result

log = logging.getLogger("rtbook_email")

DEFAULT_SUBJECT = "rtbook"
_MODES = {"none": "insecure", "starttls": "starttls", "ssl": "ssl"}


def mask_email(address: str) -> str:
    """``budi.santoso@example.id`` -> ``b***@example.id`` (for errors and logs)."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mailto_url(config: Mapping[str, Any], address: str) -> str:
    """The Apprise URL for one recipient: ``mailto://`` for security none/starttls,
    ``mailtos://`` for ssl; credentials URL-quoted (the URL holds the password: never
    log it)."""
    security = config["security"]
    schema = "mailtos" if security == "ssl" else "mailto"
    auth = ""
    if config.get("username"):
        auth = quote(config["username"], safe="")
        if config.get("password"):
            auth += ":" + quote(config["password"], safe="")
        auth += "@"
    timeout = str(float(config.get("timeout_seconds") or 15.0))
    params = {
        "smtp": config["smtp_host"],
        "from": config["from"],
        "to": address,
        "mode": _MODES[security],
        "cto": timeout,
        "rto": timeout,
    }
    host = config["smtp_host"]
    return f"{schema}://{auth}{host}:{int(config['smtp_port'])}?{urlencode(params)}"


def html_body(text: str) -> str:
    """The text as a minimal HTML document (escaped, line breaks kept)."""
    paragraphs = html.escape(text).replace("\n", "<br>\n")
    return f'<html><body><p style="font-family: sans-serif">{paragraphs}</p></body></html>'


def _notify(url: str, text: str, subject: str, timeout: float) -> Any:
    # One Apprise object per send: Apprise's email plugin waits between two sends
    # made through the same object.
    asset = apprise.AppriseAsset(storage_mode="memory")
    apobj = apprise.Apprise(asset=asset)
    if not apobj.add(url):
        raise ChannelSendError("konfigurasi email tidak dapat dipakai (unusable email config)")
    return apobj.notify(
        body=html_body(text),
        title=subject,
        body_format=apprise.NotifyFormat.HTML,
        timeout=timeout,
    )


def send_email_sync(
    address: str, text: str, *, subject: str | None, config: Mapping[str, Any]
) -> None:
    """Send one e-mail (plain text and HTML alternative) and wait for the SMTP answer.
    Raises ChannelSendError (or ValueError for a bad address) when it is not accepted."""
    issues = Issues()
    recipient = check_email(address, "address", issues)
    if issues or recipient is None:
        raise ValueError(
            f"alamat email tidak sah (not a valid email address): {mask_email(str(address))}"
        )
    target = mask_email(recipient)
    timeout = float(config.get("timeout_seconds") or 15.0)
    result = _notify(mailto_url(config, recipient), text, subject or DEFAULT_SUBJECT, timeout * 4)
    check_result(
        result,
        channel="email",
        target=target,
        secrets=[config.get("password")],
        replacements={recipient: target},
        logger=log,
    )


async def send_email(
    address: str, text: str, *, subject: str | None, config: Mapping[str, Any]
) -> str | None:
    """The ``email`` channel sender (ChannelSender). Apprise gives no provider message
    id for SMTP: returns None once the server accepted the message."""
    await asyncio.to_thread(send_email_sync, address, text, subject=subject, config=config)
    return None
