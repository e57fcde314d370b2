"""Calendar months of the books: parsing ``YYYY-MM``, bounds, names in Bahasa Indonesia."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rtbook.core.ledger.reads import InvalidQuery

MONTH_NAMES_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
MONTH_NAMES_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
FIRST_YEAR = 1900


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> date:
        """The first day of the month (the books' "start" is the state before it)."""
        return date(self.year, self.month, 1)

    @property
    def next_first(self) -> date:
        """The first day of the next month (the "end" is the state before it)."""
        return self.next().first

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def label(self, language: str = "id") -> str:
        names = MONTH_NAMES_EN if language == "en" else MONTH_NAMES_ID
        return f"{names[self.month - 1]} {self.year}"

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)


def parse_month(value: str | None, today: date) -> Month:
    """The ``month`` parameter, ``YYYY-MM``; empty means the last full month before
    ``today`` (city time). InvalidQuery (400) for a malformed or future month."""
    text = (value or "").strip()
    if not text:
        return Month.of(today).previous()
    match = _MONTH.fullmatch(text)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidQuery("month", "harus YYYY-MM, mis. 2026-10 (must be YYYY-MM)")
    month = Month(int(match.group(1)), int(match.group(2)))
    if month.year < FIRST_YEAR:
        raise InvalidQuery("month", f"tahun paling awal {FIRST_YEAR} (year before {FIRST_YEAR})")
    if month > Month.of(today):
        raise InvalidQuery("month", "bulan itu belum tiba (that month is in the future)")
    return month


def day_label(day: date, language: str = "id") -> str:
    names = MONTH_NAMES_EN if language == "en" else MONTH_NAMES_ID
    return f"{day.day} {names[day.month - 1]} {day.year}"
