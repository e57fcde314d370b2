"""Vaccine doses of residents, recorded by health workers (table ``lansia_dose``).

A dose: the resident's NIK, the vaccine (free text, e.g. "Sinovac", compared without
case), the dose number 1..10, the date it was given (not in the future in the
city's time, not before the resident was born) and the place. A dose number is
recorded once per resident and vaccine: again is 409. Recorded by health workers
whose areas cover the resident's RT, the city's city_admin, admin; the resident
must be in the ledger (404) and in the caller's scope (403).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from rtbook.core import audit
from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.validation import (
    FieldIssue,
    Issues,
    check_nik,
    clean_text,
    mask_nik,
    parse_date,
)
from rtbook_lansia.areas import may_read_resident, may_record_doses

MAX_DOSE_NUMBER = 10
VACCINE_MAX = 60
PLACE_MAX = 120
_IN_CHUNK = 500


class Dose(msgspec.Struct):
    vaccine: str
    dose_number: int
    date: date
    place: str


class DoseRecorded(msgspec.Struct):
    nik: str
    vaccine: str
    dose_number: int
    date: date
    place: str


class ResidentDoses(msgspec.Struct):
    nik: str
    name: str
    doses: list[Dose]


class DoseInput(msgspec.Struct, forbid_unknown_fields=True):
    """The body of POST /api/v1/lansia/doses (checked by :func:`check_dose`)."""

    nik: Any = None
    vaccine: Any = None
    dose_number: Any = None
    date: Any = None
    place: Any = None


class DoseRefused(RtbookError):
    """The dose cannot be recorded: 422 with field details."""

    def __init__(self, issues: Sequence[FieldIssue]) -> None:
        super().__init__("; ".join(f"{i.field}: {i.message}" for i in issues))
        self.issues = list(issues)


class DoseExists(RtbookError):
    """That dose number of that vaccine is already recorded for the resident (409)."""


@dataclass(frozen=True, slots=True)
class CheckedDose:
    nik: str
    vaccine: str
    dose_number: int
    given_on: date
    place: str


def check_dose(data: DoseInput) -> CheckedDose:
    """The shape of a dose (every problem at once); DoseRefused otherwise. Whether the
    resident exists and the date is not in the future is checked against the ledger."""
    issues = Issues()
    nik = check_nik(data.nik, "nik", issues)
    vaccine = clean_text(data.vaccine, "vaccine", issues, required=True, max_len=VACCINE_MAX)
    number = data.dose_number
    if number is None:
        issues.error("dose_number", "wajib diisi (required)")
    elif isinstance(number, bool) or not isinstance(number, int):
        issues.error("dose_number", "harus bilangan bulat (must be an integer)")
    elif not 1 <= number <= MAX_DOSE_NUMBER:
        issues.error(
            "dose_number",
            f"harus 1 sampai {MAX_DOSE_NUMBER} (must be 1..{MAX_DOSE_NUMBER})",
        )
    given = parse_date(data.date, "date", issues, required=True)
    place = clean_text(data.place, "place", issues, required=True, max_len=PLACE_MAX)
    if issues:
        raise DoseRefused(issues.errors)
    assert nik and vaccine and given and place and isinstance(number, int)
    return CheckedDose(nik, " ".join(vaccine.split()), number, given, place)


async def _resident(conn: Connection, nik: str) -> Any:
    row = await conn.fetchrow(
        "SELECT r.nik, r.name, r.birth_date, r.rt_code, r.city_code, c.timezone"
        " FROM resident r JOIN city c ON c.code = r.city_code WHERE r.nik = $1",
        nik,
    )
    if row is None or row["rt_code"] is None:
        raise NotFound("penduduk tidak ditemukan (resident not found)")
    return row


def add_dose(principal: Principal | None, dose: CheckedDose, *, now: datetime | None = None) -> Any:
    """Unit of work (``db.write``): record one dose, and the audit row; the dose."""

    async def unit(conn: Connection) -> DoseRecorded:
        resident = await _resident(conn, dose.nik)
        city = resident["city_code"]
        if principal is not None and not may_record_doses(principal, resident["rt_code"], city):
            raise Forbidden(
                "tidak berwenang mencatat vaksinasi penduduk ini "
                "(not allowed to record doses for this resident)"
            )
        moment = now or datetime.now(UTC)
        today = moment.astimezone(ZoneInfo(resident["timezone"])).date()
        problems = []
        if dose.given_on > today:
            problems.append(
                FieldIssue("date", "tanggal tidak boleh di masa depan (date is in the future)")
            )
        elif dose.given_on < resident["birth_date"]:
            problems.append(
                FieldIssue("date", "tanggal sebelum tanggal lahir (date is before the birth date)")
            )
        if problems:
            raise DoseRefused(problems)
        inserted = await conn.execute(
            "INSERT INTO lansia_dose (nik, city_code, vaccine, dose_number, given_on, place,"
            " recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT DO NOTHING",  # the unique (nik, lower(vaccine), dose_number)
            dose.nik,
            city,
            dose.vaccine,
            dose.dose_number,
            dose.given_on,
            dose.place,
            None if principal is None else principal.user_id,
            moment,
        )
        if not inserted:
            raise DoseExists(
                f"dosis {dose.dose_number} {dose.vaccine} sudah tercatat untuk penduduk ini "
                "(this dose is already recorded)"
            )
        await audit.record(
            conn,
            principal,
            "lansia.dose.add",
            mask_nik(dose.nik),
            city,
            {"vaccine": dose.vaccine, "dose_number": dose.dose_number},
            at=moment,
        )
        return DoseRecorded(dose.nik, dose.vaccine, dose.dose_number, dose.given_on, dose.place)

    return unit


def resident_doses(principal: Principal | None, nik: str) -> Any:
    """Unit of work (``db.write``, for its audit row): one resident's doses."""

    async def unit(conn: Connection) -> ResidentDoses:
        resident = await _resident(conn, nik)
        city = resident["city_code"]
        if principal is not None and not may_read_resident(principal, resident["rt_code"], city):
            raise Forbidden(
                "tidak berwenang melihat penduduk ini (not allowed to see this resident)"
            )
        found = (await doses_of(conn, [nik])).get(nik, [])
        await audit.record(
            conn, principal, "lansia.doses", mask_nik(nik), city, {"rows": len(found)}
        )
        return ResidentDoses(nik=nik, name=resident["name"], doses=found)

    return unit


async def doses_of(conn: Connection, niks: Sequence[str]) -> dict[str, list[Dose]]:
    """nik -> doses (by vaccine, then dose number) for the given residents."""
    out: dict[str, list[Dose]] = {}
    for start in range(0, len(niks), _IN_CHUNK):
        chunk = niks[start : start + _IN_CHUNK]
        marks = ", ".join(f"${i}" for i in range(1, len(chunk) + 1))
        rows = await conn.fetch(
            "SELECT nik, vaccine, dose_number, given_on, place FROM lansia_dose"
            f" WHERE nik IN ({marks}) ORDER BY nik, lower(vaccine), dose_number",
            *chunk,
        )
        for r in rows:
            out.setdefault(r[0], []).append(Dose(r[1], r[2], _as_date(r[3]), r[4]))
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
