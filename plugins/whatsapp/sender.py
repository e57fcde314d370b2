"""Sending one WhatsApp message through Apprise: ``evolution://`` (a self-hosted
Evolution API gateway) or ``whatsapp://`` (Meta's Cloud API, template messages)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import apprise

from rtbook.core.notify.apprise_results import ChannelSendError, TargetResult, check_result
from rtbook.core.notify.channels import run_blocking
from rtbook.core.notify.masking import mask_address, mask_addresses_in_logs
from rtbook.core.validation import Issues, normalize_phone

from .config import DEFAULT_RATE, DEFAULT_TIMEOUT
from .rate import limiter_for

log = logging.getLogger("rtbook_whatsapp")
mask_addresses_in_logs()  # Apprise logs every send with the full address

GRAPH_URL_ENV = "RTBOOK_WHATSAPP_GRAPH_URL"
"""Where the Cloud API is reached instead of https://graph.facebook.com (a proxy, a
test server): ``http(s)://host[:port]``; Apprise's path (``/v21.0/{id}/messages``)
is kept."""

_TEMPLATE_PARAM_SPACES = re.compile(r"[ \t\r\n]+")


def e164(address: str) -> str:
    """The recipient's number as E.164 (``0812...``, ``62812...``, ``+62812...``)."""
    issues = Issues()
    number = normalize_phone(address, "address", issues)
    if issues or number is None:
        raise ValueError(
            f"nomor WhatsApp tidak sah (not a valid WhatsApp number): {mask_address(str(address))}"
        )
    return number


def check_graph_url(value: str | None) -> str | None:
    """A problem with RTBOOK_WHATSAPP_GRAPH_URL, or None."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return (
            f"{GRAPH_URL_ENV} tidak sah, contoh https://graph.example.id "
            "(invalid: expected http(s)://host[:port])"
        )
    return None


def _timeout(config: Mapping[str, Any]) -> str:
    return str(float(config.get("timeout_seconds") or DEFAULT_TIMEOUT))


def evolution_url(config: Mapping[str, Any], number: str) -> str:
    """``evolution(s)://APIKEY@host[:port]/INSTANCE/DIGITS``: Apprise posts to
    ``/message/sendText/INSTANCE`` with ``{"number": DIGITS, "text": ...}``."""
    parts = urlsplit(config["base_url"])
    schema = "evolutions" if parts.scheme == "https" else "evolution"
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    timeout = _timeout(config)
    return (
        f"{schema}://{quote(config['api_key'], safe='')}@{host}{port}/"
        f"{quote(config['instance'], safe='')}/{number.lstrip('+')}"
        f"?{urlencode({'cto': timeout, 'rto': timeout})}"
    )


def cloud_url(config: Mapping[str, Any], number: str) -> str:
    """``whatsapp://TEMPLATE:TOKEN@PHONE_NUMBER_ID/+DIGITS?lang=..&:body=1``: a
    template message whose body variable {{1}} is the text."""
    timeout = _timeout(config)
    query = urlencode(
        {"lang": config.get("language") or "id", ":body": "1", "cto": timeout, "rto": timeout}
    )
    return (
        f"whatsapp://{quote(config['template'], safe='')}:{quote(config['token'], safe='')}"
        f"@{config['phone_number_id']}/{quote(number, safe='')}?{query}"
    )


def template_parameter(text: str) -> str:
    """Meta refuses template parameters with new lines, tabs or more than four spaces
    in a row: the text on one line."""
    return _TEMPLATE_PARAM_SPACES.sub(" ", text).strip()


def _service(url: str, graph_url: str | None) -> Any:
    asset = apprise.AppriseAsset(storage_mode="memory")
    service = apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)
    if service is None:
        raise ChannelSendError(
            "konfigurasi WhatsApp tidak dapat dipakai (unusable WhatsApp config)"
        )
    if graph_url:
        # The Cloud API plugin keeps Meta's address in ``notify_url``; set on this
        # object only.
        service.notify_url = graph_url.rstrip("/") + "/{fb_ver}/{phone_id}/messages"
    return service


def send_whatsapp_sync(
    address: str, text: str, *, subject: str | None, config: Mapping[str, Any]
) -> list[TargetResult]:
    """Send one message and wait for the provider's answer: the per-target results
    when it was accepted; ChannelSendError (or ValueError for a bad number) when not."""
    number = e164(address)
    target = mask_address(number)
    provider = config.get("provider")
    graph_url = None
    if provider == "evolution":
        url = evolution_url(config, number)
        secrets = [config.get("api_key")]
        body = text
    elif provider == "cloud":
        url = cloud_url(config, number)
        secrets = [config.get("token")]
        body = template_parameter(text)
        graph_url = os.environ.get(GRAPH_URL_ENV) or None
        if check_graph_url(graph_url):
            raise ChannelSendError(check_graph_url(graph_url) or "")
    else:
        raise ChannelSendError(f"penyedia WhatsApp tidak dikenal (unknown provider): {provider!r}")
    apobj = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    apobj.add(_service(url, graph_url))
    timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT)
    result = apobj.notify(body=body, title="", timeout=timeout * 3)
    return check_result(
        result,
        channel=f"whatsapp ({provider})",
        target=target,
        secrets=secrets,
        replacements={number: target, number.lstrip("+"): target.lstrip("+")},
        logger=log,
    )


def account_key(config: Mapping[str, Any]) -> str:
    """Who the rate applies to: the business number, or the gateway's instance."""
    if config.get("provider") == "cloud":
        return f"cloud:{config.get('phone_number_id')}"
    return f"evolution:{config.get('base_url')}:{config.get('instance')}"


async def send_whatsapp(
    address: str, text: str, *, subject: str | None, config: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``whatsapp`` channel sender (ChannelSender): checks the number (ValueError
    before taking a send slot), waits for its slot under the account's send rate
    (``rate_per_second``, default 80), then sends in the hub's send threads. Once the
    provider accepted the message: ``{"message_id": None, "results": [...]}`` (Apprise
    gives no provider message id; ``results``: ``TargetResult.as_dict()`` per target).
    ``subject`` is not used (WhatsApp has none)."""
    e164(address)
    rate = float(config.get("rate_per_second") or DEFAULT_RATE)
    await limiter_for(account_key(config), rate).acquire()
    results = await run_blocking(send_whatsapp_sync, address, text, subject=subject, config=config)
    return {"message_id": None, "results": [r.as_dict() for r in results]}
