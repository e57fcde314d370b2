"""The population pyramid of an area at the end of a month: residents by five-year age
group and sex, drawn as an inline SVG by the server (no script, no style attribute:
the pages' CSP allows neither; colours come from classes in rtbook.css).

Men (L) to the left of the middle, women (P) to the right, the youngest group at the
bottom. The SVG is 340 units wide so it fits a 360 px phone screen; it carries a
<title> and <desc> for screen readers, and the page shows the same numbers as a table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

GROUP_YEARS = 5
OLDEST = 75  # the last group is 75 and over
WIDTH = 340
LABEL = 44  # the middle column with the age labels
ROW = 16
GAP = 3
TOP = 22  # room for the L / P headings
BOTTOM = 18  # room for the scale


@dataclass(frozen=True, slots=True)
class Group:
    label: str  # "0-4", ..., "75+"
    men: int
    women: int


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # pyr-l | pyr-p
    count: int


@dataclass(frozen=True, slots=True)
class Pyramid:
    groups: list[Group]  # youngest first
    bars: list[Bar]
    labels: list[tuple[float, float, str]]  # x, y, text (age groups)
    width: int
    height: int
    scale: int  # the count a full half-width bar stands for
    men: int
    women: int

    @property
    def total(self) -> int:
        return self.men + self.women


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def group_labels() -> list[str]:
    labels = [f"{a}-{a + GROUP_YEARS - 1}" for a in range(0, OLDEST, GROUP_YEARS)]
    return [*labels, f"{OLDEST}+"]


def count_groups(people: Iterable[tuple[str, date | None]], day: date) -> list[Group]:
    """(sex, birth date) of each resident -> counts per age group on ``day``."""
    labels = group_labels()
    men = [0] * len(labels)
    women = [0] * len(labels)
    for sex, birth in people:
        if birth is None:
            continue
        age = max(0, age_on(birth, day))
        index = min(age // GROUP_YEARS, len(labels) - 1)
        if sex == "P":
            women[index] += 1
        else:
            men[index] += 1
    return [Group(label, m, w) for label, m, w in zip(labels, men, women, strict=True)]


def _nice(value: int) -> int:
    """The smallest 1, 2 or 5 x 10^n at least ``value`` (the scale's round number)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def draw(groups: list[Group]) -> Pyramid:
    half = (WIDTH - LABEL) / 2
    scale = _nice(max([1, *(g.men for g in groups), *(g.women for g in groups)]))
    height = TOP + len(groups) * (ROW + GAP) + BOTTOM
    bars: list[Bar] = []
    labels: list[tuple[float, float, str]] = []
    for row, group in enumerate(reversed(groups)):  # the oldest on top
        y = TOP + row * (ROW + GAP)
        men_w = round(half * group.men / scale, 1)
        women_w = round(half * group.women / scale, 1)
        bars.append(Bar(round(half - men_w, 1), y, men_w, ROW, "pyr-l", group.men))
        bars.append(Bar(half + LABEL, y, women_w, ROW, "pyr-p", group.women))
        labels.append((WIDTH / 2, y + ROW - 4, group.label))
    return Pyramid(
        groups=groups,
        bars=bars,
        labels=labels,
        width=WIDTH,
        height=height,
        scale=scale,
        men=sum(g.men for g in groups),
        women=sum(g.women for g in groups),
    )
