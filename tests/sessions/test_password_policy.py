"""The policy for new passwords (>= 8 characters, not a common one, not the username),
in rtbook.core.passwords and on ``rtbook user add --password-stdin``."""

from __future__ import annotations

import io
import sys

import pytest
from sessions_support import sql

from rtbook.cli import main
from rtbook.core.passwords import check_new_password, common_passwords
from rtbook.core.settings import DatabaseURL


def test_the_common_password_list_ships_with_a_few_thousand_entries() -> None:
    common = common_passwords()
    assert 3000 <= len(common) <= 20000
    assert {"password", "12345678", "qwertyuiop", "iloveyou", "rahasia123"} <= common
    assert all(len(p) >= 8 and p == p.lower() for p in common)


@pytest.mark.parametrize(
    ("password", "username", "reason"),
    [
        ("pendek", "budi", "minimal 8"),
        ("1234567", "budi", "minimal 8"),
        ("password", "budi", "terlalu umum"),
        ("PassWord", "budi", "terlalu umum"),
        ("qwertyuiop", "budi", "terlalu umum"),
        ("bismillah123", "budi", "terlalu umum"),
        ("budi.santoso", "budi.santoso", "nama pengguna"),
        ("Budi.Santoso", "budi.santoso", "nama pengguna"),
        ("kunci-rumah-biru-7", "budi", None),
        ("jalan mawar nomor 12", "budi", None),
    ],
)
def test_check_new_password(password: str, username: str, reason: str | None) -> None:
    problem = check_new_password(password, username)
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem and "\n" not in problem


def run_cli(
    args: list[str], stdin: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("pendek", "minimal 8"),
        ("iloveyou", "terlalu umum"),
        ("Password123", "terlalu umum"),
        ("budi.santoso", "nama pengguna"),
    ],
)
def test_user_add_refuses_a_weak_password_with_one_line(
    db_env: DatabaseURL,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    reason: str,
) -> None:
    args = ["user", "add", "budi.santoso", "--role", "admin", "--password-stdin"]
    code, err = run_cli(args, password + "\n", capsys, monkeypatch)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and reason in lines[0], err
    assert password not in err
    assert sql(db_env, "SELECT username FROM rtbook_user") == []


def test_user_add_accepts_a_good_password(
    db_env: DatabaseURL, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["user", "add", "budi.santoso", "--role", "admin", "--password-stdin"]
    code, err = run_cli(args, "kunci-rumah-biru-7\n", capsys, monkeypatch)
    assert code == 0, err
    rows = sql(db_env, "SELECT username, password_hash FROM rtbook_user")
    assert rows[0]["username"] == "budi.santoso"
    assert rows[0]["password_hash"].startswith("$argon2id$")
