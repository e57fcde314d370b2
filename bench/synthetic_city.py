"""Synthetic city generation: rows/s of ``rtbook.synthetic.generate_residents`` and
what the city looks like (household size, 60+ share, religions).

    .venv/bin/python bench/synthetic_city.py [--residents N] [--seed S]
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import _city

from rtbook.synthetic import generate_residents


def main() -> None:
    args = _city.parser(__doc__.splitlines()[0], "unused").parse_args()
    rts = _city.city_rts(args.residents)
    today = date.today()
    wall, cpu = time.perf_counter(), time.process_time()
    rows = list(
        generate_residents(
            rts, households_per_rt=_city.HOUSEHOLDS_PER_RT, seed=args.seed, today=today
        )
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    def age(birth: str) -> int:
        born = date.fromisoformat(birth)
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    ages = [age(r["birth_date"]) for r in rows]
    households = Counter(r["no_kk"] for r in rows)
    religions = Counter(r["religion"] for r in rows)
    n = len(rows)
    _city.print_table(
        f"Synthetic city, {len(rts):,} RTs x {_city.HOUSEHOLDS_PER_RT} households "
        f"({_city.machine_note()})",
        [
            "rows",
            "seconds (wall)",
            "seconds (CPU)",
            "rows/s",
            "per household",
            "aged 60+",
            "under 15",
            "islam/kristen/katolik",
        ],
        [
            [
                n,
                wall,
                cpu,
                n / wall,
                f"{n / len(households):.2f}",
                f"{100 * sum(a >= 60 for a in ages) / n:.1f} %",
                f"{100 * sum(a < 15 for a in ages) / n:.1f} %",
                "/".join(f"{100 * religions[k] / n:.1f}" for k in ("islam", "kristen", "katolik"))
                + " %",
            ]
        ],
    )


if __name__ == "__main__":
    main()
