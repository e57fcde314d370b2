"""Kemendagri regions: adding a city (the tenant) with its kecamatan and kelurahan.

The region list (header ``kode,nama``) holds every region of Indonesia, ~91,600 rows;
a city needs only its province row, its own row and its kecamatan (``64.71.06``) and
kelurahan (``64.71.06.1005``). The file is streamed, never held whole. A region's
level follows from the shape of its code.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rtbook.core.db import Connection
from rtbook.core.errors import NotFound, RtbookError

LEVEL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("province", re.compile(r"[0-9]{2}")),
    ("city", re.compile(r"[0-9]{2}\.[0-9]{2}")),
    ("kecamatan", re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}")),
    ("kelurahan", re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}")),
)

TIMEZONE_ALIASES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}

_WIB = ("11", "12", "13", "14", "15", "16", "17", "18", "19", "21")
_WIB += ("31", "32", "33", "34", "35", "36", "61", "62")
_WITA = ("51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76")
_WIT = ("81", "82", "91", "92", "93", "94", "95", "96", "97")
PROVINCE_TIMEZONES: dict[str, str] = {
    **dict.fromkeys(_WIB, "Asia/Jakarta"),
    **dict.fromkeys(_WITA, "Asia/Makassar"),
    **dict.fromkeys(_WIT, "Asia/Jayapura"),
}

REGION_HEADER = ("kode", "nama")


def region_level(code: str) -> str | None:
    """``province`` | ``city`` | ``kecamatan`` | ``kelurahan`` by the code's shape."""
    for level, pattern in LEVEL_PATTERNS:
        if pattern.fullmatch(code):
            return level
    return None


def parent_code(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


def resolve_timezone(value: str) -> str:
    """WIB/WITA/WIT or an IANA name, as the IANA name; RtbookError when unknown."""
    text = value.strip()
    alias = TIMEZONE_ALIASES.get(text.upper())
    if alias:
        return alias
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise RtbookError(
            f"zona waktu {text!r} tidak dikenal; pakai WIB, WITA, WIT atau nama IANA "
            "seperti Asia/Makassar (unknown timezone)"
        ) from None
    return text


def default_timezone(province_code: str) -> str:
    zone = PROVINCE_TIMEZONES.get(province_code)
    if zone is None:
        raise RtbookError(
            f"zona waktu provinsi {province_code} tidak diketahui, berikan --timezone "
            "(no default timezone for this province, pass --timezone)"
        )
    return zone


def check_city_code(code: str) -> str:
    if region_level(code) != "city":
        raise RtbookError(
            f"{code!r} bukan kode kota/kabupaten, contoh 64.71 (not a city code, expected NN.NN)"
        )
    return code


@dataclass(slots=True)
class CityRegions:
    """One city's rows from the region list: (code, name) pairs."""

    code: str
    name: str
    province: tuple[str, str] | None = None
    kecamatan: list[tuple[str, str]] = field(default_factory=list)
    kelurahan: list[tuple[str, str]] = field(default_factory=list)


def _region_rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, code, name) of a region list, checking the file and its header."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise RtbookError(f"berkas wilayah {path} tidak ada (region file not found)") from None
    except OSError as exc:
        raise RtbookError(
            f"berkas wilayah {path} tidak bisa dibaca (region file unreadable): {exc.strerror}"
        ) from None
    with handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(h.strip().lower() for h in header) != REGION_HEADER:
                raise RtbookError(
                    f"berkas wilayah {path} harus berkepala kolom kode,nama "
                    "(region file header must be kode,nama)"
                )
            for row in reader:
                if not row:
                    continue
                if len(row) != 2:
                    raise RtbookError(
                        f"berkas wilayah {path} baris {reader.line_num}: harus 2 kolom "
                        "(line must have 2 columns)"
                    )
                yield reader.line_num, row[0].strip(), row[1].strip()
        except UnicodeDecodeError:
            raise RtbookError(
                f"berkas wilayah {path} bukan teks UTF-8 (region file is not UTF-8 text)"
            ) from None
        except csv.Error as exc:
            raise RtbookError(
                f"berkas wilayah {path} bukan CSV yang sah (not valid CSV): {exc}"
            ) from None


