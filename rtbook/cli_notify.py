"""``rtbook deliveries list [--status S] [--city C]`` and ``rtbook deliveries retry ID``:
the notification deliveries (docs/notifications.md), recipients masked."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtbook.core.db import Database
    from rtbook.core.notify.deliveries import DeliveryPage


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"harus bilangan bulat positif (must be a positive integer): {value!r}"
        )
    return number


def _moment(value: datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"


def print_deliveries(page: DeliveryPage) -> None:
    if not page.items:
        print("tidak ada pengiriman (no deliveries)")
        return
    header = ("ID", "EVENT", "CHANNEL", "RECIPIENT", "STATUS", "ATTEMPTS", "NEXT", "LAST_ERROR")
    rows = [
        (
            str(d.id),
            d.event_id,
            d.channel,
            d.recipient,
            d.status,
            str(d.attempts),
            _moment(d.next_attempt_at),
            " ".join((d.last_error or "-").split())[:120],
        )
        for d in page.items
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]))
    if page.next_after is not None:
        print(f"... lanjutkan dengan (continue with) --after {page.next_after}")


def cmd_deliveries_list(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, run
    from rtbook.core.notify.deliveries import list_deliveries

    async def work(db: Database) -> DeliveryPage:
        return await db.read(
            lambda conn: list_deliveries(
                conn, city=args.city, status=args.status, after=args.after, limit=args.limit
            )
        )

    print_deliveries(run(work))
    return EXIT_OK


def cmd_deliveries_retry(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, write
    from rtbook.core.notify.deliveries import retry_delivery

    view = write(lambda conn: retry_delivery(conn, args.id, datetime.now(UTC)))
    print(
        f"pengiriman {view.id} dijadwalkan ulang sekarang (delivery due now): "
        f"{view.channel} ke (to) {view.recipient}; dikirim saat worker berjalan "
        "(sent when the worker runs)"
    )
    return EXIT_OK


def register_notify_commands(commands: Any) -> None:
    """Add ``deliveries`` to the ``rtbook`` parser's subcommands."""
    from rtbook.core.notify.deliveries import LIST_LIMIT_DEFAULT, LIST_STATUSES

    parser = commands.add_parser(
        "deliveries", help="pengiriman pemberitahuan (notification deliveries)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("list", help="daftar pengiriman (list deliveries)")
    p.add_argument("--status", choices=LIST_STATUSES)
    p.add_argument("--city", metavar="CITY_CODE")
    p.add_argument("--after", type=_positive_int, metavar="ID")
    p.add_argument("--limit", type=_positive_int, default=LIST_LIMIT_DEFAULT, metavar="N")
    p.set_defaults(handler=cmd_deliveries_list)
    p = actions.add_parser("retry", help="kirim ulang (make a failed or dead delivery due now)")
    p.add_argument("id", type=_positive_int, metavar="ID")
    p.set_defaults(handler=cmd_deliveries_retry)
