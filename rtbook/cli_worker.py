"""``rtbook worker`` and ``rtbook deadletters`` (docs/worker.md).

    rtbook worker [--once] [--poll SECONDS] [--max-attempts N] [--retry-base SECONDS]
                  [--retry-cap SECONDS] [--checkpoint-every N]
    rtbook deadletters list [--city CITY_CODE] [--plugin NAME] [--status STATUS] [--limit N]
    rtbook deadletters replay ID

The worker logs to stderr. It stops cleanly on SIGTERM or SIGINT: each stream finishes
the event in flight, writes its checkpoint and gives its lease back. Exit codes: 0
done, 1 a stream stopped on a database error (``--once``), 2 bad input or another
worker holds this SQLite database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtbook.core.db import Database
    from rtbook.core.dispatch.failures import DeadLetterPage
    from rtbook.core.dispatch.worker import WorkerStats

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number != number or number == float("inf"):
        raise argparse.ArgumentTypeError(f"harus angka > 0 (must be a number > 0): {value}")
    return number


def _positive_int(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1 or len(text) > 18:
        raise argparse.ArgumentTypeError(
            f"harus bilangan bulat >= 1 (must be an integer >= 1): {value}"
        )
    return int(text)


def _setup_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)


def _worker_options(args: argparse.Namespace) -> Any:
    from rtbook.core.dispatch.options import RetryPolicy, WorkerOptions

    base = args.retry_base
    cap = max(args.retry_cap, base)
    return WorkerOptions(
        retry=RetryPolicy(base_seconds=base, cap_seconds=cap, max_attempts=args.max_attempts),
        poll_seconds=args.poll,
        checkpoint_every=args.checkpoint_every,
    )


def _stats_line(stats: WorkerStats) -> str:
    return (
        f"{stats.delivered} peristiwa terkirim (events delivered), "
        f"{stats.failed} gagal dan dijadwalkan ulang (failed, scheduled for retry), "
        f"{stats.retried} percobaan ulang berhasil (retries delivered), "
        f"{stats.dead} kiriman gagal permanen baru (new dead letters)"
    )


def cmd_worker(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_FAILED, EXIT_OK, run
    from rtbook.core.dispatch.worker import run_worker
    from rtbook.core.plugins.registry import PluginRegistry

    options = _worker_options(args)  # bad options fail before anything else
    _setup_logging()
    log = logging.getLogger("rtbook.worker")
    registry = PluginRegistry.load()

    async def work(db: Database) -> WorkerStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        try:
            if not args.once:
                log.info(
                    "worker berjalan, hentikan dengan Ctrl-C atau SIGTERM "
                    "(worker running; stop with Ctrl-C or SIGTERM); plugin: %s",
                    ", ".join(sorted(registry.names())) or "-",
                )
            return await run_worker(db, registry, once=args.once, stop=stop, options=options)
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    stats = run(work)
    if args.once:
        print(f"rtbook worker --once: {_stats_line(stats)}")
    else:
        log.info("worker berhenti (worker stopped): %s", _stats_line(stats))
    return EXIT_FAILED if stats.errors else EXIT_OK


def _moment(value: datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"


def print_dead_letters(page: DeadLetterPage) -> None:
    if not page.items:
        print("tidak ada kiriman gagal (no dead letters)")
        return
    header = ("ID", "PLUGIN", "CITY", "SEQ", "STATUS", "ATTEMPTS", "NEXT_ATTEMPT", "LAST_ERROR")
    rows = [
        (
            str(d.id),
            d.plugin,
            d.city,
            str(d.seq),
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


def cmd_deadletters_list(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, run
    from rtbook.core.dispatch.failures import list_dead_letters

    async def work(db: Database) -> DeadLetterPage:
        return await db.read(
            lambda conn: list_dead_letters(
                conn,
                city=args.city,
                plugin=args.plugin,
                status=args.status,
                after=args.after,
                limit=args.limit,
            )
        )

    print_dead_letters(run(work))
    return EXIT_OK


def cmd_deadletters_replay(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, write
    from rtbook.core.dispatch.failures import replay_dead_letter

    replayed = write(lambda conn: replay_dead_letter(conn, args.id, datetime.now(UTC)))
    print(
        f"kiriman gagal {replayed.id} dijadwalkan ulang sekarang (replayed, due now): "
        f"plugin {replayed.plugin}, kota (city) {replayed.city}, peristiwa (event) "
        f"{replayed.event_id}; dikirim saat worker berjalan (delivered when the worker runs)"
    )
    return EXIT_OK


def register_worker_commands(commands: Any) -> None:
    """Add ``worker`` and ``deadletters`` to the ``rtbook`` parser's subcommands."""
    from rtbook.core.dispatch.failures import LIST_LIMIT_DEFAULT, LIST_STATUSES
    from rtbook.core.dispatch.options import RetryPolicy, WorkerOptions

    retry, defaults = RetryPolicy(), WorkerOptions()
    p = commands.add_parser(
        "worker", help="kirim peristiwa ke plugin (dispatch feed events to plugins)"
    )
    p.add_argument(
        "--once", action="store_true", help="kerjakan yang jatuh tempo lalu keluar (do what is due)"
    )
    p.add_argument(
        "--poll",
        type=_positive_float,
        default=defaults.poll_seconds,
        metavar="SECONDS",
        help=f"jeda antar-pemeriksaan (pause between polls, default {defaults.poll_seconds:g})",
    )
    p.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=retry.max_attempts,
        metavar="N",
        help=f"percobaan per peristiwa (calls per event before a dead letter, "
        f"default {retry.max_attempts})",
    )
    p.add_argument(
        "--retry-base",
        type=_positive_float,
        default=retry.base_seconds,
        metavar="SECONDS",
        help="jeda percobaan ulang pertama "
        f"(first backoff ceiling, default {retry.base_seconds:g})",
    )
    p.add_argument(
        "--retry-cap",
        type=_positive_float,
        default=retry.cap_seconds,
        metavar="SECONDS",
        help=f"jeda terpanjang (longest backoff, default {retry.cap_seconds:g})",
    )
    p.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=defaults.checkpoint_every,
        metavar="N",
        help="tulis checkpoint tiap N peristiwa; setelah crash paling banyak N dikirim ulang "
        f"(checkpoint every N events: at most N re-sent after a crash, "
        f"default {defaults.checkpoint_every})",
    )
    p.set_defaults(handler=cmd_worker)

    dead = commands.add_parser(
        "deadletters", help="kiriman gagal ke plugin (failed plugin deliveries)"
    )
    dead_cmds = dead.add_subparsers(dest="action", metavar="ACTION")
    p = dead_cmds.add_parser("list", help="daftar kiriman gagal (list dead letters)")
    p.add_argument("--city", metavar="CITY_CODE")
    p.add_argument("--plugin", metavar="NAME")
    p.add_argument("--status", choices=LIST_STATUSES, default="dead")
    p.add_argument("--after", type=_positive_int, metavar="ID")
    p.add_argument("--limit", type=_positive_int, default=LIST_LIMIT_DEFAULT, metavar="N")
    p.set_defaults(handler=cmd_deadletters_list)
    p = dead_cmds.add_parser("replay", help="kirim ulang (replay a dead letter)")
    p.add_argument("id", type=_positive_int, metavar="ID")
    p.set_defaults(handler=cmd_deadletters_replay)
