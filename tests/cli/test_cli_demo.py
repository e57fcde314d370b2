"""The demo city: prepare_demo sets it up, a second run reuses it."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rtbook.core.auth import Role, principal_for_token
from rtbook.core.db import Database
from rtbook.core.passwords import verify_password
from rtbook.demo import DEMO_RTS, RT_KETUA, find_regions_file, prepare_demo

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

    result = rtbook("demo", "--port", str(_free_port()))

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
