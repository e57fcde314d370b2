"""Checking one completed-service item before the database is touched.

An item is whatever JSON the integrator sent (a string, a number, an object with wrong
types ...). :func:`parse_item` never raises for such input: it collects every problem
with its field path (``data.members[2].nik``) so the sender can fix all at once, and
turns a good item into a typed :class:`ServiceItem`. Checks that need the ledger
(does the NIK exist, is the RT in the caller's city) live in ``apply``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from rtbook.core.ledger import effects as fx
from rtbook.core.validation import (
    RESIDENT_FIELDS,
    SHDK,
    Issues,
    ResidentInput,
    check_choice,
    check_nik,
    check_rt_code,
    clean_text,
    mask_nik,
    parse_date,
    parse_rfc3339,
    validate_resident,
)

ITEM_FIELDS = frozenset(
    {"source", "id", "type", "completed_at", "nik", "rt", "document_number", "data"}
)
DATA_FIELDS: dict[str, frozenset[str]] = {
    fx.KTP_EL: frozenset(),
    fx.KIA: frozenset(),
    fx.KK: frozenset({"no_kk", "members"}),
    fx.AKTA_KELAHIRAN: frozenset({"child"}),
    fx.AKTA_KEMATIAN: frozenset({"date_of_death"}),
    fx.PINDAH_KELUAR: frozenset({"destination"}),
    fx.PINDAH_DATANG: frozenset({"resident", "origin"}),
    fx.PINDAH_DALAM: frozenset({"from_rt"}),
    fx.AKTA_PERKAWINAN: frozenset(),
    fx.AKTA_PERCERAIAN: frozenset(),
}
MEMBER_FIELDS = frozenset({"nik", "shdk"})
MAX_MEMBERS = 200
MAX_SOURCE = 64
MAX_ID = 128
MAX_DOCUMENT_NUMBER = 64
MAX_PLACE = 255
# A clock a little ahead of ours is not an error; a service days ahead is suspicious.
FUTURE_TOLERANCE = timedelta(minutes=10)

ITEM_FIELD = "item"  # the field path for a problem with the item as a whole

_UNKNOWN_FIELD = "kolom tidak dikenal, diabaikan (unknown field, ignored)"
_NOT_OBJECT = "harus berupa objek (must be an object)"
_LONG_DIGITS = re.compile(r"[0-9]{16,}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(slots=True)
class ServiceItem:
    """A completed service that passed the checks that need no database."""

    source: str
    id: str
    type: str
    completed_at: datetime
    nik: str
    rt: str | None
    document_number: str | None
    payload_hash: str
    # per type (only the ones of the item's type are set)
    no_kk: str | None = None
    members: list[tuple[str, str]] = field(default_factory=list)  # (nik, shdk)
    resident: ResidentInput | None = None  # akta_kelahiran child, pindah_datang resident
    date_of_death: date | None = None
    destination: str | None = None
    origin: str | None = None
    from_rt: str | None = None


@dataclass(slots=True)
class ParsedItem:
    """The outcome of :func:`parse_item`."""

    issues: Issues
    echo_id: str | None = None  # the item's id as sent, when it can be echoed back
    key: tuple[str, str] | None = None  # (source, id) when both are valid
    payload_hash: str | None = None
    item: ServiceItem | None = None  # None when the item has errors


def safe_key(key: Any) -> str:
    """An object key the sender chose, made safe to echo in a field path: no control
    characters or lone surrogates, no full NIK, short."""
    text = key if isinstance(key, str) else repr(key)
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _UNSAFE.sub("?", text)
    text = _LONG_DIGITS.sub(lambda m: mask_nik(m.group(0)) or "", text)
    if len(text) > 40:
        text = text[:39] + "…"
    return text


def echo_text(value: Any) -> str | None:
    """The item's id as it may go back in the answer (valid Unicode text), else None."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def payload_hash(raw: Any) -> str:
    """SHA-256 of the item's canonical JSON (sorted keys, no spaces). Text that UTF-8
    cannot carry (a lone surrogate) takes Python's ASCII-escaped JSON instead: the
    same item always takes the same path, so its hash is stable."""
    try:
        data = msgspec.json.encode(raw, order="sorted")
    except (TypeError, ValueError, UnicodeEncodeError, OverflowError, RecursionError):
        try:
            text = json.dumps(
                raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=repr
            )
        except (TypeError, ValueError, RecursionError):
            text = repr(raw)
        data = text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def _warn_unknown(raw: Mapping[Any, Any], known: frozenset[str], prefix: str, issues: Issues):
    for key in raw:
        if key not in known:
            path = f"{prefix}.{safe_key(key)}" if prefix else safe_key(key)
            issues.warn(path, _UNKNOWN_FIELD)


