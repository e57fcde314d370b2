"""``rtbook deliveries list [--status S] [--city C]`` and ``rtbook deliveries retry ID``:
the notification deliveries (docs/notifications.md), recipients masked; and
``rtbook notify prefs USERNAME [...]``: a user's notification preferences (shown when
no option is given)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rtbook.cli_format import moment, one_line, positive_int, print_table

if TYPE_CHECKING:
    from rtbook.core.db import Connection, Database
    from rtbook.core.notify.deliveries import DeliveryPage
    from rtbook.core.notify.preferences import Preferences


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
            moment(d.next_attempt_at),
            one_line(d.last_error),
        )
        for d in page.items
    ]
    print_table(header, rows)
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


def _choices(value: str | None) -> list[str] | None:
    """``whatsapp,email`` -> a list; ``all`` -> None (every one); ``none`` -> []."""
    if value is None or value.strip().lower() == "all":
        return None
    if value.strip().lower() == "none":
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _quiet(value: str) -> tuple[str | None, str | None]:
    from rtbook.core.errors import RtbookError

    if value.strip().lower() == "off":
        return None, None
    start, dash, end = value.strip().partition("-")
    if not dash:
        raise RtbookError(
            f"--quiet harus JJ:MM-JJ:MM atau off, mis. 21:00-06:00 "
            f"(must be HH:MM-HH:MM or off): {value!r}"
        )
    return start.strip(), end.strip()


def print_preferences(username: str, prefs: Preferences) -> None:
    from rtbook.core.ledger.effects import SERVICE_TYPES
    from rtbook.core.notify.preferences import CHANNELS

    def listed(values: list[str], every: tuple[str, ...]) -> str:
        if set(values) >= set(every):
            return "semua (all)"
        return ", ".join(values) if values else "tidak ada (none)"

    quiet = (
        f"{prefs.quiet_start}-{prefs.quiet_end} (waktu kota, city time)"
        if prefs.quiet_start and prefs.quiet_end
        else "mati (off)"
    )
    known = {"whatsapp": prefs.addresses.whatsapp, "email": prefs.addresses.email}
    addresses = [f"{name} {value}" for name, value in known.items() if value]
    print(f"pengguna (user): {username}")
    print(f"saluran (channels): {listed(prefs.channels, CHANNELS)}")
    print(f"jenis layanan (service types): {listed(prefs.service_types, SERVICE_TYPES)}")
    print(f"jam tenang (quiet hours): {quiet}")
    print(f"ringkasan harian (daily digest): {'on' if prefs.daily_digest else 'off'}")
    print(f"bahasa (language): {prefs.language}")
    print(f"alamat (addresses): {', '.join(addresses) or 'tidak ada (none)'}")


def cmd_notify_prefs(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, write
    from rtbook.core.notify.preferences import parse_input, read_preferences, save_preferences
    from rtbook.core.users import require_user_id

    raw: dict[str, Any] = {}
    if args.channels is not None:
        raw["channels"] = _choices(args.channels)
    if args.service_types is not None:
        raw["service_types"] = _choices(args.service_types)
    if args.quiet is not None:
        raw["quiet_start"], raw["quiet_end"] = _quiet(args.quiet)
    if args.digest is not None:
        raw["daily_digest"] = args.digest == "on"
    if args.language is not None:
        raw["language"] = args.language
    change = parse_input(raw)  # checked before the database is opened

    async def unit(conn: Connection) -> Preferences:
        user_id = await require_user_id(conn, args.username)
        if not raw:
            return await read_preferences(conn, user_id)
        return await save_preferences(conn, user_id, change, datetime.now(UTC))

    print_preferences(args.username, write(unit))
    return EXIT_OK


def register_notify_commands(commands: Any) -> None:
    """Add ``deliveries`` and ``notify`` to the ``rtbook`` parser's subcommands."""
    from rtbook.core.notify.deliveries import LIST_LIMIT_DEFAULT, LIST_STATUSES

    parser = commands.add_parser(
        "deliveries", help="pengiriman pemberitahuan (notification deliveries)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("list", help="daftar pengiriman (list deliveries)")
    p.add_argument("--status", choices=LIST_STATUSES)
    p.add_argument("--city", metavar="CITY_CODE")
    p.add_argument("--after", type=positive_int, metavar="ID")
    p.add_argument("--limit", type=positive_int, default=LIST_LIMIT_DEFAULT, metavar="N")
    p.set_defaults(handler=cmd_deliveries_list)
    p = actions.add_parser("retry", help="kirim ulang (make a failed or dead delivery due now)")
    p.add_argument("id", type=positive_int, metavar="ID")
    p.set_defaults(handler=cmd_deliveries_retry)

    parser = commands.add_parser("notify", help="pemberitahuan (notifications)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "prefs",
        help="preferensi pemberitahuan pengguna (a user's notification preferences)",
        description="Tanpa opsi: tampilkan (no option: show). Only the options given change.",
    )
    p.add_argument("username", metavar="USERNAME")
    p.add_argument(
        "--channels", metavar="LIST", help="whatsapp,email | all | none (comma-separated)"
    )
    p.add_argument("--service-types", metavar="LIST", help="e.g. kk,akta_kelahiran | all | none")
    p.add_argument("--quiet", metavar="HH:MM-HH:MM", help="jam tenang, mis. 21:00-06:00 | off")
    p.add_argument("--digest", choices=("on", "off"), help="ringkasan harian (daily digest)")
    p.add_argument("--language", metavar="LANG", help="id | en")
    p.set_defaults(handler=cmd_notify_prefs)
