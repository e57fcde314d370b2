"""``rtbook audit export``: CSV and JSONL parsed back, a city's rows only, date
bounds, paging through a long trail, bad input as one line and exit 2. Both backends."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_support import FULL_NIK, add_rows
from factories import CITY, RT_A, standard_city

from rtbook import cli_audit
from rtbook.cli import main
from rtbook.core.db import make_database
from rtbook.core.settings import DatabaseURL

RTBOOK = Path(sys.executable).parent / "rtbook"
DAY1 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)

ROWS = [
    ("residents.list", RT_A, CITY, "head_a", DAY1),
    ("resident.read", "3171012345678901", CITY, "city_admin", DAY2),
    ("residents.list", "64.72.01.1001-001-001", "64.72", "head_other_city", DAY2),
    ("auth.login_failed", None, None, "nobody", DAY2),
]


@pytest.fixture
def trail(db_env: DatabaseURL) -> DatabaseURL:
    import asyncio

    async def city() -> None:
        async with make_database(db_env) as db:
            await db.write(standard_city)

    asyncio.run(city())
    add_rows(db_env, ROWS)
    return db_env


def export(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["audit", "export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_to_a_file_parses_back(trail, tmp_path: Path, capsys) -> None:
    target = tmp_path / "audit.csv"
    code, out, _ = export(capsys, "--output", str(target))
    assert code == 0 and "4 baris" in out
    with target.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "at", "user", "action", "target", "scope", "detail"]
    assert [(r["user"], r["action"], r["scope"]) for r in rows] == [
        ("head_a", "residents.list", CITY),
        ("city_admin", "resident.read", CITY),
        ("head_other_city", "residents.list", "64.72"),
        ("nobody", "auth.login_failed", ""),
    ]
    assert datetime.fromisoformat(rows[0]["at"]) == DAY1
    assert rows[1]["target"] == "************8901"
    assert json.loads(rows[0]["detail"]) == {"n": 1}
    assert not FULL_NIK.search(target.read_text(encoding="utf-8"))
    assert not list(tmp_path.glob(".*.part"))


def test_jsonl_of_one_city_between_dates(trail, tmp_path: Path, capsys) -> None:
    target = tmp_path / "audit.jsonl"
    code, _, _ = export(
        capsys,
        "--city",
        CITY,
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-02",
        "--format",
        "jsonl",
        "--output",
        str(target),
    )
    assert code == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    assert [(i["user"], i["action"], i["target"], i["scope"]) for i in items] == [
        ("city_admin", "resident.read", "************8901", CITY)
    ]
    assert items[0]["at"] == "2026-11-02T12:30:00Z"
    code, _, _ = export(capsys, "--until", "2026-11-01", "--format", "jsonl", "-o", str(target))
    assert code == 0
    assert [json.loads(x)["user"] for x in target.read_text().splitlines()] == ["head_a"]


def test_a_long_trail_goes_out_page_by_page(trail, capsys, monkeypatch) -> None:
    add_rows(trail, [("events.list", RT_A, CITY, f"u{n}", DAY2) for n in range(23)])
    monkeypatch.setattr(cli_audit, "EXPORT_PAGE", 5)
    code, out, err = export(capsys, "--format", "jsonl")
    assert code == 0 and "27 baris" in err
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert len(ids) == 27 and ids == sorted(set(ids))


def test_csv_to_stdout_from_a_real_process(trail) -> None:
    done = subprocess.run(
        [str(RTBOOK), "audit", "export", "--city", "64.72"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["user"], r["scope"]) for r in rows] == [("head_other_city", "64.72")]


@pytest.mark.parametrize(
    "args",
    [
        ("--since", "kemarin"),
        ("--until", "2026-02-30"),
        ("--format", "xml"),
        ("--city", "99.99"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(trail, tmp_path: Path, capsys, args) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = export(capsys, *args, "--output", str(folder / "out.csv"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("rtbook: ")
    assert not list(folder.iterdir())
