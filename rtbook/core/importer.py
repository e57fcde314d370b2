"""The resident import: a city's existing resident book, loaded in one transaction.

Each row is validated with :func:`rtbook.core.validation.validate_resident` (through
a faster equivalent check for plainly good rows, see below); a row is also bad when
its RT is not registered or lies in another city, when its NIK came earlier in the
file or is already in the ledger, or when it is a second kepala_keluarga for a KK.
Good rows are imported and bad rows reported with their line number and reason,
never half of either. Residents enter with origin ``import`` and status ``active``
and get no ``resident_change`` row: they count as present before the first month.
One household per No. KK is created, its head being the member whose shdk is
``kepala_keluarga``; a KK already in the ledger keeps its row and only gets a missing
head filled in.

Speed: a city holds up to ~1 million residents. Rows are processed in chunks; the
ledger is asked which NIKs and KKs it already holds once per chunk, and rows are
written with ``Connection.copy_rows`` (executemany on SQLite, COPY on PostgreSQL),
never through Piccolo's per-row inserts.
"""

from __future__ import annotations

import csv
import operator
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rtbook.core.db import Connection, Database
from rtbook.core.errors import RtbookError
from rtbook.core.regions import get_city
from rtbook.core.validation import (
    BLOOD_TYPE,
    CITIZENSHIP,
    DATE_PATTERN,
    MARITAL_STATUS,
    NIK_PATTERN,
    RELIGION,
    RESIDENT_FIELDS,
    RT_CODE_PATTERN,
    SEX,
    SHDK,
    TEXT_LIMITS,
    FieldIssue,
    Issues,
    ResidentInput,
    nik_consistency_warnings,
    normalize_phone,
    validate_resident,
)

CHUNK_ROWS = 5000
LOOKUP_BATCH = 1000  # codes per "IN (...)" lookup: well under both backends' limits
KEPT_WARNINGS = 100  # warnings kept in a report (all are counted)

RESIDENT_COLUMNS = (
    "nik",
    "name",
    "sex",
    "birth_place",
    "birth_date",
    "religion",
    "education",
    "occupation",
    "marital_status",
    "shdk",
    "citizenship",
    "no_kk",
    "address",
    "rt_code",
    "city_code",
    "father_name",
    "mother_name",
    "phone",
    "blood_type",
    "status",
    "origin",
    "registered_at",
    "updated_at",
)
# Columns a resident CSV header must have; phone and blood_type may be left out.
HEADER_REQUIRED = tuple(f for f in RESIDENT_FIELDS if f not in ("phone", "blood_type"))
HOUSEHOLD_COLUMNS = ("no_kk", "rt_code", "city_code", "head_nik", "updated_at")

