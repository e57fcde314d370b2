"""The list as bytes, page by page: JSON, CSV (the contract's header) and XLSX.

Each encoder takes the pages (rtbook_lansia.listing.iter_pages) and yields chunks,
so an export never holds more than one page (CSV, JSON). XLSX is written with
openpyxl's write-only workbook (rows go to a temporary file as they come), saved to
a spooled temporary file and read back in chunks; openpyxl's work runs in a thread,
away from the event loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Any

import msgspec

from rtbook_lansia.listing import COLUMNS, LansiaItem

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"json": JSON_TYPE, "csv": CSV_TYPE, "xlsx": XLSX_TYPE}
CHUNK = 64 * 1024

Pages = AsyncIterable[Sequence[LansiaItem]]

_encode = msgspec.json.Encoder().encode


def csv_row(item: LansiaItem) -> tuple[Any, ...]:
    """The contract's columns of one item: nik, name, sex, birth_date, age, rt, address."""
    return (
        item.nik,
        item.name,
        item.sex,
        item.birth_date.isoformat(),
        item.age,
        item.rt,
        item.address or "",
    )


def doses_text(item: LansiaItem) -> str:
    """``Sinovac 1 (2021-03-01, Puskesmas Damai); Sinovac 2 (...)``."""
    return "; ".join(
        f"{d.vaccine} {d.dose_number} ({d.date.isoformat()}, {d.place})" for d in item.doses
    )


async def csv_chunks(pages: Pages) -> AsyncIterator[bytes]:
    """The header line, then one chunk per page (RFC 4180, CRLF line ends, UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue().encode("utf-8")
    async for items in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(item) for item in items)
        yield buffer.getvalue().encode("utf-8")


async def json_chunks(pages: Pages) -> AsyncIterator[bytes]:
    """``{"items": [...]}`` one page at a time."""
    yield b'{"items":['
    first = True
    async for items in pages:
        if not items:
            continue
        body = b",".join(_encode(item) for item in items)
        yield body if first else b"," + body
        first = False
    yield b"]}"


XLSX_HEADER = (*COLUMNS, "doses")


async def xlsx_chunks(pages: Pages, title: str) -> AsyncIterator[bytes]:
    """A workbook with one sheet: the contract's columns and the doses, one row per
    resident. Built in a write-only workbook, then streamed from a temporary file."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "lansia")
    sheet.append(XLSX_HEADER)

    def append(items: Sequence[LansiaItem]) -> None:
        for item in items:
            sheet.append(
                (
                    item.nik,  # text: a 16-digit NIK must never become a number
                    item.name,
                    item.sex,
                    item.birth_date,
                    item.age,
                    item.rt,
                    item.address or "",
                    doses_text(item),
                )
            )

    async for items in pages:
        await asyncio.to_thread(append, items)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        await asyncio.to_thread(workbook.save, out)
        out.seek(0)
        while True:
            chunk = await asyncio.to_thread(out.read, CHUNK)
            if not chunk:
                break
            yield chunk
