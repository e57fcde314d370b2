"""The RT feed: what a feed event carries and how it is served as a CloudEvent.

The write side (ingest) stores the CloudEvent ``data`` member as JSON in the event
row; the read side turns rows back into CloudEvents 1.0 with :func:`cloud_event`.
Summaries are one Bahasa Indonesia sentence naming the resident and the service, for
RT heads on a phone and for notification messages; they never carry a full NIK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from rtbook.core.ledger.effects import (
    AKTA_KELAHIRAN,
    AKTA_KEMATIAN,
    AKTA_PERCERAIAN,
    AKTA_PERKAWINAN,
    EFFECTS,
    KIA,
    KK,
    KTP_EL,
    PINDAH_DALAM,
    PINDAH_DATANG,
    PINDAH_KELUAR,
    RESIDENT_MOVED_OUT,
)
from rtbook.core.validation import RT_CODE_PATTERN, mask_nik

__all__ = [
    "CLOUDEVENT_TYPE",
    "EFFECTS",
    "SERVICE_LABELS",
    "cloud_event",
    "event_data",
    "event_source",
    "rt_label",
    "service_summary",
]

CLOUDEVENT_TYPE = "rtbook.service.completed"

SERVICE_LABELS: dict[str, str] = {
    KTP_EL: "KTP-el",
    KIA: "KIA",
    KK: "Kartu Keluarga",
    AKTA_KELAHIRAN: "Akta Kelahiran",
    AKTA_KEMATIAN: "Akta Kematian",
    PINDAH_KELUAR: "Pindah Keluar",
    PINDAH_DATANG: "Pindah Datang",
    PINDAH_DALAM: "Pindah Dalam",
    AKTA_PERKAWINAN: "Akta Perkawinan",
    AKTA_PERCERAIAN: "Akta Perceraian",
}

_LONG_DIGITS = re.compile(r"[0-9]{16,}")
_PLACE_MAX = 80


def _scrub(text: str) -> str:
    """Mask any run of 16+ digits (a NIK or No. KK typed into free text)."""
    return _LONG_DIGITS.sub(lambda m: mask_nik(m.group(0)) or "", text)


def rt_label(rt_code: str | None) -> str:
    """``64.71.06.1005-003-006`` -> ``RT 006/RW 003`` (the way people name an RT)."""
    if rt_code:
        match = RT_CODE_PATTERN.fullmatch(rt_code)
        if match:
            return f"RT {match.group(3)}/RW {match.group(2)}"
        return f"RT {rt_code}"
    return "RT"


def _place(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > _PLACE_MAX:
        text = text[: _PLACE_MAX - 1].rstrip() + "…"
    return text


def service_summary(
    service_type: str,
    effect: str,
    name: str,
    *,
    to_rt: str | None = None,
    from_rt: str | None = None,
    destination: str | None = None,
    origin: str | None = None,
) -> str:
    """One sentence for an event, e.g. "Kelahiran SITI AMINAH tercatat". ``to_rt`` is
    the RT a move goes to, ``from_rt`` the one it leaves."""
    if service_type == KK:
        text = f"Kartu Keluarga diterbitkan untuk {name}"
    elif service_type == AKTA_KELAHIRAN:
        text = f"Kelahiran {name} tercatat"
    elif service_type == AKTA_KEMATIAN:
        text = f"Kematian {name} tercatat"
    elif service_type == PINDAH_KELUAR:
        place = _place(destination)
        text = f"{name} pindah keluar ke {place}" if place else f"{name} pindah keluar"
    elif service_type == PINDAH_DATANG:
        place = _place(origin)
        text = f"{name} pindah datang ke {rt_label(to_rt)}"
        if place:
            text += f" dari {place}"
    elif service_type == PINDAH_DALAM:
        if effect == RESIDENT_MOVED_OUT:
            text = f"{name} pindah ke {rt_label(to_rt)}"
        else:
            text = f"{name} pindah dari {rt_label(from_rt)} ke {rt_label(to_rt)}"
    elif service_type == AKTA_PERKAWINAN:
        text = f"Perkawinan {name} tercatat"
    elif service_type == AKTA_PERCERAIAN:
        text = f"Perceraian {name} tercatat"
    else:
        label = SERVICE_LABELS.get(service_type, service_type)
        text = f"{label} diterbitkan untuk {name}"
    return _scrub(text)


def event_data(
    *,
    service_type: str,
    service_id: str,
    effect: str,
    name: str,
    nik: str,
    summary: str,
) -> dict[str, Any]:
    """The CloudEvent ``data`` member, as stored in event.data."""
    return {
        "service_type": service_type,
        "service_id": service_id,
        "effect": effect,
        "resident": {"name": name, "nik_masked": mask_nik(nik)},
        "summary": summary,
    }


def event_source(city_code: str) -> str:
    return f"/rtbook/cities/{city_code}"


def _rfc3339(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        text = value.astimezone(UTC).isoformat()
        return text.replace("+00:00", "Z")
    return str(value)


def cloud_event(row: Mapping[str, Any] | Any) -> dict[str, Any]:
    """A CloudEvents 1.0 object from an event row (columns id, city_code, seq,
    rt_code, effect, time, data); ``data`` may be the stored JSON text or a dict."""
    city = row["city_code"]
    seq = int(row["seq"])
    data = row["data"]
    if isinstance(data, str | bytes):
        data = msgspec.json.decode(data)
    return {
        "specversion": "1.0",
        "id": f"{city}-{seq}",
        "source": event_source(city),
        "type": CLOUDEVENT_TYPE,
        "time": _rfc3339(row["time"]),
        "subject": row["rt_code"],
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": data,
    }
