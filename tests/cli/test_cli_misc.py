"""The command as a whole: migrate, usage errors, one-line failures, a real process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rtbook.core.db import make_database
from rtbook.core.schema import schema_is_current
from rtbook.core.settings import DatabaseURL

RTBOOK = Path(sys.executable).parent / "rtbook"


def _current(url: DatabaseURL) -> bool:
    async def go() -> bool:
        db = make_database(url)
        await db.open()
        try:
            return await schema_is_current(db)
        finally:
            await db.close()

    return asyncio.run(go())


def test_migrate_creates_the_schema_on_an_empty_path(rtbook, tmp_path, monkeypatch) -> None:
    path = tmp_path / "new" / "dir" / "rtbook.db"
    monkeypatch.setenv("RTBOOK_DATABASE_URL", f"sqlite:///{path}")

    result = rtbook("migrate")

    assert result.code == 0, result.err
    assert "dibuat/diperbarui" in result.out
    assert path.exists()
    assert _current(DatabaseURL.parse(f"sqlite:///{path}"))
    again = rtbook("migrate")
    assert again.code == 0 and "sudah terbaru" in again.out


def test_migrate_on_a_current_database(rtbook, db_env: DatabaseURL) -> None:
    result = rtbook("migrate")
    assert result.code == 0, result.err
    assert "sudah terbaru" in result.out


def test_any_command_creates_the_schema(rtbook, tmp_path, monkeypatch, regions_file) -> None:
    path = tmp_path / "fresh.db"
    monkeypatch.setenv("RTBOOK_DATABASE_URL", f"sqlite:///{path}")
    result = rtbook("city", "add", "64.71", "--regions", str(regions_file))
    assert result.code == 0, result.err
    assert _current(DatabaseURL.parse(f"sqlite:///{path}"))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["city"],
        ["city", "add"],
        ["city", "add", "64.71"],
        ["user", "add", "budi"],
        ["user", "add", "budi", "--role", "raja"],
        ["import", "residents", "x.csv"],
        ["serve", "--port", "99999"],
        ["rt", "add"],
    ],
)
def test_usage_errors_are_one_line(rtbook, args: list[str], tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RTBOOK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = rtbook(*args)
    assert result.code == 2
    assert result.one_error_line, result.err
    assert result.err.startswith("rtbook: ")
    assert not (tmp_path / "x.db").exists()  # nothing was opened, let alone written


def test_help_exits_zero(rtbook) -> None:
    result = rtbook("--help")
    assert result.code == 0
    assert "city" in result.out and "import" in result.out


def test_unusable_database_url_is_one_line(rtbook, monkeypatch) -> None:
    monkeypatch.setenv("RTBOOK_DATABASE_URL", "mysql://localhost/rtbook")
    result = rtbook("migrate")
    assert result.code == 2 and result.one_error_line
    assert "RTBOOK_DATABASE_URL" in result.err


def test_unreachable_postgres_is_one_line(rtbook, monkeypatch) -> None:
    monkeypatch.setenv("RTBOOK_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/none")
    result = rtbook("token", "create", "budi")
    assert result.code == 2 and result.one_error_line, result.err
    assert "basis data tidak bisa dibuka" in result.err
    assert "Traceback" not in result.err


def _process(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, RTBOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}", **env)
    environment.pop("RTBOOK_DEBUG", None)
    return subprocess.run(
        [str(RTBOOK), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def test_installed_command_with_a_bad_command(tmp_path: Path) -> None:
    proc = _process(["frobnicate"], tmp_path)
    assert proc.returncode != 0
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "frobnicate" in proc.stderr
    assert proc.stdout == ""


def test_installed_command_does_real_work(tmp_path: Path, regions_file: Path) -> None:
    proc = _process(["city", "add", "64.71", "--regions", str(regions_file)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "34 kelurahan" in proc.stdout
    proc = _process(["rt", "add", "64.71.06.1005-003-005"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = _process(["rt", "add", "64.71.06.1005-003-005"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "rtbook: RT 64.71.06.1005-003-005 sudah ada (already added)"
    ]


def test_installed_command_missing_region_file(tmp_path: Path) -> None:
    proc = _process(["city", "add", "64.71", "--regions", "missing.csv"], tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "missing.csv" in proc.stderr


def test_a_file_that_is_not_a_database_is_one_line(rtbook, tmp_path, monkeypatch) -> None:
    path = tmp_path / "notes.db"
    path.write_text("bukan basis data\n" * 100)
    monkeypatch.setenv("RTBOOK_DATABASE_URL", f"sqlite:///{path}")
    result = rtbook("migrate")
    assert result.code == 2 and result.one_error_line, result.err
    assert "basis data tidak bisa dipakai" in result.err
    assert path.read_text() == "bukan basis data\n" * 100
