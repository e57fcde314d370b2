"""The resident access report (UU PDP No. 27/2022: a data subject's right to know).

:func:`access_report` gathers everything rtbook holds on one NIK: the resident row,
the household and KK history, documents, the service records about them, their
``resident_change`` history, the feed events naming them and the notifications sent
about those events, data plugins keep (:data:`EXTRA_SOURCES`), and the processing
history from the audit trail. docs/privacy.md lists what each part holds.

The audit trail keeps only the last 4 digits of a NIK, so its part of the report is
a best effort: rows whose target or detail carries the masked NIK in the resident's
city (these may include another resident of that city sharing the last 4 digits),
and the list reads whose target is an RT or region the resident lived in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from rtbook.core import audit
from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection, Row, row_dict, rows_dicts
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.ledger.feed import cloud_event
from rtbook.core.validation import RT_CODE_PATTERN, mask_nik

ACTION_REPORT = "privacy.access_report"
NIK_LENGTH = 16


@dataclass(frozen=True, slots=True)
class ExtraSource:
    """Personal data a plugin keeps in a table of its own, one row per NIK-keyed fact.

    The report lists the rows (``SELECT *``) under ``plugins[name]`` and the retention
    purge deletes them; a table that is not there (plugin never migrated) is skipped.
    """

    name: str
    table: str
    nik_column: str = "nik"
    order_by: str = "id"


EXTRA_SOURCES: list[ExtraSource] = [ExtraSource("lansia_doses", "lansia_dose")]


def register_source(source: ExtraSource) -> None:
    """Add a plugin's table to the access report and the retention purge."""
    if all(s.name != source.name for s in EXTRA_SOURCES):
        EXTRA_SOURCES.append(source)


async def table_exists(conn: Connection, table: str) -> bool:
    if conn.dialect == "sqlite":
        found = await conn.fetchval(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", table
        )
    else:
        found = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
    return bool(found)


async def present_sources(conn: Connection) -> list[ExtraSource]:
    return [s for s in EXTRA_SOURCES if await table_exists(conn, s.table)]


def check_nik(nik: str) -> str:
    """A NIK is 16 digits; RtbookError (one line, NIK not echoed) otherwise."""
    text = nik.strip()
    if len(text) != NIK_LENGTH or not (text.isascii() and text.isdigit()):
        raise RtbookError("NIK harus 16 angka (NIK must be 16 digits)")
    return text


def _decoded(value: Any) -> Any:
    """A JSON text column as its value (history before/after, event data, warnings)."""
    if isinstance(value, str | bytes) and value:
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            return value
    return value


def _dicts(rows: Iterable[Row], json_columns: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = rows_dicts(rows)
    for item in out:
        for column in json_columns:
            if column in item:
                item[column] = _decoded(item[column])
    return out


def _marks(values: list[Any], start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + len(values)))


def area_codes_of(rt_codes: Iterable[str]) -> list[str]:
    """Every code an audited list read of these RTs may name: the RT, its RW
    (``kelurahan-rw``), kelurahan, kecamatan, city and province."""
    codes: dict[str, None] = {}
    for rt in rt_codes:
        match = RT_CODE_PATTERN.fullmatch(rt or "")
        if not match:
            continue
        kelurahan = match.group(1)
        codes[rt] = None
        codes[f"{kelurahan}-{match.group(2)}"] = None
        parts = kelurahan.split(".")
        for end in range(len(parts), 0, -1):
            codes[".".join(parts[:end])] = None
    return list(codes)


async def _service_records(conn: Connection, nik: str, linked: set[int]) -> list[dict[str, Any]]:
    """Records of services for this NIK, and those (e.g. a KK of their head) that
    changed their household, documents or history."""
    rows = list(await conn.fetch("SELECT * FROM service_record WHERE nik = $1 ORDER BY id", nik))
    missing = sorted(linked - {int(r["id"]) for r in rows})
    if missing:
        rows += await conn.fetch(
            f"SELECT * FROM service_record WHERE id IN ({_marks(missing)}) ORDER BY id", *missing
        )
    records = _dicts(rows, ("warnings",))
    for record in records:
        record["about_this_resident"] = record["nik"] == nik
        if record["nik"] != nik:
            record["nik"] = mask_nik(record["nik"])  # the head's NIK, not the subject's
    return sorted(records, key=lambda r: r["id"])


