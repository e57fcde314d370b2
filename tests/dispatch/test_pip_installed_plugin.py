"""Issue 3 end to end with real parts: a third-party plugin installed with pip, enabled
for one city on the command line, fed by services posted through the ledger, and
served by `rtbook worker` processes. It receives exactly that city's events, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dispatch_support import SAMPLE_DIR, received
from factories import CITY, RT_OTHER_CITY, add_resident, add_user, nik_for, standard_city

from rtbook.core.auth import Role
from rtbook.core.db import Connection, Database
from rtbook.core.ledger.ingest import ingest_services

CLI = [sys.executable, "-m", "rtbook.cli"]


@pytest.fixture(scope="module")
def pip_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install` of the sample plugin's own pyproject, into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--target", str(target), str(SAMPLE_DIR)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (target / "rtbook_sample_plugin.py").exists()
    return target


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def _service(sid: str, nik: str, kind: str = "ktp_el") -> dict:
    return {
        "source": "siak-test",
        "id": sid,
        "type": kind,
        "completed_at": "2026-11-20T09:30:00+08:00",
        "nik": nik,
        "data": {},
    }


async def _city_event_ids(db: Database, city: str) -> list[str]:
    rows = await db.read(
        lambda c: c.fetch("SELECT seq FROM event WHERE city_code = $1 ORDER BY seq", city)
    )
    return [f"{city}-{r['seq']}" for r in rows]


async def test_pip_installed_plugin_gets_its_citys_events_once(
    pip_site: Path, db_env, db: Database, tmp_path: Path
) -> None:
    nik_a = nik_for(date(1980, 7, 5), "L", 11)
    nik_b = nik_for(date(1975, 3, 2), "P", 12, region="647201")

    async def seed(conn: Connection):
        await standard_city(conn)
        await add_resident(conn, nik=nik_a)
        await add_resident(
            conn, nik=nik_b, sex="P", birth_date=date(1975, 3, 2), no_kk="6472010101200002",
            rt_code=RT_OTHER_CITY, city_code="64.72",
        )  # fmt: skip
        principal, _ = await add_user(conn, "admin", Role.ADMIN)
        return principal

    admin = await db.write(seed)
    sink = tmp_path / "sink.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTBOOK_SAMPLE")}
    env.update(PYTHONPATH=str(pip_site), RTBOOK_PLUGINS="sample")

    listed = _run(["plugins", "list"], env)
    assert listed.returncode == 0 and "sample" in listed.stdout, listed.stderr
    enabled = _run(
        [
            "plugins",
            "enable",
            "sample",
            "--city",
            CITY,
            "--config",
            json.dumps({"sink": str(sink)}),
        ],
        env,
    )
    assert enabled.returncode == 0, enabled.stderr

    results = await ingest_services(
        db,
        admin,
        [_service("a-1", nik_a), _service("b-1", nik_b), _service("a-2", nik_a, "kia")],
    )
    assert [r["status"] for r in results] == ["applied"] * 3

    first = _run(["worker", "--once"], env)
    assert first.returncode == 0, first.stderr
    expected = await _city_event_ids(db, CITY)
    assert len(expected) == 2
    assert [r["id"] for r in received(sink)] == expected  # 64.71 only, in order, once
    assert {r["city"] for r in received(sink)} == {CITY}

    again = _run(["worker", "--once"], env)
    assert again.returncode == 0, again.stderr
    assert [r["id"] for r in received(sink)] == expected  # nothing delivered twice

    await ingest_services(db, admin, [_service("a-3", nik_a, "akta_perkawinan")])
    assert _run(["worker", "--once"], env).returncode == 0
    assert [r["id"] for r in received(sink)] == await _city_event_ids(db, CITY)
    assert len(received(sink)) == 3
