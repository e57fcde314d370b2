"""Admin lists paged by id: a WHERE clause built from optional filters, read with
``LIMIT n + 1`` so the page knows whether another follows."""

from __future__ import annotations

from dataclasses import dataclass, field

from rtbook.core.db.base import Connection, Row


@dataclass
class Filters:
    """Conditions joined with AND; ``{}`` in a condition is its next parameter."""

    conditions: list[str] = field(default_factory=list)
    args: list[object] = field(default_factory=list)

    def add(self, sql: str, *values: object) -> None:
        marks = []
        for value in values:
            self.args.append(value)
            marks.append(f"${len(self.args)}")
        self.conditions.append(sql.format(*marks))


async def page_by_id(
    conn: Connection,
    columns: str,
    table: str,
    filters: Filters,
    after: int | None,
    limit: int,
) -> tuple[list[Row], int | None]:
    """Rows with ``id > after`` matching ``filters`` in id order, at most ``limit``,
    and the id to pass as ``after`` for the next page (None on the last page)."""
    if after is not None:
        filters.add("id > {}", after)
    args = [*filters.args, limit + 1]
    clause = f" WHERE {' AND '.join(filters.conditions)}" if filters.conditions else ""
    rows = await conn.fetch(
        f"SELECT {columns} FROM {table}{clause} ORDER BY id LIMIT ${len(args)}", *args
    )
    page = rows[:limit]
    return page, int(page[-1]["id"]) if len(rows) > limit else None
