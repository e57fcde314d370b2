"""rtbook plugins list | enable | disable (CONTRACT.md, Command line), on both
backends: exit 2 with one line and nothing changed on bad input, secrets masked."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from factories import CITY
from plugins_support import OTHER_CITY, run_cli, seed, sql

SECRET = "smtp-pass-77x1"


@pytest.fixture
def cities(db_env, sample_plugin):
    asyncio.run(seed(db_env, event_seq=5))
    return db_env


@pytest.fixture
def rtbook(capsys, monkeypatch):
    return lambda *args: run_cli(capsys, monkeypatch, *args)


def settings_rows(url) -> list[dict]:
    rows = sql(
        url,
        "SELECT city_code, plugin, enabled, config, start_seq FROM plugin_setting"
        " ORDER BY city_code, plugin",
    )
    for row in rows:
        row["enabled"] = bool(row["enabled"])
        row["config"] = msgspec.json.decode(row["config"])
    return rows


def test_list_installed_plugins(rtbook, cities) -> None:
    result = rtbook("plugins", "list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("sample 0.1") and "Contoh plugin" in lines[0]
    assert lines[1].startswith("sample_async 0.1")


def test_enable_list_disable(rtbook, cities) -> None:
    config = json.dumps({"label": "bpn", "token": SECRET})
    result = rtbook("plugins", "enable", "sample", "--city", CITY, "--config", config)
    assert result.code == 0, result.err
    assert "aktif" in result.out and SECRET not in result.out and '"***"' in result.out
    [row] = settings_rows(cities)
    assert (row["city_code"], row["plugin"], row["enabled"], row["start_seq"]) == (
        CITY,
        "sample",
        True,
        5,
    )
    assert row["config"]["token"] == SECRET and row["config"]["label"] == "bpn"

    listed = rtbook("plugins", "list", "--city", CITY)
    assert listed.code == 0, listed.err
    sample_line = next(line for line in listed.out.splitlines() if line.startswith("sample "))
    assert "aktif (enabled)" in sample_line and '"token": "***"' in sample_line
    assert SECRET not in listed.out
    other = next(line for line in listed.out.splitlines() if line.startswith("sample_async"))
    assert "nonaktif (disabled)" in other

    as_json = json.loads(rtbook("plugins", "list", "--city", CITY, "--json").out)
    sample = next(i for i in as_json["items"] if i["name"] == "sample")
    assert sample["enabled"] is True and sample["config"]["token"] == "***"

    result = rtbook("plugins", "disable", "sample", "--city", CITY)
    assert result.code == 0, result.err
    [row] = settings_rows(cities)
    assert row["enabled"] is False and row["config"]["token"] == SECRET


def test_enable_without_config_keeps_stored_secrets(rtbook, cities) -> None:
    config = json.dumps({"token": SECRET})
    assert rtbook("plugins", "enable", "sample", "--city", CITY, "--config", config).code == 0
    assert rtbook("plugins", "disable", "sample", "--city", CITY).code == 0
    assert rtbook("plugins", "enable", "sample", "--city", CITY).code == 0
    again = json.dumps({"token": "***", "label": "new"})
    assert rtbook("plugins", "enable", "sample", "--city", CITY, "--config", again).code == 0
    [row] = settings_rows(cities)
    assert row["config"]["token"] == SECRET and row["config"]["label"] == "new"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("enable", "sample", "--city", CITY, "--config", "{bad json"), "JSON"),
        (("enable", "sample", "--city", CITY, "--config", "[1, 2]"), "objek"),
        (
            ("enable", "sample", "--city", CITY, "--config", '{"label": "", "token": 123456}'),
            "label",
        ),
        (("enable", "nothere", "--city", CITY), "tidak terpasang"),
        (("enable", "sample", "--city", "99.99"), "99.99"),
        (("enable", "sample", "--city", "6471"), "bukan kode kota"),
        (("disable", "nothere", "--city", CITY), "tidak terpasang"),
        (("enable", "sample"), "--city"),
        (("list", "--city", "99.99"), "99.99"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    rtbook, cities, args: tuple[str, ...], words: str
) -> None:
    result = rtbook("plugins", *args)
    assert result.code == 2, result.out
    assert result.one_error_line, result.err
    assert words in result.err
    assert "123456" not in result.err
    assert settings_rows(cities) == []


def test_refused_config_keeps_the_previous_one(rtbook, cities) -> None:
    good = json.dumps({"label": "keep", "token": SECRET})
    assert rtbook("plugins", "enable", "sample", "--city", CITY, "--config", good).code == 0
    before = settings_rows(cities)
    bad = json.dumps({"label": "x" * 41, "token": "other-secret-1"})
    result = rtbook("plugins", "enable", "sample", "--city", CITY, "--config", bad)
    assert result.code == 2 and result.one_error_line
    assert "label" in result.err and "other-secret-1" not in result.err
    assert settings_rows(cities) == before


def test_enabled_in_one_city_only(rtbook, cities) -> None:
    assert rtbook("plugins", "enable", "sample_async", "--city", OTHER_CITY).code == 0
    rows = settings_rows(cities)
    assert [(r["city_code"], r["plugin"], r["enabled"]) for r in rows] == [
        (OTHER_CITY, "sample_async", True)
    ]
    listed = rtbook("plugins", "list", "--city", CITY, "--json")
    assert not any(i["enabled"] for i in json.loads(listed.out)["items"])


def test_failed_plugins_are_listed_with_their_reason(rtbook, cities, broken_plugins) -> None:
    result = rtbook("plugins", "list")
    assert result.code == 0, result.err
    assert "broken GAGAL DIMUAT (failed to load): gagal diimpor" in result.out
    assert "nonexistent_dependency" in result.out
    assert "badhook GAGAL DIMUAT" in result.out
    assert result.out.startswith("sample 0.1")  # the good ones are still there
    # enabling a good plugin still answers in one line (no load warnings on stderr)
    result = rtbook("plugins", "enable", "sample", "--city", CITY)
    assert result.code == 0 and result.err == ""
    result = rtbook("plugins", "enable", "broken", "--city", CITY)
    assert result.code == 2 and result.one_error_line and "gagal dimuat" in result.err


def test_startup_problems_are_shown(rtbook, cities, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RTBOOK_SAMPLE_SINK", str(tmp_path / "missing" / "sink.jsonl"))
    result = rtbook("plugins", "list")
    assert result.code == 0
    assert "masalah (problem): folder RTBOOK_SAMPLE_SINK tidak ada" in result.out


def test_the_installed_command_finds_the_plugin(cities) -> None:
    """`rtbook` as its own process: the plugin comes in through PYTHONPATH, as a
    pip-installed one does through site-packages."""
    rtbook_bin = Path(sys.executable).with_name("rtbook")
    done = subprocess.run(
        [str(rtbook_bin), "plugins", "enable", "sample", "--city", CITY],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    [row] = settings_rows(cities)
    assert (row["plugin"], row["enabled"]) == ("sample", True)


def test_an_uninstalled_plugin_still_enabled_can_be_disabled(rtbook, cities) -> None:
    sql(
        cities,
        "INSERT INTO plugin_setting (city_code, plugin, enabled, config, start_seq, updated_at)"
        " VALUES ($1, 'gone', $2, '{}', 0, $3) RETURNING id",
        CITY,
        True,
        datetime.now(UTC),
    )
    listed = rtbook("plugins", "list", "--city", CITY)
    gone = next(line for line in listed.out.splitlines() if line.startswith("gone"))
    assert "aktif (enabled)" in gone and "tidak terpasang" in gone
    assert rtbook("plugins", "enable", "gone", "--city", CITY).code == 2
    result = rtbook("plugins", "disable", "gone", "--city", CITY)
    assert result.code == 0, result.err
    assert [(r["plugin"], r["enabled"]) for r in settings_rows(cities)] == [("gone", False)]
