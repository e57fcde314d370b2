"""The demo city: prepare_demo sets it up, a second run reuses it; ``rtbook demo``
as a process tells the RT head about the demo's services by WhatsApp and e-mail,
which land in the demo's outbox file."""

from __future__ import annotations

import re
import signal
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest
from cli_support import clean_env, free_port, query, running, wait_healthy

from rtbook.core.auth import Role, principal_for_token
from rtbook.core.db import Database
from rtbook.core.passwords import verify_password
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.settings import DatabaseURL
from rtbook.demo import DEMO_RTS, KELURAHAN_DAMAI, RT_KETUA, find_regions_file, prepare_demo
from rtbook.demo_outbox import OUTBOX_NAME, DemoOutbox

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


async def _scalar(db: Database, sql: str, *args):
    return await db.read(lambda conn: conn.fetchval(sql, *args))


async def test_prepare_demo_twice(db: Database, regions_file: Path) -> None:
    first = await prepare_demo(db, regions_file=regions_file, now=NOW)

    assert first.city_code == "64.71" and first.city_name == "Kota Balikpapan"
    assert await _scalar(db, "SELECT count(*) FROM region WHERE level = 'kelurahan'") == 34
    assert await _scalar(db, "SELECT count(*) FROM rt") == 6
    kelurahan = {code.split("-")[0] for code in DEMO_RTS}
    assert len(kelurahan) == 3
    assert 200 <= first.imported <= 600
    assert first.residents == first.imported + 2  # a birth and an arrival
    assert first.services == {"applied": 11} and first.service_errors == []
    assert {login.username for login in first.logins} == {
        "admin",
        "admin-balikpapan",
        "ketua-rt-005",
        "siak-balikpapan",
        "kader-damai",
    }
    events = await _scalar(db, "SELECT count(*) FROM event WHERE rt_code = $1", RT_KETUA)
    assert events >= 8
    effects = {
        row[0]
        for row in await db.read(
            lambda conn: conn.fetch(
                "SELECT DISTINCT effect FROM event WHERE rt_code = $1", RT_KETUA
            )
        )
    }
    assert {"resident_added", "resident_deceased", "household_changed"} <= effects
    assert "resident_moved_in" in effects
    ketua = first.login("ketua-rt-005")
    principal = await db.read(lambda conn: principal_for_token(conn, ketua.token))
    assert principal is not None and principal.role is Role.RT_HEAD
    assert principal.rt_codes == frozenset({RT_KETUA})
    row = await db.read(
        lambda conn: conn.fetchrow(
            "SELECT whatsapp, email, password_hash FROM rtbook_user WHERE username = $1",
            "ketua-rt-005",
        )
    )
    assert row["whatsapp"].startswith("+628") and row["email"]
    assert verify_password(row["password_hash"], ketua.password)
    kader = await db.read(lambda conn: principal_for_token(conn, first.login("kader-damai").token))
    assert kader is not None and kader.area_codes == frozenset({"64.71.06.1005"})

    second = await prepare_demo(db, regions_file=None, now=NOW)

    assert second.imported == 0
    assert second.residents == first.residents
    assert second.services == {"duplicate": 11} and second.service_errors == []
    assert await _scalar(db, "SELECT count(*) FROM rtbook_user") == 5
    assert await _scalar(db, "SELECT count(*) FROM event WHERE rt_code = $1", RT_KETUA) == events
    # fresh credentials that work; the old password no longer does
    again = second.login("ketua-rt-005")
    assert again.token != ketua.token and again.password != ketua.password
    assert await db.read(lambda conn: principal_for_token(conn, again.token)) is not None
    stored = await _scalar(
        db, "SELECT password_hash FROM rtbook_user WHERE username = $1", "ketua-rt-005"
    )
    assert verify_password(stored, again.password)
    assert not verify_password(stored, ketua.password)