# A row whose number of values differs from the header carries this key (the
# convention of csv.DictReader's restkey) with the reason; the importer reports it.
COLUMN_COUNT_KEY = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with one row (errors: it was not imported) or worth a look
    (warnings: it was imported)."""

    line: int
    issues: tuple[FieldIssue, ...]

    def __str__(self) -> str:
        details = "; ".join(f"{i.field}: {i.message}" for i in self.issues)
        return f"baris {self.line}: {details}"


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    imported: int = 0
    households_added: int = 0
    heads_filled: int = 0
    bad_rows: list[RowProblem] = field(default_factory=list)
    warning_rows: int = 0
    warnings: list[RowProblem] = field(default_factory=list)  # the first KEPT_WARNINGS

    @property
    def all_bad(self) -> bool:
        """Every row was refused (and there was at least one)."""
        return self.rows > 0 and self.imported == 0


# -- reading the CSV file ----------------------------------------------------------------


class ResidentCSV:
    """The rows of a resident CSV file as ``(line number, {field: value})``.

    The file is opened and its header checked on creation, so a missing file or a
    wrong header is an :class:`RtbookError` before anything is written. The header
    line is line 1; a value spanning lines (quoted) is counted from its first line.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._handle = self.path.open(encoding="utf-8-sig", newline="")
        except FileNotFoundError:
            raise RtbookError(f"berkas {self.path} tidak ada (file not found)") from None
        except OSError as exc:
            raise RtbookError(
                f"berkas {self.path} tidak bisa dibaca (file unreadable): {exc.strerror}"
            ) from None
        try:
            self._reader = csv.reader(self._handle)
            header = self._guard(lambda: next(self._reader, None))
            self.columns = self._check_header(header)
        except BaseException:
            self._handle.close()
            raise

    def _guard(self, read: Any) -> Any:
        try:
            return read()
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self._file_error(exc) from None

    def _file_error(self, exc: Exception) -> RtbookError:
        if isinstance(exc, UnicodeDecodeError):
            return RtbookError(f"berkas {self.path} bukan teks UTF-8 (file is not UTF-8 text)")
        return RtbookError(
            f"berkas {self.path} baris {self._reader.line_num}: bukan CSV yang sah "
            f"(not valid CSV): {exc}"
        )

    def _check_header(self, header: list[str] | None) -> tuple[str, ...]:
        if not header:
            raise RtbookError(f"berkas {self.path} kosong, tanpa kepala kolom (empty file)")
        columns = tuple(h.strip().lower() for h in header)
        unknown = [c for c in columns if c not in RESIDENT_FIELDS]
        missing = [c for c in HEADER_REQUIRED if c not in columns]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        problems = []
        if unknown:
            problems.append(f"kolom tak dikenal (unknown columns): {', '.join(unknown)}")
        if missing:
            problems.append(f"kolom hilang (missing columns): {', '.join(missing)}")
        if repeated:
            problems.append(f"kolom ganda (repeated columns): {', '.join(repeated)}")
        if problems:
            raise RtbookError(f"kepala kolom berkas {self.path} salah: {'; '.join(problems)}")
        return columns

    def __iter__(self) -> Iterator[tuple[int, dict[str | None, str]]]:
        columns = self.columns
        width = len(columns)
        reader = self._reader
        with self._handle:
            end = reader.line_num
            try:
                for values in reader:
                    start, end = end + 1, reader.line_num
                    if not values:  # a blank line
                        continue
                    row: dict[str | None, str] = dict(zip(columns, values, strict=False))
                    if len(values) != width:
                        row[COLUMN_COUNT_KEY] = (
                            f"ada {len(values)} nilai, kepala kolom {width} kolom "
                            "(number of values differs from the header)"
                        )
                    yield start, row
            except (UnicodeDecodeError, csv.Error) as exc:
                raise self._file_error(exc) from None

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> ResidentCSV:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_resident_csv(path: Path | str) -> ResidentCSV:
    """Open a resident CSV file (header checked now); iterate it for the rows."""
    return ResidentCSV(path)


# -- validation -------------------------------------------------------------------------
#
# validate_resident costs ~30-50 us a row, most of it in generic bookkeeping; over a
# city's ~760,000 rows that alone is half a minute. The fast path below checks a whole
# row with one regular expression built from validation.py's own patterns, codes and
# limits, and accepts only rows that validate_resident accepts with the same values:
# it is stricter (no surrounding or inner control characters, no tab, no surrounding
# whitespace), and whatever it does not accept goes to validate_resident, which
# alone writes the error messages. tests/cli/test_importer.py holds the two together.

_SEP = "\x1f"  # a control character: never inside an accepted value
_NOT_TEXT = r"\x00-\x1f\x7f\ud800-\udfff"  # control characters and lone surrogates


def _text_pattern(limit: int, *, required: bool) -> str:
    """A trimmed single-line text of 1..limit characters (or empty when optional)."""
    edge = rf"[^\s{_NOT_TEXT}]"
    body = rf"{edge}(?:[^{_NOT_TEXT}]{{0,{limit - 2}}}{edge})?"
    return f"(?:{body})" if required else f"(?:{body})?"


