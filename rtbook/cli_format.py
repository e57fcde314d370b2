"""Argument types and table output shared by the ``rtbook`` subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime


def positive_float(value: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number != number or number == float("inf"):
        raise argparse.ArgumentTypeError(f"harus angka > 0 (must be a number > 0): {value}")
    return number


def positive_int(value: str) -> int:
    """An argparse type: ASCII digits, 1 or more, at most 18 digits."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1 or len(text) > 18:
        raise argparse.ArgumentTypeError(
            f"harus bilangan bulat >= 1 (must be an integer >= 1): {value}"
        )
    return int(text)


def moment(value: datetime | None) -> str:
    """A time as UTC for tables, ``-`` for none."""
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"


def one_line(text: str | None, limit: int = 120) -> str:
    """An error text folded onto one line and cut for a table cell."""
    return " ".join((text or "-").split())[:limit]


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell; the last column is left as it is."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]))
