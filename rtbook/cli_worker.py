"""``rtbook worker`` and ``rtbook deadletters`` (docs/worker.md).

    rtbook worker [--once] [--poll SECONDS] [--max-attempts N] [--retry-base SECONDS]
                  [--retry-cap SECONDS] [--checkpoint-every N]
                  [--notify-max-attempts N] [--notify-retry-base SECONDS]
                  [--notify-retry-cap SECONDS] [--notify-lease SECONDS]
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

from rtbook.cli_format import moment, one_line, positive_float, positive_int, print_table

if TYPE_CHECKING:
    from rtbook.core.db import Database
    from rtbook.core.dispatch.failures import DeadLetterPage
    from rtbook.core.dispatch.worker import WorkerStats

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def _notify_options(args: argparse.Namespace) -> Any:
    from rtbook.core.notify.options import NotifyOptions

    base = args.notify_retry_base
    return NotifyOptions(
        max_attempts=args.notify_max_attempts,
        retry_base_seconds=base,
        retry_cap_seconds=max(args.notify_retry_cap, base),
        lease_seconds=args.notify_lease,
    )


def _stats_line(stats: WorkerStats) -> str:
    return (
        f"{stats.delivered} peristiwa terkirim (events delivered), "
        f"{stats.failed} gagal dan dijadwalkan ulang (failed, scheduled for retry), "
        f"{stats.retried} percobaan ulang berhasil (retries delivered), "
        f"{stats.dead} kiriman gagal permanen baru (new dead letters)"
    )


def _notify_line(stats: Any) -> str:
    """The hub's figures of a ``--once`` run (rtbook.core.notify.options.NotifyStats)."""
    return (
        f"{stats.planned} pesan direncanakan (messages planned), "
        f"{stats.sent} terkirim (sent), "
        f"{stats.failed} gagal dan dijadwalkan ulang (failed, scheduled for retry), "
        f"{stats.dead} gagal permanen (dead)"
    )


def cmd_worker(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_FAILED, EXIT_OK, run
    from rtbook.core.dispatch.worker import run_worker
    from rtbook.core.plugins.registry import PluginRegistry

    options = _worker_options(args)  # bad options fail before anything else
    notify_options = _notify_options(args)
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
            return await run_worker(
                db,
                registry,
                once=args.once,
                stop=stop,
                options=options,
                notify_options=notify_options,
            )
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    stats = run(work)
    if args.once:
        print(f"rtbook worker --once: {_stats_line(stats)}")
        if stats.notify is not None:
            print(f"pemberitahuan (notifications): {_notify_line(stats.notify)}")
    else:
        log.info("worker berhenti (worker stopped): %s", _stats_line(stats))
    return EXIT_FAILED if stats.errors else EXIT_OK


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
            moment(d.next_attempt_at),
            one_line(d.last_error),
        )
        for d in page.items
    ]
    print_table(header, rows)
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
    from rtbook.core.notify.options import NotifyOptions

    retry, defaults = RetryPolicy(), WorkerOptions()
    p = commands.add_parser(
        "worker", help="kirim peristiwa ke plugin (dispatch feed events to plugins)"
    )
    p.add_argument(
        "--once", action="store_true", help="kerjakan yang jatuh tempo lalu keluar (do what is due)"
    )
    p.add_argument(
        "--poll",
        type=positive_float,
        default=defaults.poll_seconds,
        metavar="SECONDS",
        help=f"jeda antar-pemeriksaan (pause between polls, default {defaults.poll_seconds:g})",
    )
    p.add_argument(
        "--max-attempts",
        type=positive_int,
        default=retry.max_attempts,
        metavar="N",
        help=f"percobaan per peristiwa (calls per event before a dead letter, "
        f"default {retry.max_attempts})",
    )
    p.add_argument(
        "--retry-base",
        type=positive_float,
        default=retry.base_seconds,
        metavar="SECONDS",
        help="jeda percobaan ulang pertama "
        f"(first backoff ceiling, default {retry.base_seconds:g})",
    )
    p.add_argument(
        "--retry-cap",
        type=positive_float,
        default=retry.cap_seconds,
        metavar="SECONDS",
        help=f"jeda terpanjang (longest backoff, default {retry.cap_seconds:g})",
    )
    p.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=defaults.checkpoint_every,
        metavar="N",
        help="tulis checkpoint tiap N peristiwa; setelah crash paling banyak N dikirim ulang "
        f"(checkpoint every N events: at most N re-sent after a crash, "
        f"default {defaults.checkpoint_every})",
    )
    hub = NotifyOptions()
    p.add_argument(
        "--notify-max-attempts",
        type=positive_int,
        default=hub.max_attempts,
        metavar="N",
        help=f"percobaan per pesan sebelum dead (sends per message before it is dead, "
        f"default {hub.max_attempts})",
    )
    p.add_argument(
        "--notify-retry-base",
        type=positive_float,
        default=hub.retry_base_seconds,
        metavar="SECONDS",
        help=f"jeda kirim ulang pesan pertama (first message backoff ceiling, "
        f"default {hub.retry_base_seconds:g})",
    )
    p.add_argument(
        "--notify-retry-cap",
        type=positive_float,
        default=hub.retry_cap_seconds,
        metavar="SECONDS",
        help=f"jeda kirim ulang terpanjang (longest message backoff, "
        f"default {hub.retry_cap_seconds:g})",
    )
    p.add_argument(
        "--notify-lease",
        type=positive_float,
        default=hub.lease_seconds,
        metavar="SECONDS",
        help="berapa lama pesan yang sedang dikirim dipegang worker; setelah crash pesan "
        f"itu dikirim lagi sesudahnya (how long a message being sent is held; after a "
        f"crash it is sent again once this passes, default {hub.lease_seconds:g})",
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
    p.add_argument("--after", type=positive_int, metavar="ID")
    p.add_argument("--limit", type=positive_int, default=LIST_LIMIT_DEFAULT, metavar="N")
    p.set_defaults(handler=cmd_deadletters_list)
    p = dead_cmds.add_parser("replay", help="kirim ulang (replay a dead letter)")
    p.add_argument("id", type=positive_int, metavar="ID")
    p.set_defaults(handler=cmd_deadletters_replay)
