"""GET /api/v1/deliveries, POST /api/v1/deliveries/{id}/retry and the CLI, on both
backends: recipients masked, city scope, 409 for a sent delivery."""

from __future__ import annotations

import asyncio
import random

import pytest
from factories import RT_A, RT_B, add_user, standard_city
from litestar.testing import TestClient
from notify_support import Clock, FakeChannels, deliveries, enable, fake_registry, post_event

from rtbook.cli import main
from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.plugins.settings import enabled_plugins
from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app


async def _setup(db: Database) -> dict[str, str]:
    tokens: dict[str, str] = {}

    async def unit(conn):
        await standard_city(conn)
        await add_user(
            conn, "ketua005", Role.RT_HEAD, city="64.71", rts=(RT_A,),
            whatsapp="+6281234567890", email="ketua005@example.org",
        )  # fmt: skip
        for who, role, city in (
            ("admin", Role.ADMIN, None),
            ("city_admin", Role.CITY_ADMIN, "64.71"),
            ("city_admin_b", Role.CITY_ADMIN, "64.72"),
        ):
            _, tokens[who] = await add_user(conn, who, role, city=city)
        _, tokens["head"] = await add_user(
            conn, "ketua006", Role.RT_HEAD, city="64.71", rts=(RT_B,)
        )

    await db.write(unit)
    return tokens


async def _deliver(db: Database) -> tuple[int, int]:
    """Two deliveries of one event: whatsapp sent, email dead. (sent id, dead id)"""
    plugin = FakeChannels(broken={"email"})
    registry = fake_registry(plugin)
    await enable(db, registry)
    await post_event(db, RT_A)
    await run_notify(
        db,
        registry,
        now=Clock(),
        enabled_plugins=enabled_plugins,
        options=NotifyOptions(max_attempts=1),
        rng=random.Random(1),
    )
    rows = await deliveries(db)
    by_channel = {r["channel"]: r for r in rows}
    assert by_channel["whatsapp"]["status"] == "sent"
    assert by_channel["email"]["status"] == "dead"
    return by_channel["whatsapp"]["id"], by_channel["email"]["id"]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_deliveries_api_and_cli(
    db: Database, db_env: DatabaseURL, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = await _setup(db)
    sent_id, dead_id = await _deliver(db)

    def auth(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[who]}"}

    with TestClient(create_app(db_env)) as client:
        for who in ("admin", "city_admin"):
            answer = client.get("/api/v1/deliveries", headers=auth(who))
            assert answer.status_code == 200, answer.text
            items = {i["channel"]: i for i in answer.json()["items"]}
            assert items["whatsapp"]["recipient"] == "+62812****7890"
            assert items["email"]["recipient"] == "k***@example.org"
            assert (items["email"]["status"], items["email"]["attempts"]) == ("dead", 1)
            assert "email timed out" in items["email"]["last_error"]
            assert items["whatsapp"]["provider_message_id"] == "msg-1"
            assert items["email"]["results"] is None  # the fake plugin reports no targets
            assert "hunter2" not in answer.text
            assert "1234567890" not in answer.text and "ketua005@" not in answer.text
        dead = client.get("/api/v1/deliveries?status=dead", headers=auth("admin")).json()
        assert [i["id"] for i in dead["items"]] == [dead_id]
        assert client.get("/api/v1/deliveries", headers=auth("city_admin_b")).json() == {
            "items": [],
            "next_after": None,
        }
        assert client.get("/api/v1/deliveries", headers=auth("head")).status_code == 403
        assert client.get("/api/v1/deliveries").status_code == 401
        bad = client.get("/api/v1/deliveries?status=nope", headers=auth("admin"))
        assert bad.status_code == 400

        assert (
            client.post(f"/api/v1/deliveries/{dead_id}/retry", headers=auth("city_admin_b"))
        ).status_code == 403
        for missing in ("999999", "abc"):
            answer = client.post(f"/api/v1/deliveries/{missing}/retry", headers=auth("admin"))
            assert answer.status_code == 404
        answer = client.post(f"/api/v1/deliveries/{sent_id}/retry", headers=auth("admin"))
        assert answer.status_code == 409
        answer = client.post(f"/api/v1/deliveries/{dead_id}/retry", headers=auth("city_admin"))
        assert answer.status_code == 200, answer.text
        assert (answer.json()["status"], answer.json()["attempts"]) == ("failed", 0)

    code, out, _ = await asyncio.to_thread(_cli, capsys, "deliveries", "list", "--status", "failed")
    assert code == 0 and "k***@example.org" in out and "ketua005@" not in out
    code, out, _ = await asyncio.to_thread(_cli, capsys, "deliveries", "retry", str(dead_id))
    assert code == 0 and str(dead_id) in out
    code, _, err = await asyncio.to_thread(_cli, capsys, "deliveries", "retry", str(sent_id))
    assert code == 2 and len(err.strip().splitlines()) == 1