def parse_item(raw: Any, *, now: datetime) -> ParsedItem:
    """Check one item's shape and values; see the module docstring."""
    issues = Issues()
    if not isinstance(raw, Mapping):
        issues.error(ITEM_FIELD, "layanan harus berupa objek JSON (each service must be an object)")
        return ParsedItem(issues)
    parsed = ParsedItem(issues, echo_id=echo_text(raw.get("id")))
    _warn_unknown(raw, ITEM_FIELDS, "", issues)

    source = clean_text(raw.get("source"), "source", issues, required=True, max_len=MAX_SOURCE)
    ext_id = clean_text(raw.get("id"), "id", issues, required=True, max_len=MAX_ID)
    if source is not None and ext_id is not None:
        parsed.key = (source, ext_id)
    parsed.payload_hash = payload_hash(raw)

    service_type = check_choice(raw.get("type"), "type", fx.SERVICE_TYPES, issues, required=True)
    completed_at = parse_rfc3339(raw.get("completed_at"), "completed_at", issues)
    if completed_at is not None and completed_at > now + FUTURE_TOLERANCE:
        issues.warn(
            "completed_at",
            "waktu selesai layanan di masa depan (completed_at is in the future)",
        )
    nik = check_nik(raw.get("nik"), "nik", issues)
    rt = check_rt_code(raw.get("rt"), "rt", issues, required=service_type in fx.TYPES_REQUIRING_RT)
    document_number = clean_text(
        raw.get("document_number"), "document_number", issues, max_len=MAX_DOCUMENT_NUMBER
    )

    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        issues.error("data", _NOT_OBJECT)
        data = None

    extra: dict[str, Any] = {}
    if service_type is not None and data is not None:
        _warn_unknown(data, DATA_FIELDS[service_type], "data", issues)
        extra = _parse_data(service_type, data, nik, rt, now, issues)

    if issues.errors:
        return parsed
    assert source and ext_id and service_type and completed_at and nik
    parsed.item = ServiceItem(
        source=source,
        id=ext_id,
        type=service_type,
        completed_at=completed_at,
        nik=nik,
        rt=rt,
        document_number=document_number,
        payload_hash=parsed.payload_hash,
        **extra,
    )
    return parsed


def _parse_data(
    service_type: str,
    data: Mapping[str, Any],
    nik: str | None,
    rt: str | None,
    now: datetime,
    issues: Issues,
) -> dict[str, Any]:
    if service_type == fx.KK:
        return _parse_kk(data, nik, issues)
    if service_type == fx.AKTA_KELAHIRAN:
        child = _parse_resident(data.get("child"), "data.child", nik, rt, now, issues)
        return {"resident": child}
    if service_type == fx.AKTA_KEMATIAN:
        died = parse_date(data.get("date_of_death"), "data.date_of_death", issues, required=True)
        return {"date_of_death": died}
    if service_type == fx.PINDAH_KELUAR:
        destination = clean_text(
            data.get("destination"), "data.destination", issues, required=True, max_len=MAX_PLACE
        )
        return {"destination": destination}
    if service_type == fx.PINDAH_DATANG:
        resident = _parse_resident(data.get("resident"), "data.resident", nik, rt, now, issues)
        origin = clean_text(
            data.get("origin"), "data.origin", issues, required=True, max_len=MAX_PLACE
        )
        return {"resident": resident, "origin": origin}
    if service_type == fx.PINDAH_DALAM:
        from_rt = check_rt_code(data.get("from_rt"), "data.from_rt", issues)
        if from_rt is not None and rt is not None and from_rt == rt:
            issues.error(
                "data.from_rt",
                "RT asal sama dengan RT tujuan (from_rt equals rt: that is not a move)",
            )
        return {"from_rt": from_rt}
    return {}


