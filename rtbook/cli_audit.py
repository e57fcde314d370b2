"""``rtbook audit export [--city CODE] [--since DATE] [--until DATE] [--format csv|jsonl]
[--output FILE]``: the audit trail (rtbook.core.audit) in the order it was written.

The rows are read page by page (one read unit per page) and written as they come, so
memory stays the same however long the trail is. With ``--output`` the file appears
only when the export is complete (written beside it, then renamed). ``--since`` and
``--until`` take a date (``--until`` includes that UTC day) or an ISO 8601 time.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from rtbook.core.audit import AuditItem, AuditPage
    from rtbook.core.db import Connection, Database

EXPORT_PAGE = 500
FORMATS = ("csv", "jsonl")
COLUMNS = ("id", "at", "user", "action", "target", "scope", "detail")


def _row_writer(out: IO[str], fmt: str) -> Callable[[AuditItem], None]:
    """One function per format that writes one row to ``out``."""
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(COLUMNS)

        def write_csv(item: AuditItem) -> None:
            writer.writerow(
                (
                    item.id,
                    item.at.isoformat(),
                    item.user or "",
                    item.action,
                    item.target or "",
                    item.scope or "",
                    msgspec.json.encode(item.detail).decode("utf-8"),
                )
            )

        return write_csv

    encoder = msgspec.json.Encoder()

    def write_jsonl(item: AuditItem) -> None:
        out.write(encoder.encode(item).decode("utf-8"))
        out.write("\n")

    return write_jsonl


def cmd_audit_export(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, run
    from rtbook.core import audit
    from rtbook.core.errors import NotFound, RtbookError

    since = audit.parse_moment(args.since, "--since")
    until = audit.parse_moment(args.until, "--until", end=True)
    city = args.city.strip() if args.city else None
    target = Path(args.output) if args.output else None
    partial = None if target is None else target.with_name(f".{target.name}.part")
    if target is not None and target.is_dir():
        raise RtbookError(f"--output {target} adalah direktori (is a directory)")

    async def work(db: Database) -> int:
        if city is not None:
            found = await db.read(
                lambda conn: conn.fetchval("SELECT count(*) FROM city WHERE code = $1", city)
            )
            if not found:
                raise NotFound(f"kota {city[:20]} tidak ada (no such city)")
        out: IO[str]
        if partial is None:
            out = sys.stdout
        else:
            try:
                out = partial.open("w", encoding="utf-8", newline="")
            except OSError as exc:
                raise RtbookError(
                    f"tidak bisa menulis (cannot write) {target}: {exc.strerror}"
                ) from None
        try:
            write_row = _row_writer(out, args.format)
            cursor: str | None = None
            count = 0
            while True:

                async def page_unit(conn: Connection, after: str | None = cursor) -> AuditPage:
                    return await audit.list_audit(
                        conn,
                        city=city,
                        cursor=after,
                        limit=EXPORT_PAGE,
                        since=since,
                        until=until,
                    )

                page = await db.read(page_unit)
                for item in page.items:
                    write_row(item)
                count += len(page.items)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            out.flush()
        except BaseException:
            if partial is not None:
                out.close()
                partial.unlink(missing_ok=True)
            raise
        if partial is not None and target is not None:
            out.close()
            os.replace(partial, target)
        return count

    count = run(work)
    report = sys.stderr if target is None else sys.stdout
    print(f"{count} baris audit diekspor (audit rows exported)", file=report)
    return EXIT_OK


def register_audit_commands(commands: Any) -> None:
    """Add ``audit export`` to the ``rtbook`` parser's subcommands."""
    parser = commands.add_parser("audit", help="jejak audit (the audit trail)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "export",
        help="ekspor jejak audit (export the audit trail)",
        description="Urut waktu penulisan (in the order written); NIK disamarkan (NIKs masked).",
    )
    p.add_argument("--city", metavar="CITY_CODE", help="hanya kota ini (this city only)")
    p.add_argument("--since", metavar="DATE", help="YYYY-MM-DD atau waktu ISO 8601 (inclusive)")
    p.add_argument("--until", metavar="DATE", help="YYYY-MM-DD (hari itu ikut, day included)")
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument("-o", "--output", metavar="FILE", help="berkas tujuan; tanpa ini: stdout")
    p.set_defaults(handler=cmd_audit_export)
