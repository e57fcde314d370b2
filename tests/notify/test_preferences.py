"""Notification preferences on both backends: the user's own API, the admin CLI, what
planning does with them (channels, service types, quiet hours across midnight in
WITA), and bad input refused whole with nothing changed."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import RT_A, RT_B, add_user, standard_city
from litestar.testing import TestClient
from notify_support import Clock, FakeChannels, add_kelurahan, deliveries, enable, fake_registry
from notify_support import post_event as post

from rtbook.cli import main
from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.notify.preferences import (
    InvalidPreferences,
    parse_input,
    read_preferences,
    save_preferences,
)
from rtbook.core.notify.recipients import users_by_id
from rtbook.core.plugins.settings import enabled_plugins
from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app

PREFS = "/api/v1/me/notification-preferences"
WITA = "Asia/Makassar"


async def _setup(db: Database) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def unit(conn):
        await standard_city(conn)
        await add_kelurahan(conn)
        head, found["head"] = await add_user(
            conn, "ketua005", Role.RT_HEAD, city="64.71", rts=(RT_A,),
            whatsapp="+6281234567890", email="ketua005@example.org",
        )  # fmt: skip
        found["head_id"] = head.user_id
        _, found["integrator"] = await add_user(conn, "siak", Role.INTEGRATOR, city="64.71")
        other, found["other"] = await add_user(
            conn, "ketua006", Role.RT_HEAD, city="64.71", rts=(RT_B,), email="k6@example.org"
        )
        found["other_id"] = other.user_id

    await db.write(unit)
    return found


async def _pref_rows(db: Database) -> list[dict[str, Any]]:
    rows = await db.read(
        lambda conn: conn.fetch(
            "SELECT user_id, channels, service_types, quiet_start, quiet_end, daily_digest,"
            " language FROM notification_preference ORDER BY user_id"
        )
    )
    return [dict(r) for r in rows]


async def test_the_api_shows_and_changes_only_the_callers_preferences(
    db: Database, db_env: DatabaseURL
) -> None:
    users = await _setup(db)

    def auth(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {users[who]}"}

    with TestClient(create_app(db_env)) as client:
        shown = client.get(PREFS, headers=auth("head"))
        assert shown.status_code == 200, shown.text
        assert shown.json() == {
            "channels": ["whatsapp", "email"],
            "service_types": [
                "ktp_el",
                "kia",
                "kk",
                "akta_kelahiran",
                "akta_kematian",
                "pindah_keluar",
                "pindah_datang",
                "pindah_dalam",
                "akta_perkawinan",
                "akta_perceraian",
            ],
            "quiet_start": None,
            "quiet_end": None,
            "daily_digest": False,
            "language": "id",
            "addresses": {"whatsapp": "+62812****7890", "email": "k***@example.org"},
        }
        changed = client.put(
            PREFS,
            headers=auth("head"),
            json={"channels": ["email"], "quiet_start": "21:00", "quiet_end": "06:00"},
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["channels"] == ["email"]
        assert (body["quiet_start"], body["quiet_end"]) == ("21:00", "06:00")
        assert body["language"] == "id" and body["daily_digest"] is False
        # a later change keeps what it does not name
        again = client.put(
            PREFS, headers=auth("head"), json={"daily_digest": True, "language": "en"}
        )
        assert again.json()["channels"] == ["email"] and again.json()["daily_digest"] is True
        assert client.get(PREFS, headers=auth("head")).json() == again.json()
        # the other head still has the defaults
        assert client.get(PREFS, headers=auth("other")).json()["channels"] == [
            "whatsapp",
            "email",
        ]
        # no address at all: no notifications, no preferences
        for method in ("get", "put"):
            refused = client.request(method, PREFS, headers=auth("integrator"), json={})
            assert refused.status_code == 403, refused.text
            assert set(refused.json()) == {"error", "details"}
        assert client.get(PREFS).status_code == 401
        assert client.put(PREFS, json={"language": "en"}).status_code == 401

    rows = await _pref_rows(db)
    assert [r["user_id"] for r in rows] == [users["head_id"]]
    assert rows[0]["language"] == "en" and rows[0]["quiet_start"] == "21:00"


BAD_BODIES: list[tuple[Any, set[str]]] = [
    ({"channels": ["sms"]}, {"channels"}),
    ({"channels": "whatsapp"}, {"channels"}),
    ({"channels": [1]}, {"channels"}),
    ({"service_types": ["ktp"]}, {"service_types"}),
    ({"quiet_start": "21:00"}, {"quiet_end"}),
    ({"quiet_start": "24:00", "quiet_end": "06:00"}, {"quiet_start"}),
    ({"quiet_start": "9:00", "quiet_end": "6:0"}, {"quiet_start", "quiet_end"}),
    ({"quiet_start": "06:00", "quiet_end": "06:00"}, {"quiet_end"}),
    ({"language": "jv"}, {"language"}),
    ({"daily_digest": "yes"}, {"daily_digest"}),
    ({"nope": True}, {"nope"}),
    (
        {"channels": ["fax"], "service_types": ["x"], "language": "fr"},
        {"channels", "service_types", "language"},
    ),
    (["channels"], {"body"}),
]


async def test_bad_input_is_422_with_details_and_changes_nothing(
    db: Database, db_env: DatabaseURL
) -> None:
    users = await _setup(db)
    headers = {"Authorization": f"Bearer {users['head']}"}
    with TestClient(create_app(db_env)) as client:
        assert client.put(PREFS, headers=headers, json={"language": "en"}).status_code == 200
        before = await _pref_rows(db)
        for body, fields in BAD_BODIES:
            answer = client.put(PREFS, headers=headers, json=body)
            assert answer.status_code == 422, (body, answer.text)
            got = answer.json()
            assert set(got) == {"error", "details"}
            assert {d["field"] for d in got["details"]} == fields, (body, got)
            for detail in got["details"]:
                assert "(" in detail["message"]  # Indonesian first, English in brackets
        for raw in (b"{", b"\xff\xfe", b""):
            answer = client.put(PREFS, headers={**headers, "Content-Type": "application/json"},
                                content=raw)  # fmt: skip
            assert answer.status_code == 400, (raw, answer.text)
        assert await _pref_rows(db) == before


async def test_save_preferences_checks_the_merged_result(db: Database) -> None:
    users = await _setup(db)
    user_id = users["head_id"]
    now = datetime(2026, 11, 20, tzinfo=UTC)
    saved = await db.write(
        lambda conn: save_preferences(
            conn, user_id, parse_input({"quiet_start": "22:00", "quiet_end": "05:30"}), now
        )
    )
    assert (saved.quiet_start, saved.quiet_end) == ("22:00", "05:30")
    # turning only one end off leaves half a window: refused, nothing written
    with pytest.raises(InvalidPreferences) as caught:
        await db.write(
            lambda conn: save_preferences(conn, user_id, parse_input({"quiet_end": None}), now)
        )
    assert [d.field for d in caught.value.details] == ["quiet_end"]  # the missing end
    assert (await db.read(lambda conn: read_preferences(conn, user_id))).quiet_end == "05:30"
    # duplicates collapse, the order is the canonical one; null is "all" again
    saved = await db.write(
        lambda conn: save_preferences(
            conn, user_id, parse_input({"channels": ["email", "whatsapp", "email"]}), now
        )
    )
    assert saved.channels == ["whatsapp", "email"]
    saved = await db.write(
        lambda conn: save_preferences(
            conn, user_id, parse_input({"service_types": ["kk"], "channels": []}), now
        )
    )
    [recipient] = await db.read(lambda conn: users_by_id(conn, [user_id]))
    assert recipient.channels == frozenset() and recipient.service_types == {"kk"}
    assert not recipient.wants("whatsapp", "kk")


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_the_admin_cli_shows_and_sets_preferences(
    db: Database, db_env: DatabaseURL, capsys: pytest.CaptureFixture[str]
) -> None:
    await _setup(db)

    async def cli(*args: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(_cli, capsys, "notify", "prefs", *args)

    code, out, _ = await cli("ketua005")
    assert code == 0
    assert "saluran (channels): semua (all)" in out
    assert "jam tenang (quiet hours): mati (off)" in out
    assert "+62812****7890" in out and "1234567890" not in out
    code, out, _ = await cli(
        "ketua005", "--channels", "whatsapp", "--service-types", "kk,akta_kelahiran",
        "--quiet", "21:00-06:00", "--digest", "on", "--language", "en",
    )  # fmt: skip
    assert code == 0, out
    assert "saluran (channels): whatsapp" in out
    assert "jenis layanan (service types): kk, akta_kelahiran" in out
    assert "21:00-06:00" in out and "daily digest): on" in out and "(language): en" in out
    before = await _pref_rows(db)
    for bad in (
        ("--channels", "whatsapp,sms"),
        ("--quiet", "21:00"),
        ("--quiet", "21:00-25:00"),
        ("--language", "fr"),
        ("--digest", "maybe"),
        ("--service-types", "ktp"),
    ):
        code, out, err = await cli("ketua005", *bad)
        assert code == 2, (bad, out, err)
        assert len(err.strip().splitlines()) == 1, err
    code, _, err = await cli("nobody", "--digest", "on")
    assert code == 2 and "nobody" in err
    assert await _pref_rows(db) == before
    code, out, _ = await cli("ketua005", "--quiet", "off", "--channels", "all")
    assert code == 0 and "mati (off)" in out and "semua (all)" in out


async def _run(db: Database, registry, clock: Clock) -> Any:
    return await run_notify(
        db,
        registry,
        now=clock,
        enabled_plugins=enabled_plugins,
        options=NotifyOptions(),
        rng=random.Random(3),
    )


async def _prefs(db: Database, user_id: int, **change: Any) -> None:
    await db.write(
        lambda conn: save_preferences(conn, user_id, parse_input(change), datetime.now(UTC))
    )


@pytest.mark.parametrize(
    ("local_hour", "held_until_utc"),
    [
        # 22:30 WITA on 20 Nov: held until 06:00 WITA on 21 Nov (22:00 UTC on 20 Nov)
        (22.5, datetime(2026, 11, 20, 22, 0, tzinfo=UTC)),
        # 03:15 WITA on 21 Nov, after midnight: held until 06:00 WITA the same day
        (27.25, datetime(2026, 11, 20, 22, 0, tzinfo=UTC)),
        # 20:59 WITA: not quiet yet, due at once
        (20 + 59 / 60, None),
        # 06:00 WITA: the window has ended, due at once
        (30.0, None),
    ],
)
async def test_quiet_hours_across_midnight_in_wita(
    db: Database, local_hour: float, held_until_utc: datetime | None
) -> None:
    users = await _setup(db)
    await _prefs(db, users["head_id"], quiet_start="21:00", quiet_end="06:00")
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(db, registry)
    # 20 Nov 2026 00:00 WITA is 19 Nov 16:00 UTC
    start = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    clock = Clock(start)
    clock.advance(hours=local_hour)
    await post(db, RT_A, at=clock())
    await _run(db, registry, clock)
    rows = await deliveries(db)
    assert {r["channel"] for r in rows} == {"whatsapp", "email"}
    if held_until_utc is None:
        assert len(plugin.sent) == 2 and {r["status"] for r in rows} == {"sent"}
        return
    assert plugin.sent == []
    assert {r["status"] for r in rows} == {"pending"}
    assert {r["next_attempt_at"] for r in rows} == {held_until_utc}
    clock.now = held_until_utc - timedelta(seconds=1)  # 05:59:59 WITA
    await _run(db, registry, clock)
    assert plugin.sent == []  # one second before the end: still held
    clock.advance(seconds=1)
    await _run(db, registry, clock)
    assert sorted(s["channel"] for s in plugin.sent) == ["email", "whatsapp"]


async def test_channel_and_service_type_preferences_decide_what_is_planned(
    db: Database,
) -> None:
    users = await _setup(db)
    await _prefs(db, users["head_id"], channels=["whatsapp"], service_types=["akta_kelahiran"])
    plugin = FakeChannels()
    registry = fake_registry(plugin)
    await enable(db, registry)
    clock = Clock()
    await post(db, RT_A, service_type="kk")
    await post(db, RT_A, service_type="akta_kelahiran", name="BAYI BARU")
    await _run(db, registry, clock)
    assert [(s["channel"], s["address"]) for s in plugin.sent] == [("whatsapp", "+6281234567890")]
    assert "BAYI BARU" in plugin.sent[0]["text"]
