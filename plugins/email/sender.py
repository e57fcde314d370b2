"""Sending one e-mail through Apprise (mailto:// or mailtos://) from the city's config.

A plugin notice's files (``attachments``) are written to a temporary folder, under
sanitised names, for the one send and handed to Apprise (``attach=``); the folder is
removed when the send ends, whatever its outcome.
"""

from __future__ import annotations

import html
import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import apprise
from apprise.attachment.file import AttachFile

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


FILENAME_MAX = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, taken: set[str] | None = None) -> str:
    """A file name fit for a folder and a mail header: letters, digits, ``.``, ``_``
    and ``-`` only (others become ``_``), no leading dot, at most 100 characters,
    and not one of ``taken`` (a ``-2``, ``-3``... before the extension then)."""
    base = _UNSAFE.sub("_", os.path.basename(str(name).replace("\\", "/"))).lstrip(".")
    base = base[:FILENAME_MAX] or "lampiran"
    taken = taken if taken is not None else set()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}" + (f".{ext}" if ext else "")
        candidate = stem[: FILENAME_MAX - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


def _attach(folder: str, attachments: Sequence[Any]) -> apprise.AppriseAttachment | None:
    """Each attachment written to ``folder`` under a safe name, as Apprise attachments."""
    if not attachments:
        return None
    found = apprise.AppriseAttachment()
    taken: set[str] = set()
    for item in attachments:
        name = safe_filename(item.filename, taken)
        path = os.path.join(folder, name)
        with open(path, "wb") as out:
            out.write(item.content)
        found.add(AttachFile(path, name=name, mimetype=item.media_type))
    return found


def _notify(
    url: str, text: str, subject: str, timeout: float, attachments: Sequence[Any] = ()
) -> Any:
    # One Apprise object per send: Apprise's email plugin waits between two sends
    # made through the same object.
    asset = apprise.AppriseAsset(storage_mode="memory")
    apobj = apprise.Apprise(asset=asset)
    if not apobj.add(url):
        raise ChannelSendError("konfigurasi email tidak dapat dipakai (unusable email config)")
    with tempfile.TemporaryDirectory(prefix="rtbook-mail-") as folder:
        return apobj.notify(
            body=html_body(text),
            title=subject,
            body_format=apprise.NotifyFormat.HTML,
            timeout=timeout,
            attach=_attach(folder, attachments),
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
    address: str,
    text: str,
    *,
    subject: str | None,
    config: Mapping[str, Any],
    attachments: Sequence[Any] = (),
) -> list[TargetResult]:
    """Send one e-mail (HTML, with ``attachments``: objects with ``filename``,
    ``media_type`` and ``content``, e.g. rtbook.core.notify.notices.Attachment) and
    wait for the SMTP answer: the per-target results when it was accepted;
    ChannelSendError (or ValueError for a bad address) when not."""
    recipient = recipient_address(address)
    target = mask_address(recipient)
    timeout = float(config.get("timeout_seconds") or 15.0)
    result = _notify(
        mailto_url(config, recipient),
        text,
        subject or DEFAULT_SUBJECT,
        timeout * 4,
        attachments,
    )
    return check_result(
        result,
        channel="email",
        target=target,
        secrets=[config.get("password")],
        replacements={recipient: target},
        logger=log,
    )


async def send_email(
    address: str,
    text: str,
    *,
    subject: str | None,
    config: Mapping[str, Any],
    attachments: Sequence[Any] = (),
) -> dict[str, Any]:
    """The ``email`` channel sender (ChannelSender), sending in the hub's send threads.
    Once the server accepted the message: ``{"message_id": None, "results": [...]}``
    (SMTP through Apprise gives no message id; ``results``: ``TargetResult.as_dict()``
    per target). ValueError for an address that is not an e-mail address.
    ``attachments``: a plugin notice's files (the hub passes them when there are some)."""
    recipient_address(address)
    results = await run_blocking(
        send_email_sync,
        address,
        text,
        subject=subject,
        config=config,
        attachments=tuple(attachments),
    )
    return {"message_id": None, "results": [r.as_dict() for r in results]}