def _choice_pattern(choices: tuple[str, ...], *, required: bool = False) -> str:
    body = "|".join(re.escape(c) for c in choices)
    return f"(?:{body})" if required else f"(?:{body})?"


_FIELD_PATTERNS = {
    "nik": NIK_PATTERN.pattern,
    "name": _text_pattern(TEXT_LIMITS["name"], required=True),
    "sex": _choice_pattern(SEX, required=True),
    "birth_date": DATE_PATTERN.pattern,
    "religion": _choice_pattern(RELIGION),
    "marital_status": _choice_pattern(MARITAL_STATUS),
    "shdk": _choice_pattern(SHDK),
    "citizenship": _choice_pattern(CITIZENSHIP),
    "no_kk": NIK_PATTERN.pattern,
    "rt": RT_CODE_PATTERN.pattern,
    "phone": rf"[^{_NOT_TEXT}]{{0,40}}",  # then normalize_phone decides
    "blood_type": _choice_pattern(BLOOD_TYPE),
    **{
        name: _text_pattern(limit, required=False)
        for name, limit in TEXT_LIMITS.items()
        if name != "name"
    },
}
_ALL_FIELDS = operator.itemgetter(*RESIDENT_FIELDS)
_ROW_PATTERN = re.compile(_SEP.join(f"(?:{_FIELD_PATTERNS[f]})" for f in RESIDENT_FIELDS))


def fast_resident(raw: Mapping[Any, Any], today: date) -> tuple[ResidentInput, Issues] | None:
    """The validated resident and its warnings when the row is plainly good, else None
    (then validate_resident decides and explains)."""
    try:
        try:
            values = _ALL_FIELDS(raw)  # every column present: one C call
        except KeyError:
            get = raw.get
            values = [get(f) or "" for f in RESIDENT_FIELDS]
        if _ROW_PATTERN.fullmatch(_SEP.join(values)) is None:
            return None
        born = date.fromisoformat(values[4])
    except (TypeError, ValueError):
        return None
    if born.year < 1850 or born > today:
        return None
    (nik, name, sex, birth_place, _, religion, education, occupation, marital, shdk) = values[:10]
    (citizenship, no_kk, address, rt, father, mother, phone, blood) = values[10:]
    issues = Issues()
    if phone:
        phone = normalize_phone(phone, "phone", issues)
        if issues:
            return None
    day = born.day + 40 if sex == "P" else born.day
    if nik[6:12] != f"{day:02d}{born.month:02d}{born.year % 100:02d}":
        nik_consistency_warnings(nik, sex, born, issues)  # warns only on such a mismatch
    resident = ResidentInput(
        nik=nik,
        name=name,
        sex=sex,
        birth_date=born,
        no_kk=no_kk,
        rt=rt,
        birth_place=birth_place or None,
        religion=religion or None,
        education=education or None,
        occupation=occupation or None,
        marital_status=marital or None,
        shdk=shdk or None,
        citizenship=citizenship or None,
        address=address or None,
        father_name=father or None,
        mother_name=mother or None,
        phone=phone or None,
        blood_type=blood or None,
    )
    return resident, issues


def check_resident_row(raw: Mapping[Any, Any], today: date) -> tuple[ResidentInput | None, Issues]:
    """One import row checked on its own (values are trimmed first): the resident or
    None, and the errors and warnings."""
    fast = fast_resident(raw, today)
    if fast is not None:
        return fast
    values = {k: v.strip() if isinstance(v, str) else v for k, v in raw.items()}
    issues = Issues()
    return validate_resident(values, issues, today=today), issues


# -- importing -------------------------------------------------------------------------


@dataclass(slots=True)
class _Household:
    rt_code: str
    head_nik: str | None


@dataclass(slots=True)
class _ImportState:
    city_code: str
    today: date
    now: datetime
    rt_cities: dict[str, str]
    ledger_has_residents: bool
    ledger_has_households: bool
    report: ImportReport = field(default_factory=ImportReport)
    seen_niks: set[str] = field(default_factory=set)
    households: dict[str, _Household] = field(default_factory=dict)
    stored_heads: dict[str, str | None] = field(default_factory=dict)  # KKs in the ledger