def test_regions_file_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, regions_file) -> None:
    monkeypatch.delenv("RTBOOK_REGIONS_FILE", raising=False)
    assert find_regions_file("x.csv") == Path("x.csv")
    assert find_regions_file().resolve() == regions_file.resolve()  # beside the repository
    monkeypatch.setenv("RTBOOK_REGIONS_FILE", str(tmp_path / "env.csv"))
    assert find_regions_file() == tmp_path / "env.csv"
    assert find_regions_file("given.csv") == Path("given.csv")


def test_demo_without_a_region_file_says_to_pass_regions(
    rtbook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RTBOOK_DATABASE_URL", raising=False)
    monkeypatch.delenv("RTBOOK_REGIONS_FILE", raising=False)
    monkeypatch.setattr("rtbook.demo.REGIONS_RELATIVE", Path("no") / "such.csv")

    result = rtbook("demo", "--port", str(free_port()))

    assert result.code == 2 and result.one_error_line, result.err
    assert "--regions" in result.err
    assert (tmp_path / "rtbook-demo.db").exists()  # the demo's default database


def test_demo_with_a_busy_port(rtbook, tmp_path: Path, monkeypatch, regions_file) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = rtbook("demo", "--port", str(port), "--regions", str(regions_file))
    assert result.code == 2 and result.one_error_line, result.err
    assert str(port) in result.err
    assert not (tmp_path / "rtbook-demo.db").exists()


# -- notices to the RT head --------------------------------------------------------------

HEAD_WHATSAPP = ("081234560005", "6281234560005")  # the RT head's number, as given and E.164
HEAD_EMAIL = "ketua-rt-005@example.org"
ENTRY_HEADER = re.compile(r"^\[(?P<time>[^\]]+)\] (?P<channel>\w+) -> (?P<to>\S+)$")


async def _plugin_settings(db: Database) -> dict[str, dict]:
    rows = await db.read(
        lambda conn: conn.fetch(
            "SELECT plugin, enabled, config, start_seq FROM plugin_setting WHERE city_code = $1",
            "64.71",
        )
    )
    return {
        r["plugin"]: {
            "enabled": bool(r["enabled"]),
            "config": msgspec.json.decode(r["config"]),
            "start_seq": r["start_seq"],
        }
        for r in rows
    }


async def test_prepare_demo_enables_the_channels_before_the_services(
    db: Database, regions_file: Path, tmp_path: Path
) -> None:
    registry = PluginRegistry.load({})  # the built-ins, whatever the shell has set
    with DemoOutbox(tmp_path / OUTBOX_NAME) as outbox:
        first_configs = outbox.configs()
        first = await prepare_demo(
            db, regions_file=regions_file, now=NOW, channels=first_configs, registry=registry
        )
    assert first.channels == ["email", "whatsapp"] and first.lansia and first.reports
    settings = await _plugin_settings(db)
    assert set(settings) == {"email", "whatsapp", "lansia", "reports"}
    assert settings["lansia"]["enabled"] and settings["lansia"]["config"] == {"min_age": 60}
    assert settings["reports"]["enabled"] and settings["reports"]["config"] == {}
    first_event = await _scalar(db, "SELECT min(seq) FROM event WHERE city_code = $1", "64.71")
    for name, setting in settings.items():
        assert setting["enabled"]
        if name in ("lansia", "reports"):
            continue
        assert setting["config"] == registry.validate_config(name, first_configs[name])
        # enabled before the services were posted: the hub plans every demo event
        assert setting["start_seq"] < first_event
    assert settings["email"]["config"]["security"] == "none"
    assert settings["whatsapp"]["config"]["provider"] == "evolution"

    # a second run points the plugins at its own servers (other ports, another key)
    with DemoOutbox(tmp_path / OUTBOX_NAME) as outbox:
        second_configs = outbox.configs()
        second = await prepare_demo(db, now=NOW, channels=second_configs, registry=registry)
    assert second.channels == ["email", "whatsapp"] and second.services == {"duplicate": 11}
    again = await _plugin_settings(db)
    for name in ("email", "whatsapp"):
        setting = again[name]
        assert setting["config"] == registry.validate_config(name, second_configs[name])
        assert setting["start_seq"] == settings[name]["start_seq"]


def test_prepare_demo_without_the_channel_plugins_enables_nothing(
    db_env: DatabaseURL, regions_file: Path, tmp_path: Path
) -> None:
    import asyncio

    from rtbook.core.db import make_database

    registry = PluginRegistry.load({"RTBOOK_DISABLE_PLUGINS": "email,whatsapp"})

    async def go():
        async with make_database(db_env) as db:
            with DemoOutbox(tmp_path / OUTBOX_NAME) as outbox:
                info = await prepare_demo(
                    db, regions_file=regions_file, channels=outbox.configs(), registry=registry
                )
            return info, await _plugin_settings(db)

    info, settings = asyncio.run(go())
    assert info.channels == [] and set(settings) == {"lansia", "reports"}  # no channel


def _entries(text: str) -> list[tuple[str, str, str]]:
    """(channel, masked recipient, text) of each message in the outbox file."""
    found = []
    for block in text.strip().split("\n\n"):
        header, *body = block.splitlines()
        match = ENTRY_HEADER.match(header)
        assert match is not None, header
        found.append((match["channel"], match["to"], "\n".join(body)))
    return found


def _poll(condition, what: str, timeout: float = 90.0) -> None:
    """A guard against hanging, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_the_demo_tells_the_rt_head_by_whatsapp_and_email(
    db_url: DatabaseURL, regions_file: Path, tmp_path: Path
) -> None:
    port = free_port()
    cwd = tmp_path / "run"
    cwd.mkdir()
    env = clean_env(
        RTBOOK_DATABASE_URL=db_url.raw,
        RTBOOK_SECRET_KEY="test-secret-key-" + "x" * 32,
        RTBOOK_REGIONS_FILE=str(regions_file),
    )
    # beside the SQLite database; in the working directory for PostgreSQL
    folder = db_url.sqlite_path.parent if db_url.sqlite_path is not None else cwd
    outbox = folder / OUTBOX_NAME
    log = tmp_path / "demo.log"
    with running(["demo", "--port", str(port)], cwd, env, log=log) as proc:
        wait_healthy(proc, port)
        banner = log.read_text()
        assert "Pemberitahuan (notices): plugin email dan whatsapp aktif di 64.71" in banner
        assert str(outbox.resolve()) in banner

        def both_channels() -> bool:
            text = outbox.read_text() if outbox.exists() else ""
            return {channel for channel, _, _ in _entries(text)} >= {"whatsapp", "email"}

        _poll(both_channels, "a WhatsApp and an e-mail notice in the demo outbox")
        # the demo's health worker pulls the elderly list of her kelurahan
        token = re.search(r"kader-damai .*?token: (\S+)", banner, re.DOTALL)
        assert token is not None, banner
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/lansia",
            params={"area": KELURAHAN_DAMAI},
            headers={"Authorization": f"Bearer {token[1]}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        elderly = answer.json()["items"]
        assert elderly and all(item["age"] >= 60 for item in elderly)
        assert all(item["rt"].startswith(KELURAHAN_DAMAI) for item in elderly)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]

    text = outbox.read_text()
    entries = _entries(text)
    names = {
        r["name"] for r in query(db_url, "SELECT name FROM resident WHERE rt_code = $1", RT_KETUA)
    }
    for channel, masked in (("whatsapp", "+62812****0005"), ("email", "k***@example.org")):
        mine = [(to, body) for ch, to, body in entries if ch == channel]
        assert mine and {to for to, _ in mine} == {masked}
        # each notice tells the RT head about one of the RT's residents, by name
        assert any(name in body for _, body in mine for name in names), mine
    assert "Subjek (subject): " in text
    assert not re.search(r"\d{16}", text)  # never a full NIK (nor a KK number)
    for address in (*HEAD_WHATSAPP, HEAD_EMAIL):
        assert address not in text