async def _events_and_notices(
    conn: Connection, own_record_ids: list[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Feed events of the services about the resident, and the notifications sent
    about them (channel and status only: recipients are other people)."""
    if not own_record_ids:
        return [], []
    rows = await conn.fetch(
        "SELECT id, city_code, seq, rt_code, effect, time, data FROM event"
        f" WHERE service_record_id IN ({_marks(own_record_ids)}) ORDER BY city_code, seq",
        *own_record_ids,
    )
    events = [cloud_event(r) for r in rows]
    event_ids = [e["id"] for e in events]
    notices = _dicts(
        await conn.fetch(
            "SELECT id, event_id, channel, status, created_at, sent_at FROM delivery"
            f" WHERE event_id IN ({_marks(event_ids)}) ORDER BY id",
            *event_ids,
        )
    )
    return events, notices


async def _processing(
    conn: Connection, nik: str, city: str, rt_codes: list[str]
) -> list[dict[str, Any]]:
    """The audit rows of this resident's city that name them (masked NIK) or name an
    area they lived in (list reads); each marked with ``matched``."""
    masked = mask_nik(nik) or ""
    areas = area_codes_of(rt_codes)
    args: list[Any] = [city, masked, f"%{masked}%", *areas]
    in_areas = f" OR target IN ({_marks(areas, 4)})" if areas else ""
    rows = await conn.fetch(
        "SELECT id, at, user_id, username, action, target, scope, detail FROM audit_log"
        f" WHERE scope = $1 AND (target = $2 OR detail LIKE $3{in_areas}) ORDER BY at, id",
        *args,
    )
    items = _dicts(rows, ("detail",))
    for item in items:
        named = item["target"] == masked or masked in msgspec.json.encode(item["detail"]).decode()
        item["matched"] = "masked_nik" if named else "area"
    return items


async def gather(conn: Connection, nik: str) -> dict[str, Any]:
    """Everything held on ``nik`` (NotFound when the ledger does not hold it)."""
    row = await conn.fetchrow("SELECT * FROM resident WHERE nik = $1", nik)
    if row is None:
        raise NotFound("NIK tidak terdaftar di buku induk (NIK not in the ledger)")
    resident = row_dict(row)
    household = None
    if resident["no_kk"]:
        found = await conn.fetchrow(
            "SELECT no_kk, rt_code, city_code, head_nik, updated_at FROM household"
            " WHERE no_kk = $1",
            resident["no_kk"],
        )
        if found is not None:
            household = row_dict(found)
            household["is_head"] = household.pop("head_nik") == nik
    kk_history = _dicts(
        await conn.fetch("SELECT * FROM kk_history WHERE nik = $1 ORDER BY id", nik)
    )
    documents = _dicts(await conn.fetch("SELECT * FROM document WHERE nik = $1 ORDER BY id", nik))
    changes = _dicts(
        await conn.fetch("SELECT * FROM resident_change WHERE nik = $1 ORDER BY id", nik),
        ("before", "after"),
    )
    linked = {
        int(r["service_record_id"])
        for r in [*kk_history, *documents, *changes]
        if r["service_record_id"] is not None
    }
    records = await _service_records(conn, nik, linked)
    own = [r["id"] for r in records if r["about_this_resident"]]
    events, notices = await _events_and_notices(conn, own)
    plugins: dict[str, list[dict[str, Any]]] = {}
    for source in await present_sources(conn):
        plugins[source.name] = _dicts(
            await conn.fetch(
                f"SELECT * FROM {source.table} WHERE {source.nik_column} = $1"
                f" ORDER BY {source.order_by}",
                nik,
            )
        )
    rt_codes = [resident["rt_code"], *(c["rt_code"] for c in changes)]
    processing = await _processing(conn, nik, resident["city_code"], [c for c in rt_codes if c])
    return {
        "nik": nik,
        "resident": resident,
        "household": household,
        "kk_history": kk_history,
        "documents": documents,
        "service_records": records,
        "changes": changes,
        "events": events,
        "notifications": notices,
        "plugins": plugins,
        "processing": processing,
    }


async def access_report(
    conn: Connection,
    nik: str,
    principal: Principal | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The access report on ``nik`` for ``principal`` (None: the operator's CLI).

    Run it in a write unit: the read is audited (``privacy.access_report``) in the
    same transaction. Forbidden unless admin or city_admin of the resident's city;
    an unknown NIK is NotFound for everyone allowed to ask.
    """
    if principal is not None and principal.role not in (Role.ADMIN, Role.CITY_ADMIN):
        raise Forbidden()
    city = await conn.fetchval("SELECT city_code FROM resident WHERE nik = $1", nik)
    if city is None:
        raise NotFound("NIK tidak terdaftar di buku induk (NIK not in the ledger)")
    if principal is not None and not principal.can_manage_city(city):
        raise Forbidden()
    moment = now or datetime.now(UTC)
    report = await gather(conn, nik)
    counts = {key: len(value) for key, value in report.items() if isinstance(value, list)}
    counts.update({f"plugins.{k}": len(v) for k, v in report["plugins"].items()})
    await audit.record(conn, principal, ACTION_REPORT, mask_nik(nik), city, counts, at=moment)
    return {"generated_at": moment, **report}


def encode_report(report: Mapping[str, Any]) -> bytes:
    """The report as indented JSON (dates and times in ISO 8601)."""
    return msgspec.json.format(msgspec.json.encode(report), indent=2)
