"""Retention: purge residents deceased or moved out longer ago than a number of years.

What a purge deletes and what it keeps (docs/privacy.md says the same to operators):

- deleted: the ``resident`` row (so the household membership, which is the row's
  ``no_kk``), their ``document`` and ``kk_history`` rows, and the rows plugins keep on
  the NIK (:data:`rtbook.core.privacy.EXTRA_SOURCES`, e.g. ``lansia_dose``); a
  household they headed loses its head, a household nobody is left in is deleted;
- pseudonymised, so the monthly books keep their counts: their ``resident_change``
  rows keep city, RT, kind, event date and service record, their NIK becomes a random
  pseudonym (``p`` + 15 hex digits, the same for all their rows) and ``before`` /
  ``after`` shrink to ``{"sex": ...}`` (the books count L/P);
- blanked: the ``service_record`` rows about them keep ``source``/``external_id`` (the
  idempotency key, so a resent service still answers ``duplicate``), type, dates,
  city, RT and payload hash, their NIK becomes the pseudonym and ``document_number``
  and ``warnings`` are cleared; the feed events of those services lose the name and
  masked NIK, and the notification messages sent about them lose their text;
- kept as they are: the audit trail (it holds masked NIKs only and is the record of
  processing), daily digests and plugin notices that may name them (not linked to a
  NIK: see docs/privacy.md).

- deleted too: the files of plugin notices (``notice_attachment``, e.g. the monthly
  B.3 XLSX) once no delivery of their key may still send them (none pending, being
  sent, failed or dead; a sent delivery is never sent again), including those whose
  deliveries are gone.

Residents imported as moved out have no move date in ``resident_change``; they are
kept until one is known. A run is one transaction per city, audited as
``retention.purge``; a dry run changes nothing and writes no audit row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from rtbook.core import audit
from rtbook.core.db import Connection
from rtbook.core.errors import NotFound, RtbookError
from rtbook.core.ledger.effects import RESIDENT_DECEASED, RESIDENT_MOVED_OUT
from rtbook.core.ledger.feed import SERVICE_LABELS
from rtbook.core.privacy import present_sources
from rtbook.core.validation import mask_nik

ACTION_PURGE = "retention.purge"
YEARS_MAX = 200
PURGED_NAME = "[dihapus]"
PURGED_TEXT = "[dihapus karena retensi (purged by retention)]"


@dataclass(frozen=True, slots=True)
class Candidate:
    nik: str
    city_code: str
    status: str  # deceased | moved_out
    gone_on: date  # date of death or of moving out

    @property
    def masked(self) -> str:
        return mask_nik(self.nik) or ""


@dataclass(frozen=True, slots=True)
class CityPurge:
    city_code: str
    cutoff: date
    residents: list[Candidate]
    dry_run: bool
    attachments: int = 0  # notice files deleted (none in a dry run)


def check_years(years: int) -> int:
    if not 1 <= years <= YEARS_MAX:
        raise RtbookError(
            f"--years harus 1 sampai {YEARS_MAX} (--years must be 1..{YEARS_MAX}): {years}"
        )
    return years


def cutoff_for(today: date, years: int) -> date:
    """``today`` minus ``years`` calendar years (29 February -> 28 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite gives aggregates back as text


async def cities_to_scan(conn: Connection, city: str | None) -> list[str]:
    if city is not None:
        if not await conn.fetchval("SELECT 1 FROM city WHERE code = $1", city):
            raise NotFound(f"kota {city[:20]} belum ditambahkan (city not added)")
        return [city]
    return [r[0] for r in await conn.fetch("SELECT code FROM city ORDER BY code")]


async def candidates(conn: Connection, city: str, cutoff: date) -> list[Candidate]:
    """Residents of ``city`` deceased or moved out before ``cutoff``, by NIK."""
    rows = await conn.fetch(
        "SELECT r.nik, r.status, r.date_of_death,"
        " (SELECT max(c.event_date) FROM resident_change c"
        "   WHERE c.nik = r.nik AND c.kind = $2) AS died_on,"
        " (SELECT max(c.event_date) FROM resident_change c"
        "   WHERE c.nik = r.nik AND c.kind = $3) AS moved_on"
        " FROM resident r WHERE r.city_code = $1 AND r.status IN ('deceased', 'moved_out')"
        " ORDER BY r.nik",
        city,
        RESIDENT_DECEASED,
        RESIDENT_MOVED_OUT,
    )
    found: list[Candidate] = []
    for row in rows:
        if row["status"] == "deceased":
            gone = _as_date(row["date_of_death"]) or _as_date(row["died_on"])
        else:
            gone = _as_date(row["moved_on"])
        if gone is not None and gone < cutoff:
            found.append(Candidate(row["nik"], city, row["status"], gone))
    return found


def pseudonym() -> str:
    """16 characters, never a NIK (starts with a letter)."""
    return "p" + secrets.token_hex(8)[:15]


async def _blank_events(conn: Connection, record_ids: list[int]) -> None:
    if not record_ids:
        return
    marks = ", ".join(f"${i}" for i in range(1, len(record_ids) + 1))
    rows = await conn.fetch(
        f"SELECT id, city_code, seq, data FROM event WHERE service_record_id IN ({marks})",
        *record_ids,
    )
    for row in rows:
        data = msgspec.json.decode(row["data"])
        data["resident"] = {"name": PURGED_NAME, "nik_masked": None}
        label = SERVICE_LABELS.get(data.get("service_type", ""), "Layanan")
        data["summary"] = f"{label}: {PURGED_TEXT}"
        await conn.execute(
            "UPDATE event SET data = $1 WHERE id = $2",
            msgspec.json.encode(data).decode("utf-8"),
            row["id"],
        )
        await conn.execute(
            "UPDATE delivery SET body = $1, subject = NULL WHERE event_id = $2",
            PURGED_TEXT,
            f"{row['city_code']}-{row['seq']}",
        )


async def purge_resident(conn: Connection, nik: str) -> None:
    """Delete, pseudonymise and blank one resident's data (see the module docstring)."""
    resident = await conn.fetchrow("SELECT sex, no_kk FROM resident WHERE nik = $1", nik)
    if resident is None:
        return
    alias = pseudonym()
    keep = msgspec.json.encode({"sex": resident["sex"]}).decode("utf-8")
    await conn.execute(
        "UPDATE resident_change SET nik = $1, before = NULL, after = $2 WHERE nik = $3",
        alias,
        keep,
        nik,
    )
    record_ids = [
        int(r[0]) for r in await conn.fetch("SELECT id FROM service_record WHERE nik = $1", nik)
    ]
    await _blank_events(conn, record_ids)
    await conn.execute(
        "UPDATE service_record SET nik = $1, document_number = NULL, warnings = '[]'"
        " WHERE nik = $2",
        alias,
        nik,
    )
    await conn.execute("DELETE FROM document WHERE nik = $1", nik)
    await conn.execute("DELETE FROM kk_history WHERE nik = $1", nik)
    for source in await present_sources(conn):
        await conn.execute(f"DELETE FROM {source.table} WHERE {source.nik_column} = $1", nik)
    await conn.execute("UPDATE household SET head_nik = NULL WHERE head_nik = $1", nik)
    await conn.execute("DELETE FROM resident WHERE nik = $1", nik)
    if resident["no_kk"] is not None and not await conn.fetchval(
        "SELECT 1 FROM resident WHERE no_kk = $1", resident["no_kk"]
    ):
        await conn.execute("DELETE FROM household WHERE no_kk = $1", resident["no_kk"])


# a delivery in one of these may still be sent (a dead one retried by an admin)
UNSENT_STATUSES = ("pending", "sending", "failed", "dead")


async def purge_attachments(conn: Connection, city: str) -> int:
    """Delete ``city``'s notice files that no delivery of their key may still send
    (module docstring); the number deleted."""
    return await conn.execute(
        "DELETE FROM notice_attachment WHERE city_code = $1 AND NOT EXISTS ("
        " SELECT 1 FROM delivery d WHERE d.city_code = notice_attachment.city_code"
        " AND d.event_id = notice_attachment.notice_key AND d.status IN ($2, $3, $4, $5))",
        city,
        *UNSENT_STATUSES,
    )


async def purge_city(
    conn: Connection,
    city: str,
    years: int,
    *,
    dry_run: bool,
    today: date | None = None,
    now: datetime | None = None,
) -> CityPurge:
    """One city's purge, inside the caller's write transaction (a dry run only reads)."""
    moment = now or datetime.now(UTC)
    cutoff = cutoff_for(today or moment.date(), check_years(years))
    found = await candidates(conn, city, cutoff)
    files = 0
    if not dry_run:
        for candidate in found:
            await purge_resident(conn, candidate.nik)
        files = await purge_attachments(conn, city)
        await audit.record(
            conn,
            None,
            ACTION_PURGE,
            city,
            city,
            {
                "years": years,
                "cutoff": cutoff.isoformat(),
                "purged": len(found),
                "deceased": sum(c.status == "deceased" for c in found),
                "moved_out": sum(c.status == "moved_out" for c in found),
                "residents": [c.masked for c in found],
                "attachments": files,
            },
            at=moment,
        )
    return CityPurge(city, cutoff, found, dry_run, files)
