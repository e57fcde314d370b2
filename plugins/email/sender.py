"""Sending one e-mail through Apprise (mailto:// or mailtos://) from the city's config."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import apprise

from rtbook.core.notify.apprise_results import ChannelSendError, TargetResult, check_result
from rtbook.core.notify.channels import run_blocking
from rtbook.core.notify.masking import mask_address, mask_addresses_in_logs
from rtbook.core.validation import Issues, check_email

log = logging.getLogger("rtbook_email")
mask_addresses_in_logs()  # Apprise logs every send with the full address

DEFAULT_SUBJECT = "rtbook"
_MODES = {"none": "insecure", "starttls": "starttls", "ssl": "ssl"}


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


def recipient_address(address: str) -> str:
    """The checked address; ValueError for one that is not an e-mail address."""
    issues = Issues()
    recipient = check_email(address, "address", issues)
    if issues or recipient is None:
        raise ValueError(
            f"alamat email tidak sah (not a valid email address): {mask_address(str(address))}"
        )
    return recipient


def send_email_sync(
    address: str, text: str, *, subject: str | None, config: Mapping[str, Any]
) -> list[TargetResult]:
    """Send one e-mail (plain text and HTML alternative) and wait for the SMTP answer:
    the per-target results when it was accepted; ChannelSendError (or ValueError for a
    bad address) when not."""
    recipient = recipient_address(address)
    target = mask_address(recipient)
    timeout = float(config.get("timeout_seconds") or 15.0)
    result = _notify(mailto_url(config, recipient), text, subject or DEFAULT_SUBJECT, timeout * 4)
    return check_result(
        result,
        channel="email",
        target=target,
        secrets=[config.get("password")],
        replacements={recipient: target},
        logger=log,
    )


async def send_email(
    address: str, text: str, *, subject: str | None, config: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``email`` channel sender (ChannelSender), sending in the hub's send threads.
    Once the server accepted the message: ``{"message_id": None, "results": [...]}``
    (SMTP through Apprise gives no message id; ``results``: ``TargetResult.as_dict()``
    per target). ValueError for an address that is not an e-mail address."""
    recipient_address(address)
    results = await run_blocking(send_email_sync, address, text, subject=subject, config=config)
    return {"message_id": None, "results": [r.as_dict() for r in results]}
