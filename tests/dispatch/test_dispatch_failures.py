"""A hook that raises: later events and other plugins flow on, the event is retried
with backoff, becomes a dead letter after the last attempt, is listed over the CLI
and the API, and a replay delivers it once the plugin stops failing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dispatch_support import (
    CITY_B,
    Clock,
    add_events,
    enable,
    event_ids,
    failures,
    ids,
    received,
)
from factories import CITY, RT_A, add_user
from litestar.testing import TestClient

import rtbook
from rtbook.cli import main
from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.dispatch.failures import list_dead_letters
from rtbook.core.dispatch.options import RetryPolicy, WorkerOptions
from rtbook.core.dispatch.worker import run_worker
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app

RETRY = RetryPolicy(base_seconds=1, cap_seconds=10, max_attempts=3)
OPTIONS = WorkerOptions(retry=RETRY)
SECRET = "rahasia-sekali-123"


async def _tokens(db: Database) -> dict[str, str]:
    async def unit(conn: Any) -> dict[str, str]:
        users = {
            "admin": (Role.ADMIN, {}),
            "city_admin": (Role.CITY_ADMIN, {"city": CITY}),
            "city_admin_b": (Role.CITY_ADMIN, {"city": CITY_B}),
            "head": (Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
        }
        return {
            name: (await add_user(conn, name, role, **scope))[1]
            for name, (role, scope) in users.items()
        }

    return await db.write(unit)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_failing_event_is_retried_then_dead_then_replayed(
    world: Database,
    registry: PluginRegistry,
    sink: Path,
    db_env: DatabaseURL,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = world
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    await db.write(lambda conn: add_events(conn, CITY, 2))  # before enabling
    start = int(
        await db.read(
            lambda conn: conn.fetchval("SELECT event_seq FROM city WHERE code = $1", CITY)
        )
    )
    bad = start + 2
    await enable(db, registry, CITY, sink=str(sink), fail_sequences=[bad], token=SECRET)
    await enable(db, registry, CITY, "sample_async", sink=str(sink))
    seqs = await db.write(lambda conn: add_events(conn, CITY, 5))
    assert bad in seqs

    stats = await run_worker(db, registry, once=True, now=clock, options=OPTIONS)

    # The failing event blocks nothing: later events and the other plugin flow.
    good = [s for s in seqs if s != bad]
    assert ids(received(sink, "sample")) == event_ids(CITY, good)
    assert ids(received(sink, "sample_async")) == event_ids(CITY, seqs)
    assert (stats.delivered, stats.failed) == (len(seqs) * 2 - 1, 1)
    [failure] = await failures(db)
    assert (failure["plugin"], failure["city_code"], failure["seq"]) == ("sample", CITY, bad)
    assert (failure["status"], failure["attempts"]) == ("retrying", 1)
    assert clock() <= failure["next_attempt_at"] <= clock() + timedelta(seconds=RETRY.base_seconds)
    assert "SampleFailure" in failure["last_error"] and SECRET not in failure["last_error"]

    # Not due before its time: a run at the same moment calls nothing.
    assert (await run_worker(db, registry, once=True, now=clock, options=OPTIONS)).calls == 0

    clock.advance(minutes=1)
    await run_worker(db, registry, once=True, now=clock, options=OPTIONS)
    [failure] = await failures(db)
    assert (failure["status"], failure["attempts"]) == ("retrying", 2)

    clock.advance(minutes=1)
    stats = await run_worker(db, registry, once=True, now=clock, options=OPTIONS)
    [failure] = await failures(db)
    assert (failure["status"], failure["attempts"], failure["next_attempt_at"]) == (
        "dead",
        RETRY.max_attempts,
        None,
    )
    assert stats.dead == 1

    # Dead means no more calls, however long we wait; new events still flow.
    clock.advance(days=2)
    more = await db.write(lambda conn: add_events(conn, CITY, 2))
    stats = await run_worker(db, registry, once=True, now=clock, options=OPTIONS)
    assert (stats.delivered, stats.retried + stats.retry_failed) == (4, 0)
    assert ids(received(sink, "sample")) == event_ids(CITY, good + more)

    # Listed by the core function, the CLI and the API.
    page = await db.read(lambda conn: list_dead_letters(conn, city=CITY))
    assert [(d.plugin, d.seq, d.status, d.attempts) for d in page.items] == [
        ("sample", bad, "dead", 3)
    ]
    dead_id = page.items[0].id
    code, out, err = await asyncio.to_thread(_cli, capsys, "deadletters", "list", "--city", CITY)
    assert code == 0, err
    [header, line] = out.splitlines()
    assert header.split()[:6] == ["ID", "PLUGIN", "CITY", "SEQ", "STATUS", "ATTEMPTS"]
    assert line.split()[:6] == [str(dead_id), "sample", CITY, str(bad), "dead", "3"]
    code, out, _ = await asyncio.to_thread(_cli, capsys, "deadletters", "list", "--plugin", "x")
    assert (code, out.strip()) == (0, "tidak ada kiriman gagal (no dead letters)")

    tokens = await _tokens(db)

    def auth(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[who]}"}

    with TestClient(create_app(db_env)) as client:
        for who in ("city_admin", "admin"):
            answer = client.get("/api/v1/dead-letters", headers=auth(who))
            assert answer.status_code == 200, answer.text
            [item] = answer.json()["items"]
            assert (item["id"], item["plugin"], item["city"], item["seq"]) == (
                dead_id,
                "sample",
                CITY,
                bad,
            )
            assert (item["status"], item["attempts"], item["event_id"]) == (
                "dead",
                3,
                f"{CITY}-{bad}",
            )
            assert SECRET not in answer.text
        # The other city's admin sees none of it and may not ask for it.
        assert client.get("/api/v1/dead-letters", headers=auth("city_admin_b")).json() == {
            "items": [],
            "next_after": None,
        }
        assert (
            client.get(f"/api/v1/dead-letters?city={CITY}", headers=auth("city_admin_b"))
        ).status_code == 403
        assert client.get("/api/v1/dead-letters", headers=auth("head")).status_code == 403
        assert client.get("/api/v1/dead-letters").status_code == 401
        assert (
            client.get("/api/v1/dead-letters?city=99.99", headers=auth("admin")).status_code == 404
        )
        assert (
            client.get("/api/v1/dead-letters?status=nope", headers=auth("admin"))
        ).status_code == 400
        assert (
            client.post(
                f"/api/v1/dead-letters/{dead_id}/replay", headers=auth("city_admin_b")
            ).status_code
            == 403
        )
        assert (
            client.post(f"/api/v1/dead-letters/{dead_id}/replay", headers=auth("head")).status_code
            == 403
        )
        for missing in ("999999", "abc"):
            answer = client.post(f"/api/v1/dead-letters/{missing}/replay", headers=auth("admin"))
            assert answer.status_code == 404

        # The plugin is fixed (its config no longer refuses the event); replay it.
        await enable(db, registry, CITY, sink=str(sink), token=SECRET)
        answer = client.post(f"/api/v1/dead-letters/{dead_id}/replay", headers=auth("city_admin"))
        assert answer.status_code == 200, answer.text
        assert (answer.json()["status"], answer.json()["attempts"]) == ("retrying", 0)

        stats = await run_worker(db, registry, once=True, now=clock, options=OPTIONS)
        assert (stats.retried, stats.delivered) == (1, 0)
        sample = ids(received(sink, "sample"))
        assert sample.count(f"{CITY}-{bad}") == 1
        assert sample == event_ids(CITY, good + more + [bad])  # a retry comes out of order
        [failure] = await failures(db)
        assert failure["status"] == "done"
        assert (await run_worker(db, registry, once=True, now=clock, options=OPTIONS)).calls == 0

        # Delivered: nothing left to replay.
        answer = client.post(f"/api/v1/dead-letters/{dead_id}/replay", headers=auth("admin"))
        assert answer.status_code == 409
    code, _, err = await asyncio.to_thread(_cli, capsys, "deadletters", "replay", str(dead_id))
    assert code == 2 and len(err.strip().splitlines()) == 1


async def test_replay_over_the_cli_makes_a_dead_letter_due(
    world: Database,
    registry: PluginRegistry,
    sink: Path,
    db_env: DatabaseURL,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = world
    flag = sink.with_name("failing")
    flag.touch()  # every event fails while this file exists
    await enable(db, registry, CITY, sink=str(sink), fail_flag=str(flag))
    [seq] = await db.write(lambda conn: add_events(conn, CITY, 1))
    once = WorkerOptions(retry=RetryPolicy(max_attempts=1))
    stats = await run_worker(db, registry, once=True, options=once)
    assert (stats.failed, stats.dead) == (1, 1)
    [failure] = await failures(db)
    assert (failure["status"], failure["attempts"]) == ("dead", 1)

    code, out, err = await asyncio.to_thread(
        _cli, capsys, "deadletters", "replay", str(failure["id"])
    )
    assert code == 0, err
    assert f"{CITY}-{seq}" in out
    [failure] = await failures(db)
    assert (failure["status"], failure["attempts"]) == ("retrying", 0)

    flag.unlink()
    stats = await run_worker(db, registry, once=True, options=once)
    assert stats.retried == 1
    assert ids(received(sink)) == [f"{CITY}-{seq}"]

    for bad in ("12345678", "x"):
        code, _, err = await asyncio.to_thread(_cli, capsys, "deadletters", "replay", bad)
        assert code == 2 and len(err.strip().splitlines()) == 1


class LeakyPlugin:
    """Raises with a NIK and its own secret in the message, as careless code does."""

    @rtbook.hookimpl
    def rtbook_service_completed(self, event: dict[str, Any], city: str, config: Any) -> None:
        raise RuntimeError(
            f"gateway refused NIK 6471060507800001 with api_key={config['api_key']} "
            f"password {config['nested']['password']}"
        )


async def test_errors_are_logged_and_stored_without_nik_or_secrets(
    world: Database, registry: PluginRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    db = world
    registry.register("leaky", LeakyPlugin())
    config = '{"api_key": "k-123456789", "nested": {"password": "pw-secret-42"}}'
    await db.write(
        lambda conn: conn.execute(
            "INSERT INTO plugin_setting (city_code, plugin, enabled, config, start_seq,"
            " updated_at) VALUES ($1, 'leaky', $2, $3, 0, $4)",
            CITY,
            True,
            config,
            datetime.now(UTC),
        )
    )
    await db.write(lambda conn: add_events(conn, CITY, 1))
    with caplog.at_level(logging.ERROR, logger="rtbook.worker"):
        stats = await run_worker(db, registry, once=True)
    assert stats.failed == 1
    [failure] = await failures(db)
    logged = caplog.text
    assert "Traceback" in logged and "RuntimeError" in logged
    for text in (failure["last_error"], logged):
        assert "6471060507800001" not in text and "************0001" in text
        assert "k-123456789" not in text and "pw-secret-42" not in text
    assert "api_key=***" in failure["last_error"]


async def test_dead_letters_come_in_pages_and_filters(
    world: Database, registry: PluginRegistry, sink: Path, db_env: DatabaseURL
) -> None:
    db = world
    flag = sink.with_name("failing")
    flag.touch()
    for city in (CITY, CITY_B):
        await enable(db, registry, city, sink=str(sink), fail_flag=str(flag))
    await enable(db, registry, CITY, "sample_async", sink=str(sink), fail_flag=str(flag))
    await db.write(lambda conn: add_events(conn, CITY, 3))
    await db.write(lambda conn: add_events(conn, CITY_B, 2))
    once = WorkerOptions(retry=RetryPolicy(max_attempts=1))
    stats = await run_worker(db, registry, once=True, options=once)
    assert stats.dead == 8

    tokens = await _tokens(db)
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    with TestClient(create_app(db_env)) as client:
        seen: list[int] = []
        after = None
        while True:
            query = "?limit=3" + (f"&after={after}" if after is not None else "")
            page = client.get(f"/api/v1/dead-letters{query}", headers=headers).json()
            seen += [item["id"] for item in page["items"]]
            after = page["next_after"]
            if after is None:
                break
        assert len(seen) == 8 and seen == sorted(seen)
        mine = client.get(
            f"/api/v1/dead-letters?city={CITY}&plugin=sample_async", headers=headers
        ).json()["items"]
        assert {(i["city"], i["plugin"]) for i in mine} == {(CITY, "sample_async")}
        assert len(mine) == 3
        assert client.get("/api/v1/dead-letters?status=retrying", headers=headers).json() == {
            "items": [],
            "next_after": None,
        }
        city_admin = {"Authorization": f"Bearer {tokens['city_admin']}"}
        own = client.get("/api/v1/dead-letters?limit=1000", headers=city_admin).json()["items"]
        assert len(own) == 6 and {i["city"] for i in own} == {CITY}
        for bad in ("limit=0", "limit=1001", "after=-1", "after=x"):
            answer = client.get(f"/api/v1/dead-letters?{bad}", headers=headers)
            assert answer.status_code == 400, bad
