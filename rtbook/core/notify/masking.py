"""Recipients' addresses as admins, errors and logs may show them: one masking for the
whole hub and its channel plugins (``+62812****7890``, ``a***@example.org``).

Apprise logs each send with the full address ("Sent Email to ani@example.org");
:func:`mask_addresses_in_logs` puts a filter on its logger so worker logs carry
masked addresses only.
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(r"(?<![0-9A-Za-z])\+?[0-9]{9,15}(?![0-9])")


def mask_address(address: str | None) -> str:
    """``+6281234567890`` -> ``+62812****7890``; ``ani@example.org`` -> ``a***@example.org``."""
    if not address:
        return ""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) <= 9:
        return "*" * max(len(address) - 4, 0) + address[-4:]
    return f"{address[:6]}****{address[-4:]}"


def hide_address(text: str, address: str | None) -> str:
    """``text`` with the full ``address`` (and a phone number's digits without ``+``)
    replaced by its masked form."""
    if not address or len(address) < 5:
        return text
    masked = mask_address(address)
    text = text.replace(address, masked)
    if address.startswith("+"):
        text = text.replace(address[1:], masked[1:])
    return text


def mask_addresses(text: str) -> str:
    """Every e-mail address and phone-number-like run of 9 to 15 digits in ``text``
    masked (a 16-digit NIK is left to the NIK scrubber, which keeps its last 4)."""
    text = _EMAIL.sub(lambda m: mask_address(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_address(m.group(0)), text)


class AddressMaskFilter(logging.Filter):
    """Rewrites a record's message with :func:`mask_addresses` before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_addresses(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FILTER = AddressMaskFilter()


def mask_addresses_in_logs(logger_name: str = "apprise") -> None:
    """Install the filter on ``logger_name`` (idempotent)."""
    logger = logging.getLogger(logger_name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


__all__ = [
    "AddressMaskFilter",
    "hide_address",
    "mask_address",
    "mask_addresses",
    "mask_addresses_in_logs",
]
