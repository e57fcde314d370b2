"""The books as XLSX workbooks (openpyxl), laid out like the Permendagri 47/2016 forms
and set up to print on A4 landscape.

- B.3: one row per unit one level below the area (RW of a kelurahan, RT of an RW, ...)
  and a total row; for a kelurahan and up a second sheet with every RT.
- B.1: the 16 columns of the form, one row per resident.
- B.2: one row per birth, arrival, death or departure.

NIK and No. KK are written as text (a 16-digit number would lose its last digits).
Building a workbook is CPU work: callers run these functions in a thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from rtbook_reports.registers import Induk, Mutasi
from rtbook_reports.rekap import METRICS, Part, Rekap, Tally

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "DD-MM-YYYY"
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
METRIC_LABELS = {
    "start": "Jumlah penduduk awal bulan",
    "births": "Lahir",
    "arrivals": "Datang",
    "deaths": "Meninggal",
    "departures": "Pindah",
    "end": "Jumlah penduduk akhir bulan",
}
# WNA before WNI, as on the form
_FORM_GROUPS = (("WNA", "L"), ("WNA", "P"), ("WNI", "L"), ("WNI", "P"))


def _landscape(sheet: Worksheet, title_rows: int) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"1:{title_rows}"


def _save(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _titles(sheet: Worksheet, lines: Sequence[str], width: int) -> int:
    for index, line in enumerate(lines, start=1):
        sheet.cell(row=index, column=1, value=line).font = _TITLE if index == 1 else _BOLD
        sheet.merge_cells(start_row=index, start_column=1, end_row=index, end_column=width)
    return len(lines) + 1  # a blank row after the titles


# -- B.3 ----------------------------------------------------------------------------


def _b3_header(sheet: Worksheet, row: int) -> int:
    """Three header rows: metric, citizenship, sex; returns the first data row."""
    sheet.cell(row=row, column=1, value="No")
    sheet.cell(row=row, column=2, value="Wilayah (area)")
    sheet.cell(row=row, column=3, value="Kode (code)")
    for column in (1, 2, 3):
        sheet.merge_cells(start_row=row, start_column=column, end_row=row + 2, end_column=column)
    column = 4
    for metric in METRICS:
        width = 6 if metric in ("start", "end") else 4
        sheet.cell(row=row, column=column, value=METRIC_LABELS[metric])
        sheet.merge_cells(
            start_row=row, start_column=column, end_row=row, end_column=column + width - 1
        )
        for offset, cit in enumerate(("WNA", "WNI")):
            c = column + offset * 2
            sheet.cell(row=row + 1, column=c, value=cit)
            sheet.merge_cells(start_row=row + 1, start_column=c, end_row=row + 1, end_column=c + 1)
            sheet.cell(row=row + 2, column=c, value="L")
            sheet.cell(row=row + 2, column=c + 1, value="P")
        if width == 6:
            for c, label in ((column + 4, "Jumlah KK"), (column + 5, "Jumlah jiwa")):
                sheet.cell(row=row + 1, column=c, value=label)
                sheet.merge_cells(start_row=row + 1, start_column=c, end_row=row + 2, end_column=c)
        column += width
    sheet.cell(row=row, column=column, value="Ket.")
    sheet.merge_cells(start_row=row, start_column=column, end_row=row + 2, end_column=column)
    for r in range(row, row + 3):
        for c in range(1, column + 1):
            cell = sheet.cell(row=r, column=c)
            cell.font = _BOLD
            cell.alignment = _CENTER
            cell.border = _BOX
    return row + 3


def _b3_values(tally: Tally) -> list[int]:
    values: list[int] = []
    for metric in METRICS:
        values.extend(tally.get(metric, cit, sex) for cit, sex in _FORM_GROUPS)
        if metric == "start":
            values.extend((tally.kk[0], tally.get(metric)))
        elif metric == "end":
            values.extend((tally.kk[1], tally.get(metric)))
    return values


def _b3_sheet(sheet: Worksheet, rekap: Rekap, parts: Sequence[Part], title: str) -> None:
    width = 3 + sum(6 if m in ("start", "end") else 4 for m in METRICS) + 1
    first = _titles(
        sheet,
        (
            title,
            f"{rekap.area.name} ({rekap.area.code})",
            f"Bulan (month): {rekap.month.label()}",
        ),
        width,
    )
    row = _b3_header(sheet, first)
    rows: list[tuple[Any, str, str, Tally]] = [
        (i, p.name, p.code, p.tally) for i, p in enumerate(parts, start=1)
    ]
    rows.append(("", "Jumlah (total)", rekap.area.code, rekap.total))
    for number, name, code, tally in rows:
        values = [number, name, code, *_b3_values(tally), ""]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            if number == "":  # the total row; data rows stay unstyled (fast for a city)
                cell.font = _BOLD
                cell.border = _BOX
        row += 1
    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 30
    sheet.column_dimensions["C"].width = 22
    for column in range(4, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 7
    sheet.freeze_panes = sheet.cell(row=first + 3, column=4)
    _landscape(sheet, first + 2)


def rekap_xlsx(rekap: Rekap) -> bytes:
    """B.3 as a workbook."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "B.3"
    parts = rekap.parts if rekap.parts else rekap.rts
    _b3_sheet(sheet, rekap, parts, "BUKU REKAPITULASI JUMLAH PENDUDUK (B.3)")
    if rekap.area.level in ("city", "kecamatan", "kelurahan"):
        _b3_sheet(
            workbook.create_sheet("Per RT"),
            rekap,
            rekap.rts,
            "BUKU REKAPITULASI JUMLAH PENDUDUK (B.3) PER RT",
        )
    return _save(workbook)


