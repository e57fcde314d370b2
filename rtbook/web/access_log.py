"""The web server's access log without personal data: a request line may carry a
NIK (a search typed into the ward book, an API path with a NIK) or a phone number;
the log keeps only their masked forms."""

from __future__ import annotations

import logging

from rtbook.core.dispatch.redact import scrub
from rtbook.core.notify.masking import mask_addresses

ACCESS_LOGGER = "uvicorn.access"


class PersonalDataFilter(logging.Filter):
    """Rewrites a record's message: a full NIK keeps its last 4 digits, addresses
    are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access formatter reads the arguments one by one (client, method,
        # path, version, status), so each is masked in place
        if isinstance(record.args, tuple):
            record.args = tuple(_mask(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _mask(record.msg)
        return True


def _mask(text: str) -> str:
    return mask_addresses(scrub(text))


_FILTER = PersonalDataFilter()


def mask_access_log() -> None:
    """Install the filter on uvicorn's access logger (idempotent)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