def _bad(state: _ImportState, line: int, issues: Sequence[FieldIssue]) -> None:
    state.report.bad_rows.append(RowProblem(line, tuple(issues)))


def _validate_row(
    state: _ImportState, line: int, raw: Mapping[str | None, str]
) -> ResidentInput | None:
    """A row checked on its own and against the city's RTs and earlier rows."""
    if COLUMN_COUNT_KEY in raw:
        _bad(state, line, [FieldIssue("baris", str(raw[COLUMN_COUNT_KEY]))])
        return None
    resident, issues = check_resident_row(raw, state.today)
    if resident is None:
        _bad(state, line, issues.errors)
        return None
    rt_city = state.rt_cities.get(resident.rt)
    if rt_city is None:
        issues.error("rt", f"RT {resident.rt} belum terdaftar (RT not registered)")
    elif rt_city != state.city_code:
        issues.error("rt", f"RT {resident.rt} bukan di kota {state.city_code} (RT of another city)")
    elif resident.nik in state.seen_niks:
        issues.error("nik", "NIK sudah ada di baris sebelumnya (NIK repeated in the file)")
    if issues:
        _bad(state, line, issues.errors)
        return None
    state.seen_niks.add(resident.nik)
    if issues.warnings:
        state.report.warning_rows += 1
        if len(state.report.warnings) < KEPT_WARNINGS:
            state.report.warnings.append(RowProblem(line, tuple(issues.warnings)))
    return resident


async def _existing(conn: Connection, sql: str, codes: Sequence[str]) -> list[Any]:
    """Rows of ``sql`` (with ``{marks}`` for the IN list) for codes, in batches."""
    found: list[Any] = []
    for start in range(0, len(codes), LOOKUP_BATCH):
        batch = codes[start : start + LOOKUP_BATCH]
        marks = ", ".join(f"${i}" for i in range(1, len(batch) + 1))
        found.extend(await conn.fetch(sql.format(marks=marks), *batch))
    return found


async def _import_chunk(
    conn: Connection, state: _ImportState, chunk: list[tuple[int, Mapping[str | None, str]]]
) -> None:
    report = state.report
    report.rows += len(chunk)
    checked = [
        (line, resident)
        for line, raw in chunk
        if (resident := _validate_row(state, line, raw)) is not None
    ]
    in_ledger: set[str] = set()
    if state.ledger_has_residents and checked:
        rows = await _existing(
            conn,
            "SELECT nik FROM resident WHERE nik IN ({marks})",
            [r.nik for _, r in checked],
        )
        in_ledger = {r[0] for r in rows}
    if state.ledger_has_households and checked:
        unknown_kks = sorted(
            {r.no_kk for _, r in checked} - state.stored_heads.keys() - state.households.keys()
        )
        for row in await _existing(
            conn, "SELECT no_kk, head_nik FROM household WHERE no_kk IN ({marks})", unknown_kks
        ):
            state.stored_heads[row[0]] = row[1]
    city, now = state.city_code, _bound_once(conn, state.now)
    good: list[tuple[Any, ...]] = []
    for line, r in checked:
        if r.nik in in_ledger:
            _bad(
                state,
                line,
                [FieldIssue("nik", "NIK sudah ada di buku induk (already in the ledger)")],
            )
            continue
        if r.shdk == "kepala_keluarga" and not _take_head(state, r):
            _bad(
                state,
                line,
                [
                    FieldIssue(
                        "shdk",
                        f"KK {r.no_kk} sudah punya kepala keluarga lain "
                        "(this KK already has another head)",
                    )
                ],
            )
            continue
        if r.no_kk not in state.households and r.no_kk not in state.stored_heads:
            state.households[r.no_kk] = _Household(r.rt, None)
        good.append(
            (
                r.nik,
                r.name,
                r.sex,
                r.birth_place,
                r.birth_date,
                r.religion,
                r.education,
                r.occupation,
                r.marital_status,
                r.shdk,
                r.citizenship,
                r.no_kk,
                r.address,
                r.rt,
                city,
                r.father_name,
                r.mother_name,
                r.phone,
                r.blood_type,
                "active",
                "import",
                now,
                now,
            )
        )
    if good:
        await conn.copy_rows("resident", RESIDENT_COLUMNS, good)
        report.imported += len(good)