# -- B.1 and B.2 --------------------------------------------------------------------


def _table(
    title: str,
    subtitle: str,
    month_label: str,
    headers: Sequence[tuple[str, int]],
    rows: Sequence[Sequence[Any]],
    sheet_title: str,
) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    first = _titles(sheet, (title, subtitle, f"Bulan (month): {month_label}"), len(headers))
    for column, (label, width) in enumerate(headers, start=1):
        cell = sheet.cell(row=first, column=column, value=label)
        cell.font = _BOLD
        cell.alignment = _CENTER
        cell.border = _BOX
        sheet.column_dimensions[get_column_letter(column)].width = width
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=first + offset, column=column, value=value)
            if isinstance(value, date):
                cell.number_format = DATE_FORMAT
    sheet.freeze_panes = sheet.cell(row=first + 1, column=1)
    _landscape(sheet, first)
    return _save(workbook)


INDUK_HEADERS = (
    ("No", 5),
    ("Nama lengkap (name)", 28),
    ("Jenis kelamin (sex)", 8),
    ("Status perkawinan (marital status)", 14),
    ("Tempat lahir (birth place)", 16),
    ("Tanggal lahir (birth date)", 12),
    ("Agama (religion)", 11),
    ("Pendidikan terakhir (education)", 18),
    ("Pekerjaan (occupation)", 18),
    ("Dapat membaca huruf (literacy)", 10),
    ("Kewarganegaraan (citizenship)", 9),
    ("Alamat lengkap (address)", 28),
    ("Kedudukan dalam keluarga (family relation)", 16),
    ("NIK", 19),
    ("Nomor KK (family card)", 19),
    ("Keterangan (note)", 24),
)


def induk_xlsx(induk: Induk, month_label: str) -> bytes:
    rows = [
        (
            i.no,
            i.name,
            i.sex,
            i.marital_status,
            i.birth_place,
            i.birth_date,
            i.religion,
            i.education,
            i.occupation,
            None,
            i.citizenship,
            i.address,
            i.shdk,
            i.nik,
            i.no_kk,
            "; ".join(x for x in (i.rt, i.note) if x),
        )
        for i in induk.items
    ]
    return _table(
        "BUKU INDUK PENDUDUK (B.1)",
        f"{induk.name} ({induk.area})",
        month_label,
        INDUK_HEADERS,
        rows,
        "B.1",
    )


MUTASI_HEADERS = (
    ("No", 5),
    ("Nama lengkap (name)", 28),
    ("Tempat lahir (birth place)", 16),
    ("Tanggal lahir (birth date)", 12),
    ("Jenis kelamin (sex)", 8),
    ("Kewarganegaraan (citizenship)", 9),
    ("NIK", 19),
    ("RT", 22),
    ("Datang dari (arrived from)", 22),
    ("Tanggal datang (arrival date)", 12),
    ("Pindah ke (moved to)", 22),
    ("Tanggal pindah (departure date)", 12),
    ("Meninggal di (died at)", 24),
    ("Tanggal meninggal (date of death)", 12),
    ("Keterangan (note)", 20),
)


def mutasi_xlsx(mutasi: Mutasi, month_label: str) -> bytes:
    rows = []
    for i in mutasi.items:
        arrived = i.date if i.kind == "datang" else None
        departed = i.date if i.kind == "pindah" else None
        died = i.date if i.kind == "meninggal" else None
        note = i.note if i.kind != "lahir" else f"{i.note} {i.date.strftime('%d-%m-%Y')}"
        rows.append(
            (
                i.no,
                i.name,
                i.birth_place,
                i.birth_date,
                i.sex,
                i.citizenship,
                i.nik,
                i.rt,
                i.came_from,
                arrived,
                i.moved_to,
                departed,
                i.died_at,
                died,
                note,
            )
        )
    return _table(
        "BUKU MUTASI PENDUDUK (B.2)",
        f"{mutasi.name} ({mutasi.area})",
        month_label,
        MUTASI_HEADERS,
        rows,
        "B.2",
    )


__all__ = ["XLSX_TYPE", "induk_xlsx", "mutasi_xlsx", "rekap_xlsx"]
