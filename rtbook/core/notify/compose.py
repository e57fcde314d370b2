"""The text of a notification: Jinja templates per service type and language.

``templates/<service_type>.<language>.txt.j2``, falling back to
``default.<language>.txt.j2``. A template gets: ``name`` (the resident), ``service``
(the service in words, rtbook.core.ledger.feed.SERVICE_LABELS), ``date`` (the event's
date in city time, e.g. "20 November 2026", Indonesian month names in ``id``), ``rt``
("RT 005/RW 003"), ``kelurahan`` (its name from the region table), ``nik`` (at most the
last 4 digits, as "****1234") and ``summary``. Whatever a template or a plugin writes,
a run of 16 or more digits is masked before the text is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from rtbook.core.ledger.feed import SERVICE_LABELS, rt_label
from rtbook.core.validation import mask_nik

TEMPLATE_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("id", "en")

MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_LONG_DIGITS = re.compile(r"[0-9]{16,}")
_SUBJECTS = {
    "id": "{service} untuk {name}",
    "en": "{service} for {name}",
}

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATE_DIR)),
    autoescape=False,
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)


def scrub(text: str) -> str:
    """Mask every run of 16+ digits (a NIK or No. KK) to its last 4 digits."""
    return _LONG_DIGITS.sub(lambda m: mask_nik(m.group(0)) or "", text)


def day_in_words(day: date, language: str = "id") -> str:
    """``20 November 2026`` (Indonesian month names unless ``language`` is en)."""
    months = MONTHS_EN if language == "en" else MONTHS_ID
    return f"{day.day} {months[day.month - 1]} {day.year}"


def date_in_words(moment: datetime, timezone: str, language: str = "id") -> str:
    """``20 November 2026``: the calendar date of ``moment`` in the city's time."""
    return day_in_words(moment.astimezone(ZoneInfo(timezone)).date(), language)


def nik_tail(masked: str | None) -> str | None:
    """``************1234`` (or a full NIK) -> ``****1234``; None when no digits."""
    digits = re.sub(r"[^0-9]", "", masked or "")
    return f"****{digits[-4:]}" if len(digits) >= 4 else None


@dataclass(frozen=True, slots=True)
class EventPlace:
    """Where an event happened, for the message: the city's time zone and the
    kelurahan's name."""

    timezone: str
    kelurahan: str


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def template_context(event: Mapping[str, Any], place: EventPlace, language: str) -> dict[str, Any]:
    data = event.get("data") or {}
    resident = data.get("resident") or {}
    service_type = str(data.get("service_type") or "")
    return {
        "name": str(resident.get("name") or "-"),
        "service": SERVICE_LABELS.get(service_type, service_type or "Layanan"),
        "service_type": service_type,
        "date": date_in_words(parse_time(event["time"]), place.timezone, language),
        "rt": rt_label(event.get("subject")),
        "kelurahan": place.kelurahan,
        "nik": nik_tail(resident.get("nik_masked")),
        "summary": str(data.get("summary") or ""),
    }


def render(event: Mapping[str, Any], place: EventPlace, language: str) -> tuple[str, str]:
    """(subject, body) of the default message in ``language`` (id or en)."""
    language = language if language in LANGUAGES else "id"
    context = template_context(event, place, language)
    try:
        template = _env.get_template(f"{context['service_type']}.{language}.txt.j2")
    except TemplateNotFound:
        template = _env.get_template(f"default.{language}.txt.j2")
    body = template.render(**context).strip()
    subject = _SUBJECTS[language].format(service=context["service"], name=context["name"])
    return scrub(subject), scrub(body)