def read_city_regions(path: Path, city_code: str) -> CityRegions:
    """Stream the region list and keep the province, the city and its kecamatan and
    kelurahan. RtbookError when the file is unusable or the city is not in it."""
    check_city_code(city_code)
    province_code = city_code[:2]
    prefix = city_code + "."
    found: CityRegions | None = None
    province: tuple[str, str] | None = None
    seen: set[str] = set()
    kecamatan: list[tuple[str, str]] = []
    kelurahan: list[tuple[str, str]] = []
    for line, code, name in _region_rows(path):
        if code != province_code and code != city_code and not code.startswith(prefix):
            continue
        level = region_level(code)
        if level is None:
            raise RtbookError(
                f"berkas wilayah baris {line}: kode {code!r} tidak sah (invalid region code)"
            )
        if code in seen:
            raise RtbookError(
                f"berkas wilayah baris {line}: kode {code} ganda (duplicate region code)"
            )
        seen.add(code)
        if not name:
            raise RtbookError(f"berkas wilayah baris {line}: nama kosong (empty name)")
        if level == "province":
            province = (code, name)
        elif level == "city":
            found = CityRegions(code=code, name=name)
        elif level == "kecamatan":
            kecamatan.append((code, name))
        else:
            kelurahan.append((code, name))
    if found is None:
        raise RtbookError(
            f"kode kota {city_code} tidak ada di berkas wilayah {path} "
            "(city code not in the region file)"
        )
    found.province = province
    found.kecamatan = kecamatan
    found.kelurahan = kelurahan
    return found


@dataclass(frozen=True, slots=True)
class CityAdded:
    code: str
    name: str
    timezone: str
    kecamatan: int
    kelurahan: int


async def city_exists(conn: Connection, code: str) -> bool:
    return await conn.fetchval("SELECT 1 FROM city WHERE code = $1", code) is not None


@dataclass(frozen=True, slots=True)
class CityInfo:
    code: str
    name: str
    province_code: str
    timezone: str  # IANA name
    created_at: datetime


async def get_city(conn: Connection, code: str) -> CityInfo:
    """The added city; NotFound when it was not added."""
    row = await conn.fetchrow(
        "SELECT code, name, province_code, timezone, created_at FROM city WHERE code = $1",
        code,
    )
    if row is None:
        raise NotFound(f"kota {code} belum ditambahkan, jalankan rtbook city add (city not added)")
    return CityInfo(
        code=row["code"],
        name=row["name"],
        province_code=row["province_code"],
        timezone=row["timezone"],
        created_at=row["created_at"],
    )


async def add_city(
    conn: Connection, regions: CityRegions, timezone: str, *, now: datetime | None = None
) -> CityAdded:
    """Store the city and its regions (run inside a write transaction).

    A city that was already added is refused: re-running ``city add`` is an error, so
    an operator never changes a live tenant by accident.
    """
    if await city_exists(conn, regions.code):
        raise RtbookError(f"kota {regions.code} sudah ada (already added)")
    now = now or datetime.now(UTC)
    rows: list[tuple[str, str, str, str | None, str | None]] = []
    if regions.province is not None:
        rows.append((regions.province[0], regions.province[1], "province", None, None))
    rows.append((regions.code, regions.name, "city", regions.code[:2], regions.code))
    for level, items in (("kecamatan", regions.kecamatan), ("kelurahan", regions.kelurahan)):
        rows.extend((code, name, level, parent_code(code), regions.code) for code, name in items)
    await conn.executemany(
        "INSERT INTO region (code, name, level, parent_code, city_code)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING",
        rows,
    )
    await conn.execute(
        "INSERT INTO city (code, name, province_code, timezone, event_seq, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        regions.code,
        regions.name,
        regions.code[:2],
        timezone,
        0,
        now,
    )
    return CityAdded(
        code=regions.code,
        name=regions.name,
        timezone=timezone,
        kecamatan=len(regions.kecamatan),
        kelurahan=len(regions.kelurahan),
    )


async def region_info(conn: Connection, code: str) -> tuple[str, str | None] | None:
    """(level, city_code) of a stored region, or None when it is not stored."""
    row = await conn.fetchrow("SELECT level, city_code FROM region WHERE code = $1", code)
    return None if row is None else (row["level"], row["city_code"])
