"""Age in whole years, and the rule for birthdays on 29 February.

Someone born on 29 February reaches each new age on 29 February in a leap year and
on **1 March** in other years (the day after 28 February): on 28 February 2025 a
person born 29 February 1960 is still 64, on 1 March 2025 they are 65.

The list needs "age on ``as_of`` >= min_age", which is one comparison on the birth
date: born on or before :func:`latest_birth_date` (indexable, no per-row age in SQL).
"""

from __future__ import annotations

from datetime import date

# Whole years, the birthday counted once its (month, day) is reached: so 29 February
# counts on 1 March in a common year. The ledger's own rule (KTP-el age checks).
from rtbook.core.ledger.apply import age_on

__all__ = ["age_on", "latest_birth_date"]


def latest_birth_date(day: date, years: int) -> date:
    """The latest birth date of someone at least ``years`` old on ``day``.

    ``day`` moved back ``years`` years; 29 February in a common year becomes 28
    February (someone born 1 March that year is not yet ``years`` old, someone born
    28 February is)."""
    year = day.year - years
    if day.month == 2 and day.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return day.replace(year=year)