def _bound_once(conn: Connection, value: datetime) -> Any:
    """The timestamp every row shares, adapted once: on SQLite, the registered adapter
    would otherwise run twice per row (about a tenth of a big import's time)."""
    if conn.dialect == "sqlite":
        adapt = sqlite3.adapters.get((datetime, sqlite3.PrepareProtocol))
        if adapt is not None:
            return adapt(value)
    return value


def _take_head(state: _ImportState, r: ResidentInput) -> bool:
    """Make ``r`` its KK's head; False when the KK already has another one."""
    if r.no_kk in state.stored_heads:
        stored = state.stored_heads[r.no_kk]
        pending = state.households.get(r.no_kk)
        if stored is not None or (pending is not None and pending.head_nik is not None):
            return False
        state.households[r.no_kk] = _Household(r.rt, r.nik)  # fills the missing head
        return True
    household = state.households.get(r.no_kk)
    if household is not None and household.head_nik is not None:
        return False
    state.households[r.no_kk] = _Household(r.rt, r.nik)
    return True


async def _write_households(conn: Connection, state: _ImportState) -> None:
    new_rows = []
    heads = []
    for no_kk, household in state.households.items():
        if no_kk in state.stored_heads:
            if household.head_nik is not None:
                heads.append((household.head_nik, state.now, no_kk))
        else:
            new_rows.append(
                (no_kk, household.rt_code, state.city_code, household.head_nik, state.now)
            )
    for start in range(0, len(new_rows), CHUNK_ROWS):
        await conn.copy_rows("household", HOUSEHOLD_COLUMNS, new_rows[start : start + CHUNK_ROWS])
    if heads:
        await conn.executemany(
            "UPDATE household SET head_nik = $1, updated_at = $2"
            " WHERE no_kk = $3 AND head_nik IS NULL",
            heads,
        )
    state.report.households_added = len(new_rows)
    state.report.heads_filled = len(heads)


async def _import(
    conn: Connection,
    rows: Iterable[tuple[int, Mapping[str | None, str]]],
    city_code: str,
    now: datetime,
) -> ImportReport:
    city = await get_city(conn, city_code)
    rt_rows = await conn.fetch("SELECT code, city_code FROM rt")
    state = _ImportState(
        city_code=city_code,
        today=now.astimezone(ZoneInfo(city.timezone)).date(),
        now=now,
        rt_cities={r[0]: r[1] for r in rt_rows},
        ledger_has_residents=await conn.fetchval("SELECT 1 FROM resident LIMIT 1") is not None,
        ledger_has_households=await conn.fetchval("SELECT 1 FROM household LIMIT 1") is not None,
    )
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        await _import_chunk(conn, state, chunk)
    await _write_households(conn, state)
    state.report.bad_rows.sort(key=lambda problem: problem.line)
    return state.report


async def import_residents(
    db: Database,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    city_code: str,
    *,
    now: datetime | None = None,
) -> ImportReport:
    """Import resident rows ``(line number, {field: value})`` into an added city.

    One write transaction: good rows are stored, bad rows listed in the report. An
    :class:`RtbookError` (city not added, unreadable file part-way) stores nothing.
    The rows are consumed inside the database's unit of work, so they must come from
    plain iteration (a file, a list, a generator), not from other async work.
    """
    moment = now or datetime.now(UTC)

    async def unit(conn: Connection) -> ImportReport:
        return await _import(conn, rows, city_code, moment)

    return await db.write(unit)
