"""What is recorded: reads of an RT's book, refusals, token and plugin changes; who,
what, scope and when (UTC), never a full NIK. Over the real app, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
from audit_support import FULL_NIK, as_utc, audit_rows, stored_text
from factories import CITY, RT_A, RT_B
from web.web_support import World

from rtbook.cli import main
from rtbook.core import audit
from rtbook.core.db import make_database


def test_reading_residents_households_and_events_is_recorded(client, world: World) -> None:
    before = datetime.now(UTC)
    auth = world.auth("head_a")
    assert client.get(f"/api/v1/rts/{RT_A}/residents?limit=3", headers=auth).status_code == 200
    assert client.get(f"/api/v1/rts/{RT_A}/households", headers=auth).status_code == 200
    assert client.get(f"/api/v1/rts/{RT_A}/events", headers=auth).status_code == 200
    after = datetime.now(UTC)

    rows = audit_rows(world.url)
    assert [r["action"] for r in rows] == ["residents.list", "households.list", "events.list"]
    for row in rows:
        assert row["username"] == "head_a" and row["user_id"] is not None
        assert row["target"] == RT_A and row["scope"] == CITY
        assert before <= as_utc(row["at"]) <= after
    residents = msgspec.json.decode(rows[0]["detail"])
    assert residents["rows"] == 3 and residents["page"] == "first"


def test_the_city_admin_reading_is_recorded_with_its_filters(client, world: World) -> None:
    answer = client.get(
        f"/api/v1/rts/{RT_A}/residents?status=active&q=budi", headers=world.auth("city_admin")
    )
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2
    (row,) = audit_rows(world.url, "residents.list")
    assert row["username"] == "city_admin"
    detail = msgspec.json.decode(row["detail"])
    assert detail == {"rows": 2, "status": "active", "q": "budi", "page": "first"}


def test_a_refused_read_records_the_refusal_and_no_read(client, world: World) -> None:
    before = datetime.now(UTC)
    answer = client.get(f"/api/v1/rts/{RT_B}/residents", headers=world.auth("head_a"))
    assert answer.status_code == 403
    assert audit_rows(world.url, "residents.list") == []
    (row,) = audit_rows(world.url, "auth.forbidden")
    assert row["username"] == "head_a" and row["scope"] == CITY
    assert row["target"] == f"/api/v1/rts/{RT_B}/residents"
    assert msgspec.json.decode(row["detail"])["method"] == "GET"
    assert as_utc(row["at"]) >= before


def test_a_refusal_by_role_is_recorded(client, world: World) -> None:
    answer = client.get("/api/v1/deliveries", headers=world.auth("integrator"))
    assert answer.status_code == 403
    (row,) = audit_rows(world.url, "auth.forbidden")
    assert row["username"] == "integrator" and row["target"] == "/api/v1/deliveries"
    assert row["scope"] == CITY  # the caller's city: the route names none


def test_an_unknown_rt_is_404_and_not_recorded(client, world: World) -> None:
    answer = client.get("/api/v1/rts/64.71.06.1005-003-099/residents", headers=world.auth("admin"))
    assert answer.status_code == 404
    assert audit_rows(world.url) == []


def _rename_audit_table(world: World, old: str, new: str) -> None:
    async def go() -> None:
        async with make_database(world.url) as db:
            await db.write(lambda conn: conn.execute(f"ALTER TABLE {old} RENAME TO {new}"))

    asyncio.run(go())


def test_a_refusal_stays_403_when_its_row_cannot_be_written(client, world: World) -> None:
    _rename_audit_table(world, "audit_log", "audit_log_away")
    try:
        answer = client.get(f"/api/v1/rts/{RT_B}/residents", headers=world.auth("head_a"))
        assert answer.status_code == 403
        assert answer.json()["error"]
        # a read is never served without its row: a server error, no data
        served = client.get(f"/api/v1/rts/{RT_A}/residents", headers=world.auth("head_a"))
        assert served.status_code == 500
        assert world.residents[0]["name"] not in served.text
    finally:
        _rename_audit_table(world, "audit_log_away", "audit_log")
    assert audit_rows(world.url) == []


def test_a_nik_search_leaves_no_full_nik_in_the_trail(client, world: World) -> None:
    nik = world.residents[0]["nik"]
    auth = world.auth("head_a")
    found = client.get(f"/api/v1/rts/{RT_A}/residents?q={nik}", headers=auth)
    assert found.status_code == 200 and [r["nik"] for r in found.json()["items"]] == [nik]
    cursor = client.get(f"/api/v1/rts/{RT_A}/residents?limit=1", headers=auth).json()
    client.get(f"/api/v1/rts/{RT_A}/residents?limit=1&cursor={cursor['next_cursor']}", headers=auth)
    refused = client.get(f"/api/v1/rts/{RT_B}/residents?q={nik}", headers=auth)
    assert refused.status_code == 403
    partial = client.get(f"/api/v1/rts/{RT_A}/residents?q={nik[:10]}", headers=auth)
    assert partial.status_code == 200  # a NIK's first 10 digits typed as a search
    assert len(audit_rows(world.url)) == 5
    text = stored_text(world.url)
    assert nik not in text and not FULL_NIK.search(text) and nik[:10] not in text
    (first, *rest) = audit_rows(world.url, "residents.list")
    assert msgspec.json.decode(first["detail"])["q"] == "*" * 12 + nik[-4:]
    assert msgspec.json.decode(rest[-1]["detail"])["q"] == "*" * 6 + nik[6:10]


def test_a_failed_login_row_masks_and_cuts_the_username(db_env) -> None:
    name = "x" * 70 + "3171012345678901"

    async def go() -> None:
        async with make_database(db_env) as db:
            await db.write(
                lambda conn: audit.record(
                    conn, None, "auth.login_failed", None, None, username=name
                )
            )

    asyncio.run(go())
    (row,) = audit_rows(db_env)
    assert row["user_id"] is None and row["username"] == "x" * 64


def test_token_create_is_recorded_without_the_token(world: World, capsys) -> None:
    capsys.readouterr()
    assert main(["token", "create", "head_b"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("rtb_")
    (row,) = audit_rows(world.url, "token.create")
    assert row["target"] == "head_b" and row["scope"] == CITY
    assert row["user_id"] is None  # the command line: a trusted internal caller
    assert token not in stored_text(world.url)
    assert msgspec.json.decode(row["detail"])["prefix"] == token[:10]


EMAIL = {
    "smtp_host": "mail.example.org",
    "smtp_port": 587,
    "security": "starttls",
    "from": "rt@example.org",
    "username": "rt005",
    "password": "S3cret-Audit-Pass-41",
}


def test_a_plugin_config_change_is_recorded_without_secrets(client, world: World) -> None:
    before = datetime.now(UTC)
    answer = client.put(
        f"/api/v1/cities/{CITY}/plugins/email",
        json={"enabled": True, "config": EMAIL},
        headers=world.auth("city_admin"),
    )
    assert answer.status_code == 200, answer.text
    off = client.put(
        f"/api/v1/cities/{CITY}/plugins/email",
        json={"enabled": False},
        headers=world.auth("admin"),
    )
    assert off.status_code == 200, off.text
    rows = audit_rows(world.url, "plugin.config")
    assert [(r["username"], r["target"], r["scope"]) for r in rows] == [
        ("city_admin", "email", CITY),
        ("admin", "email", CITY),
    ]
    assert as_utc(rows[0]["at"]) >= before
    first = msgspec.json.decode(rows[0]["detail"])
    assert first["enabled"] is True and "password" in first["config_fields"]
    assert msgspec.json.decode(rows[1]["detail"]) == {"plugin": "email", "enabled": False}
    assert EMAIL["password"] not in stored_text(world.url)


def test_a_refused_plugin_change_records_the_refusal_only(client, world: World) -> None:
    answer = client.put(
        f"/api/v1/cities/{CITY}/plugins/email",
        json={"enabled": True, "config": EMAIL},
        headers=world.auth("city_admin_other"),
    )
    assert answer.status_code == 403
    assert audit_rows(world.url, "plugin.config") == []
    (row,) = audit_rows(world.url, "auth.forbidden")
    assert row["username"] == "city_admin_other" and row["scope"] == CITY
    assert EMAIL["password"] not in stored_text(world.url)
