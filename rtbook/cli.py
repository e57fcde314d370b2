"""The ``rtbook`` command (CONTRACT.md, Command line).

Every command acts on RTBOOK_DATABASE_URL and creates the schema when it is missing.
Input is checked before anything is written, and each command writes in one
transaction, so bad input changes nothing. Failures print one line on stderr,
Bahasa Indonesia first, English in brackets; exit codes: 0 done, 1 an import in
which every row was refused or an unexpected error, 2 bad input or usage, 130 Ctrl-C.
``RTBOOK_DEBUG=1`` adds the traceback of unexpected errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from rtbook.cli_audit import register_audit_commands
from rtbook.cli_notify import register_notify_commands
from rtbook.cli_plugins import register_plugin_commands
from rtbook.cli_privacy import register_privacy_commands
from rtbook.cli_worker import register_worker_commands
from rtbook.core.db import Connection, Database, make_database
from rtbook.core.errors import RtbookError
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.schema import ensure_schema
from rtbook.core.settings import DatabaseURL, database_url

if TYPE_CHECKING:
    from rtbook.core.importer import ImportReport

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UsageError(RtbookError):
    """The command line itself is wrong (unknown command, missing option)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage problem as one line instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"argumen tidak sah (invalid arguments): {message}")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str) -> None:
    print(f"rtbook: {_one_line(message)}", file=sys.stderr)


# -- running work against the database ---------------------------------------------------


@asynccontextmanager
async def opened(url: DatabaseURL) -> AsyncIterator[Database]:
    db = make_database(url)
    try:
        await db.open()
    except Exception as exc:
        raise RtbookError(
            f"basis data tidak bisa dibuka (cannot open the database): {type(exc).__name__}: {exc}"
        ) from exc
    try:
        yield db
    finally:
        await db.close()


async def ready(db: Database, url: DatabaseURL) -> bool:
    """Create or update the schema; True when migrations ran. A database that cannot
    be used (not a database file, no permission) is a one-line RtbookError."""
    try:
        return await ensure_schema(db, url, PluginRegistry.load(log_failures=False))
    except RtbookError:
        raise
    except Exception as exc:
        raise RtbookError(
            f"basis data tidak bisa dipakai (cannot use the database): {type(exc).__name__}: {exc}"
        ) from exc


async def with_database(
    work: Callable[[Database], Awaitable[T]], url: DatabaseURL | None = None
) -> T:
    """Open the configured database, bring its schema up to date, run ``work``."""
    url = url or database_url()
    async with opened(url) as db:
        await ready(db, url)
        return await work(db)


def run(work: Callable[[Database], Awaitable[T]], url: DatabaseURL | None = None) -> T:
    return asyncio.run(with_database(work, url))


def write(unit: Callable[[Connection], Awaitable[T]]) -> T:
    """Run one unit of work in one write transaction on the configured database."""

    async def work(db: Database) -> T:
        return await db.write(unit)

    return run(work)


# -- commands --------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    url = database_url()

    async def migrate() -> bool:
        async with opened(url) as db:
            return await ready(db, url)

    changed = asyncio.run(migrate())
    if changed:
        print("skema basis data dibuat/diperbarui (database schema created/updated)")
    else:
        print("skema basis data sudah terbaru (database schema already up to date)")
    return EXIT_OK


def cmd_city_add(args: argparse.Namespace) -> int:
    from rtbook.core.regions import (
        add_city,
        check_city_code,
        default_timezone,
        read_city_regions,
        resolve_timezone,
    )

    code = check_city_code(args.city_code)
    zone = resolve_timezone(args.timezone) if args.timezone else default_timezone(code[:2])
    regions = read_city_regions(Path(args.regions), code)
    added = write(lambda conn: add_city(conn, regions, zone))
    print(
        f"{added.name} ({added.code}) ditambahkan (city added): {added.kecamatan} kecamatan, "
        f"{added.kelurahan} kelurahan, zona waktu (timezone) {added.timezone}"
    )
    return EXIT_OK


