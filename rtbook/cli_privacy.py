"""Privacy and account commands (docs/privacy.md):

- ``rtbook privacy report NIK [--output FILE]``: the resident access report (JSON);
- ``rtbook retention purge --years N [--city CODE] [--dry-run]``;
- ``rtbook token list USERNAME`` and ``rtbook token revoke USERNAME (--all | PREFIX)``;
- ``rtbook user reset-password USERNAME [--password-stdin]``.

The operator running the CLI is a trusted internal caller: audit rows name no user.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtbook.cli_format import moment, positive_int, print_table
from rtbook.core.auth import TOKEN_PREFIX
from rtbook.core.errors import RtbookError

if TYPE_CHECKING:
    from rtbook.core.db import Connection, Database
    from rtbook.core.retention import CityPurge

PREFIX_MAX = 12  # api_token.prefix


def _output_path(value: str) -> Path:
    path = Path(value)
    if path.is_dir() or not path.parent.is_dir():
        raise RtbookError(
            f"--output harus berkas di folder yang ada (must be a file in an existing folder): "
            f"{value[:200]}"
        )
    return path


def cmd_privacy_report(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, write
    from rtbook.core.privacy import access_report, check_nik, encode_report

    nik = check_nik(args.nik)
    output = _output_path(args.output) if args.output else None
    text = encode_report(write(lambda conn: access_report(conn, nik)))
    if output is None:
        sys.stdout.write(text.decode("utf-8") + "\n")
        return EXIT_OK
    try:  # personal data: readable by its owner only
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(text + b"\n")
    except OSError as exc:
        raise RtbookError(
            f"berkas tidak bisa ditulis (cannot write the file): {exc.strerror}"
        ) from None
    print(f"laporan akses ditulis ke (access report written to) {output}")
    return EXIT_OK


def _print_purge(result: CityPurge) -> None:
    label = {"deceased": "meninggal (deceased)", "moved_out": "pindah (moved out)"}
    verb = "akan dihapus (would be purged)" if result.dry_run else "dihapus (purged)"
    print(
        f"kota (city) {result.city_code}: {len(result.residents)} penduduk {verb}, "
        f"sebelum (before) {result.cutoff.isoformat()}"
    )
    for c in result.residents:
        print(f"  {c.masked} {label.get(c.status, c.status)} {c.gone_on.isoformat()}")


def cmd_retention_purge(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, run
    from rtbook.core.regions import check_city_code
    from rtbook.core.retention import check_years, cities_to_scan, purge_city

    years = check_years(args.years)
    city = check_city_code(args.city) if args.city is not None else None

    async def work(db: Database) -> list[CityPurge]:
        results = []
        for code in await db.read(lambda conn: cities_to_scan(conn, city)):

            async def unit(conn: Connection, code: str = code) -> CityPurge:
                return await purge_city(conn, code, years, dry_run=args.dry_run)

            results.append(await (db.read(unit) if args.dry_run else db.write(unit)))
        return results

    for result in run(work):
        _print_purge(result)
    return EXIT_OK


def cmd_token_list(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, run
    from rtbook.core.users import TokenInfo, list_tokens, user_scope

    async def work(db: Database) -> list[TokenInfo]:
        async def unit(conn: Connection) -> list[TokenInfo]:
            user_id, _ = await user_scope(conn, args.username)
            return await list_tokens(conn, user_id)

        return await db.read(unit)

    tokens = run(work)
    if not tokens:
        print("tidak ada token (no tokens)")
        return EXIT_OK
    rows = [
        (
            str(t.id),
            t.prefix + "…",
            moment(t.created_at),
            moment(t.last_used_at),
            "dicabut (revoked) " + moment(t.revoked_at) if t.revoked_at else "aktif (active)",
        )
        for t in tokens
    ]
    print_table(("ID", "PREFIX", "CREATED", "LAST_USED", "STATUS"), rows)
    return EXIT_OK


def _prefix(args: argparse.Namespace) -> str | None:
    if args.all == (args.prefix is not None):
        raise RtbookError(
            "sebutkan --all atau satu PREFIX token, tidak keduanya "
            "(give either --all or one token PREFIX)"
        )
    if args.all:
        return None
    prefix = args.prefix.strip().rstrip("…")
    if not prefix.startswith(TOKEN_PREFIX) or not len(TOKEN_PREFIX) < len(prefix) <= PREFIX_MAX:
        raise RtbookError(
            f"PREFIX token seperti di rtbook token list, mis. {TOKEN_PREFIX}AbC123, "
            f"paling panjang {PREFIX_MAX} karakter; jangan tempel token utuh "
            f"(a prefix as shown by token list, at most {PREFIX_MAX} chars, never the token)"
        )
    return prefix


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, write
    from rtbook.core.users import revoke_user_tokens

    prefix = _prefix(args)
    revoked = write(lambda conn: revoke_user_tokens(conn, None, args.username, prefix))
    print(
        f"{len(revoked)} token dicabut (tokens revoked) untuk (for) {args.username}: "
        + ", ".join(p + "…" for p in revoked)
    )
    return EXIT_OK


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    from rtbook.cli import EXIT_OK, read_password, write
    from rtbook.core.passwords import hash_password
    from rtbook.core.users import check_new_password, generated_password, reset_password

    given = read_password() if args.password_stdin else None
    password = check_new_password(
        given if given is not None else generated_password(), args.username
    )
    password_hash = hash_password(password)
    now = datetime.now(UTC)
    write(lambda conn: reset_password(conn, None, args.username, password_hash, now=now))
    print(
        f"kata sandi {args.username} diganti (password reset); sesi web diakhiri (sessions ended)"
    )
    if given is None:
        print(f"kata sandi baru, tampil sekali ini (new password, shown once): {password}")
    return EXIT_OK


def register_privacy_commands(commands: Any, *, token: Any, user: Any) -> None:
    """Add ``privacy`` and ``retention`` to the ``rtbook`` parser's subcommands, and
    ``list``/``revoke`` to ``token``, ``reset-password`` to ``user``."""
    parser = commands.add_parser("privacy", help="privasi data penduduk (resident privacy)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "report", help="laporan akses data seorang penduduk, JSON (resident access report)"
    )
    p.add_argument("nik", metavar="NIK")
    p.add_argument("--output", metavar="FILE", help="tulis ke berkas (write to a file)")
    p.set_defaults(handler=cmd_privacy_report)

    parser = commands.add_parser("retention", help="retensi data (data retention)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "purge",
        help="hapus penduduk meninggal/pindah lebih dari N tahun lalu "
        "(purge residents deceased or moved out more than N years ago)",
    )
    p.add_argument("--years", type=positive_int, required=True, metavar="N")
    p.add_argument("--city", metavar="CITY_CODE")
    p.add_argument("--dry-run", action="store_true", help="hanya tampilkan (only list)")
    p.set_defaults(handler=cmd_retention_purge)

    p = token.add_parser("list", help="token pengguna, hanya prefiks (a user's tokens, prefixes)")
    p.add_argument("username", metavar="USERNAME")
    p.set_defaults(handler=cmd_token_list)
    p = token.add_parser("revoke", help="cabut token (revoke tokens)")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("prefix", metavar="TOKEN_PREFIX", nargs="?")
    p.add_argument("--all", action="store_true", help="semua token aktif (every active token)")
    p.set_defaults(handler=cmd_token_revoke)

    p = user.add_parser(
        "reset-password",
        help="atur ulang kata sandi; tanpa --password-stdin dibuatkan (reset a password; "
        "generated and printed once without --password-stdin)",
    )
    p.add_argument("username", metavar="USERNAME")
    p.add_argument(
        "--password-stdin", action="store_true", help="baca kata sandi dari stdin (one line)"
    )
    p.set_defaults(handler=cmd_user_reset_password)