def _parse_kk(data: Mapping[str, Any], nik: str | None, issues: Issues) -> dict[str, Any]:
    no_kk = check_nik(data.get("no_kk"), "data.no_kk", issues, label="No. KK")
    raw_members = data.get("members")
    members: list[tuple[str, str]] = []
    if raw_members is None:
        issues.error("data.members", "wajib diisi (required)")
        return {"no_kk": no_kk, "members": members}
    if not isinstance(raw_members, list) or not raw_members:
        issues.error(
            "data.members",
            "harus berupa daftar anggota yang tidak kosong (must be a non-empty list)",
        )
        return {"no_kk": no_kk, "members": members}
    if len(raw_members) > MAX_MEMBERS:
        issues.error(
            "data.members",
            f"terlalu banyak anggota, maksimal {MAX_MEMBERS} (at most {MAX_MEMBERS} members)",
        )
        return {"no_kk": no_kk, "members": members}
    seen: set[str] = set()
    head_shdk: str | None = None
    for index, member in enumerate(raw_members):
        prefix = f"data.members[{index}]"
        if not isinstance(member, Mapping):
            issues.error(prefix, _NOT_OBJECT)
            continue
        _warn_unknown(member, MEMBER_FIELDS, prefix, issues)
        member_nik = check_nik(member.get("nik"), f"{prefix}.nik", issues)
        shdk = check_choice(member.get("shdk"), f"{prefix}.shdk", SHDK, issues, required=True)
        if member_nik is None or shdk is None:
            continue
        if member_nik in seen:
            issues.error(
                f"{prefix}.nik",
                f"anggota {mask_nik(member_nik)} tercantum dua kali (member listed twice)",
            )
            continue
        seen.add(member_nik)
        members.append((member_nik, shdk))
        if member_nik == nik:
            head_shdk = shdk
        elif shdk == "kepala_keluarga":
            issues.warn(
                f"{prefix}.shdk",
                "anggota selain kepala keluarga (nik layanan) berstatus kepala_keluarga "
                "(a member other than the head is marked kepala_keluarga)",
            )
    if nik is not None and nik not in seen and not issues.errors:
        issues.error(
            "nik",
            "kepala keluarga (nik layanan) harus tercantum di data.members "
            "(the head, the item's nik, must be among the members)",
        )
    if head_shdk is not None and head_shdk != "kepala_keluarga":
        issues.warn(
            "data.members",
            f"SHDK kepala keluarga tercatat '{head_shdk}', bukan kepala_keluarga "
            "(the head's shdk is not kepala_keluarga)",
        )
    return {"no_kk": no_kk, "members": members}


def _parse_resident(
    raw: Any,
    prefix: str,
    nik: str | None,
    rt: str | None,
    now: datetime,
    issues: Issues,
) -> ResidentInput | None:
    """A RESIDENT inside ``data``: it may leave out nik and rt (the item's stand); when
    it gives them they must agree with the item."""
    if raw is None:
        issues.error(prefix, "wajib diisi (required)")
        return None
    if not isinstance(raw, Mapping):
        issues.error(prefix, _NOT_OBJECT)
        return None
    _warn_unknown(raw, frozenset(RESIDENT_FIELDS), prefix, issues)
    given_nik = raw.get("nik")
    if given_nik not in (None, "") and nik is not None and given_nik != nik:
        issues.error(
            f"{prefix}.nik",
            "NIK di data berbeda dengan nik layanan (must equal the item's nik)",
        )
        return None
    given_rt = raw.get("rt")
    if given_rt not in (None, "") and rt is not None and given_rt != rt:
        issues.error(
            f"{prefix}.rt",
            "RT di data berbeda dengan rt layanan (must equal the item's rt)",
        )
        return None
    defaults = {"nik": nik, "rt": rt}
    # A birth date after today is refused here; "not after completed_at" needs the
    # city's calendar and is checked when the service is applied.
    return validate_resident(
        raw, issues, prefix=prefix, defaults=defaults, today=(now + timedelta(days=1)).date()
    )