def cmd_rt_add(args: argparse.Namespace) -> int:
    from rtbook.core.rts import add_rts, parse_rt_codes

    parse_rt_codes(args.rt_codes)  # format first: a typo never opens the database
    added = write(lambda conn: add_rts(conn, args.rt_codes))
    print(f"{len(added)} RT ditambahkan (RTs added): {', '.join(r.code for r in added)}")
    return EXIT_OK


def read_password() -> str:
    """One line from stdin (without echo when stdin is a terminal)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass("Kata sandi (password): ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def cmd_user_add(args: argparse.Namespace) -> int:
    from rtbook.core.passwords import check_new_password
    from rtbook.core.users import insert_user, new_user

    password = read_password() if args.password_stdin else None
    if password is not None and (problem := check_new_password(password, args.username)):
        raise RtbookError(problem)
    user = new_user(
        args.username,
        args.role,
        city=args.city,
        rts=args.rt or (),
        areas=args.area or (),
        whatsapp=args.whatsapp,
        email=args.email,
        password=password,
    )
    user_id = write(lambda conn: insert_user(conn, user))
    print(f"pengguna {user.username} ({user.role.value}) dibuat (user created), id {user_id}")
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    from rtbook.core import audit
    from rtbook.core.auth import TOKEN_PREFIX, create_token
    from rtbook.core.users import require_user_id

    async def unit(conn: Connection) -> str:
        user_id = await require_user_id(conn, args.username)
        token = await create_token(conn, user_id)
        city = await conn.fetchval("SELECT city_code FROM rtbook_user WHERE id = $1", user_id)
        prefix = token[: len(TOKEN_PREFIX) + 6]  # as stored in api_token.prefix
        detail = {"user_id": user_id, "prefix": prefix, "via": "cli"}
        await audit.record(conn, None, "token.create", args.username, city, detail)
        return token

    print(write(unit))
    return EXIT_OK


def print_import_report(report: ImportReport) -> None:
    refused = len(report.bad_rows)
    print(
        f"{report.rows} baris data: {report.imported} diimpor (imported), {refused} ditolak "
        f"(refused); {report.households_added} KK baru (new households)"
        + (
            f", {report.heads_filled} kepala KK dilengkapi (heads filled)"
            if report.heads_filled
            else ""
        )
    )
    for problem in report.bad_rows:
        print(problem)
    if report.warning_rows:
        print(
            f"{report.warning_rows} baris diimpor dengan peringatan (rows imported with warnings):"
        )
        for problem in report.warnings:
            print(f"  {problem}")
        hidden = report.warning_rows - len(report.warnings)
        if hidden > 0:
            print(f"  ... dan {hidden} baris lagi (and {hidden} more rows)")


def cmd_import_residents(args: argparse.Namespace) -> int:
    from rtbook.core.importer import import_residents, read_resident_csv
    from rtbook.core.regions import check_city_code

    city = check_city_code(args.city)
    with read_resident_csv(args.file) as rows:  # header checked before the database opens

        async def work(db: Database) -> ImportReport:
            return await import_residents(db, rows, city)

        report = run(work)
    print_import_report(report)
    if report.all_bad:
        fail("tidak ada baris yang diimpor (no row was imported)")
        return EXIT_FAILED
    return EXIT_OK


def check_port_free(host: str, port: int) -> None:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise RtbookError(
                f"tidak bisa memakai {host}:{port} (cannot listen there): {exc.strerror}; "
                "pilih --port lain (choose another --port)"
            ) from None


def serve_app(url: DatabaseURL, host: str, port: int) -> None:
    """Run the web app in the foreground until Ctrl-C."""
    import uvicorn

    from rtbook.web.access_log import mask_access_log
    from rtbook.web.app import create_app

    config = uvicorn.Config(create_app(url), host=host, port=port)
    # after uvicorn configured its loggers: the access log never carries a full NIK
    mask_access_log()
    # Ctrl-C is how the server is stopped (as uvicorn.run does)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()


def cmd_serve(args: argparse.Namespace) -> int:
    url = database_url()
    check_port_free(args.host, args.port)

    async def nothing(db: Database) -> None:
        return None

    run(nothing, url)  # creates or updates the schema
    serve_app(url, args.host, args.port)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from rtbook.demo import run_demo

    return run_demo(port=args.port, regions=args.regions)


# -- the parser ------------------------------------------------------------------------


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port harus 1-65535 (port must be 1-65535): {value}")
    return port


def build_parser() -> argparse.ArgumentParser:
    from rtbook import __version__
    from rtbook.core.users import ROLES

    parser = _Parser(
        prog="rtbook",
        description="Buku induk RT yang selaras dengan Dukcapil "
        "(the RT resident book kept in sync with the civil registry).",
    )
    parser.add_argument("--version", action="version", version=f"rtbook {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("migrate", help="buat/perbarui skema (create or update the schema)")
    p.set_defaults(handler=cmd_migrate)

    city = commands.add_parser("city", help="kota/kabupaten (cities)")
    city_cmds = city.add_subparsers(dest="action", metavar="ACTION")
    p = city_cmds.add_parser("add", help="tambah kota beserta wilayahnya (add a city)")
    p.add_argument("city_code", metavar="CITY_CODE")
    p.add_argument("--regions", metavar="FILE", required=True, help="CSV kode,nama Kemendagri")
    p.add_argument("--timezone", metavar="TZ", help="WIB | WITA | WIT | nama IANA")
    p.set_defaults(handler=cmd_city_add)

    rt = commands.add_parser("rt", help="RT")
    rt_cmds = rt.add_subparsers(dest="action", metavar="ACTION")
    p = rt_cmds.add_parser("add", help="tambah RT (add RTs)")
    p.add_argument("rt_codes", metavar="RT_CODE", nargs="+")
    p.set_defaults(handler=cmd_rt_add)

    user = commands.add_parser("user", help="pengguna (users)")
    user_cmds = user.add_subparsers(dest="action", metavar="ACTION")
    p = user_cmds.add_parser("add", help="tambah pengguna (add a user)")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--city", metavar="CITY_CODE")
    p.add_argument("--rt", metavar="RT_CODE", nargs="+", action="extend")
    p.add_argument("--area", metavar="REGION_CODE", nargs="+", action="extend")
    p.add_argument("--whatsapp", metavar="PHONE")
    p.add_argument("--email", metavar="ADDRESS")
    p.add_argument(
        "--password-stdin", action="store_true", help="baca kata sandi dari stdin (one line)"
    )
    p.set_defaults(handler=cmd_user_add)

    token = commands.add_parser("token", help="token API (API tokens)")
    token_cmds = token.add_subparsers(dest="action", metavar="ACTION")
    p = token_cmds.add_parser("create", help="buat token baru (create a new token)")
    p.add_argument("username", metavar="USERNAME")
    p.set_defaults(handler=cmd_token_create)

    imp = commands.add_parser("import", help="impor data (import data)")
    imp_cmds = imp.add_subparsers(dest="action", metavar="ACTION")
    p = imp_cmds.add_parser("residents", help="impor penduduk dari CSV (import residents)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--city", metavar="CITY_CODE", required=True)
    p.set_defaults(handler=cmd_import_residents)

    p = commands.add_parser("serve", help="jalankan server web (run the web server)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8000)
    p.set_defaults(handler=cmd_serve)

    p = commands.add_parser("demo", help="kota contoh + server (a demo city and the server)")
    p.add_argument("--port", type=_port, default=8000)
    p.add_argument("--regions", metavar="FILE", help="CSV kode,nama Kemendagri")
    p.set_defaults(handler=cmd_demo)
    register_plugin_commands(commands)
    register_worker_commands(commands)
    register_notify_commands(commands)
    register_audit_commands(commands)
    register_privacy_commands(commands, token=token_cmds, user=user_cmds)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        handler = getattr(args, "handler", None)
        if handler is None:
            raise UsageError(
                "perintah tidak lengkap, lihat rtbook --help (incomplete command, see --help)"
            )
        return int(handler(args))
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except RtbookError as exc:
        fail(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        fail("dihentikan (interrupted)")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("RTBOOK_DEBUG") == "1":
            traceback.print_exc()
        fail(f"galat tak terduga (unexpected error): {type(exc).__name__}: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
