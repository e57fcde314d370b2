""" "Kabar warga" (GET /rt/{rt}/kabar, /rt/{rt}/kabar/baru) and the unread count on
the home page, on both backends: newest first, unread marks per reader, live
polling, scope and audit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import RT_A, RT_B
from form_support import sql
from litestar.testing import TestClient
from rt_support import (
    BUDI,
    CHILD,
    SITI,
    World,
    audit_rows,
    birth,
    full_niks,
    ktp_el,
    login,
    make_client,
    seed,
    send_services,
)

from rtbook.core.feed_reads import mark_read, unread_counts
from rtbook.core.settings import DatabaseURL

HX = {"HX-Request": "true"}
_ITEM = re.compile(r'<li class="event( unread)?" id="kabar-([0-9]+)">')
_POLL = re.compile(r'<div id="poll" hx-get="/rt/[^"?]+/kabar/baru\?after=([0-9]+)"')


@pytest.fixture
def world(db_env: DatabaseURL) -> World:
    return seed(db_env)


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with make_client(world) as test_client:
        yield test_client


def items(page: str) -> list[tuple[int, bool]]:
    """(seq, unread) of the feed's items in page order."""
    return [(int(m.group(2)), bool(m.group(1))) for m in _ITEM.finditer(page)]


def home_unread(client: TestClient[Any]) -> list[str]:
    page = client.get("/").text
    return re.findall(r'<a href="/rt/([^"]+)/kabar">([0-9]+) kabar baru', page)


def test_anonymous_is_sent_to_login(client: TestClient[Any]) -> None:
    for path in (f"/rt/{RT_A}/kabar", f"/rt/{RT_A}/kabar/baru?after=0"):
        response = client.get(path, follow_redirects=False, headers=HX)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/rt/")


def test_feed_newest_first_and_unread_once(client: TestClient[Any], world: World) -> None:
    send_services(client, world, ktp_el(BUDI, "ktp-1"), birth())
    login(client, "head_a")
    assert home_unread(client) == [(RT_A, "2")]

    page = client.get(f"/rt/{RT_A}/kabar").text
    assert '<ul id="feed"' in page
    assert items(page) == [(2, True), (1, True)]  # newest first, both new to head_a
    newest = page[page.index('id="kabar-2"') : page.index('id="kabar-1"')]
    assert 'class="badge new">Baru<span class="en"> (new)</span>' in newest
    assert "Akta Kelahiran" in newest and "Kelahiran PUTRI KECIL tercatat" in newest
    assert f"NIK ****{CHILD[-4:]}" in newest
    # 10:00 WITA on the 21st, as the registry said, in the city's time
    assert "21 November 2026 10:00 WITA" in newest
    older = page[page.index('id="kabar-1"') :]
    assert "KTP-el" in older and "BUDI SANTOSO" in older
    assert full_niks(page) == set()
    # the resident a feed item is about is one tap away
    assert re.search(r'<a href="/rt/[^"]+/warga/[a-p]{16}">PUTRI KECIL</a>', newest)

    assert home_unread(client) == []  # opening the feed read them
    again = client.get(f"/rt/{RT_A}/kabar").text
    assert items(again) == [(2, False), (1, False)]
    assert 'class="badge new"' not in again

    # another reader's marker is their own
    login(client, "city_admin")
    assert items(client.get(f"/rt/{RT_A}/kabar").text) == [(2, True), (1, True)]
    assert sql(world.url, "SELECT user_id, rt_code, last_seq FROM feed_read ORDER BY user_id") == [
        {"user_id": world.user_ids["head_a"], "rt_code": RT_A, "last_seq": 2},
        {"user_id": world.user_ids["city_admin"], "rt_code": RT_A, "last_seq": 2},
    ]
    rows = audit_rows(world.url, "events.list")
    assert [(r["username"], r["target"]) for r in rows] == [
        ("head_a", RT_A),
        ("head_a", RT_A),
        ("city_admin", RT_A),
    ]
    assert json.loads(rows[0]["detail"]) == {"rows": 2, "before": None, "view": "page"}


def test_new_items_arrive_by_polling(client: TestClient[Any], world: World) -> None:
    send_services(client, world, ktp_el(BUDI, "ktp-1"))
    login(client, "head_a")
    page = client.get(f"/rt/{RT_A}/kabar").text
    assert 'hx-trigger="every 10s"' in page
    assert _POLL.search(page).group(1) == "1"

    quiet = client.get(f"/rt/{RT_A}/kabar/baru", params={"after": "1"}, headers=HX)
    assert quiet.status_code == 200
    assert items(quiet.text) == [] and _POLL.search(quiet.text).group(1) == "1"
    assert "<html" not in quiet.text
    assert len(audit_rows(world.url, "events.list")) == 1  # an empty poll showed nobody

    send_services(client, world, ktp_el(SITI, "ktp-2"), ktp_el(BUDI, "ktp-3"))
    assert home_unread(client) == [(RT_A, "2")]
    fresh = client.get(f"/rt/{RT_A}/kabar/baru", params={"after": "1"}, headers=HX).text
    assert 'hx-swap-oob="afterbegin:#feed"' in fresh
    assert items(fresh) == [(3, True), (2, True)]  # shown as new, newest on top
    assert "SITI AMINAH" in fresh
    assert _POLL.search(fresh).group(1) == "3"  # the next poll asks after the newest
    assert home_unread(client) == []  # shown on the open page: read
    rows = audit_rows(world.url, "events.list")
    assert json.loads(rows[-1]["detail"]) == {"rows": 2, "after": 1, "view": "poll"}

    # without HTMX the address leads back to the feed; bad numbers are refused
    plain = client.get(f"/rt/{RT_A}/kabar/baru?after=1", follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/rt/{RT_A}/kabar"
    for bad in ("", "-1", "x", "9" * 30):
        response = client.get(f"/rt/{RT_A}/kabar/baru", params={"after": bad}, headers=HX)
        assert response.status_code == 400, bad
        assert "after: harus bilangan bulat" in response.text


def test_older_items_are_paged_and_do_not_move_the_marker(
    client: TestClient[Any], world: World
) -> None:
    send_services(client, world, *(ktp_el(BUDI, f"ktp-{i}") for i in range(35)))
    login(client, "head_a")
    first = client.get(f"/rt/{RT_A}/kabar").text
    assert [seq for seq, _ in items(first)] == list(range(35, 5, -1))
    assert f'href="/rt/{RT_A}/kabar?before=6"' in first
    second = client.get(f"/rt/{RT_A}/kabar", params={"before": "6"}).text
    assert [seq for seq, _ in items(second)] == [5, 4, 3, 2, 1]
    assert 'id="poll"' not in second  # an older page does not poll
    marker = sql(world.url, "SELECT last_seq FROM feed_read")
    assert marker == [{"last_seq": 35}]
    response = client.get(f"/rt/{RT_A}/kabar", params={"before": "lima"})
    assert response.status_code == 400 and "before: harus bilangan bulat" in response.text


def test_feed_scope(client: TestClient[Any], world: World) -> None:
    send_services(client, world, ktp_el(BUDI, "ktp-1"))
    for who, rt in (("head_b", RT_A), ("other_admin", RT_A), ("health", RT_A), ("head_a", RT_B)):
        login(client, who)
        for path in (f"/rt/{rt}/kabar", f"/rt/{rt}/kabar/baru?after=0"):
            response = client.get(path, headers=HX if "baru" in path else {})
            assert response.status_code == 403, (who, path)
            assert "BUDI" not in response.text
    login(client, "admin")
    assert client.get(f"/rt/{RT_A}/kabar").status_code == 200
    assert client.get("/rt/64.71.06.1005-009-009/kabar").status_code == 404
    assert sql(world.url, "SELECT count(*) AS n FROM feed_read WHERE user_id <> $1", -1) == [
        {"n": 1}  # the admin's; no refused reader got a marker
    ]


async def test_markers_never_move_back(db: Any, world: World) -> None:
    user = world.user_ids["head_a"]

    async def unit(conn: Any) -> dict[str, int]:
        for seq in (1, 2, 3):
            await conn.execute(
                "INSERT INTO event (city_code, seq, rt_code, effect, time, data, created_at)"
                " VALUES ('64.71', $1, $2, 'document_issued', $3, '{}', $3)",
                seq,
                RT_A if seq < 3 else RT_B,
                datetime(2026, 11, 20, tzinfo=UTC),
            )
        before = await unread_counts(conn, user, [RT_A, RT_B, "64.71.06.1005-009-009"])
        await mark_read(conn, user, RT_A, 2)
        await mark_read(conn, user, RT_A, 1)  # an older page: stays at 2
        after = await unread_counts(conn, user, [RT_A, RT_B])
        return {"before_a": before[RT_A], "before_b": before[RT_B], "after": len(after)}

    counts = await db.write(unit)
    assert counts == {"before_a": 2, "before_b": 1, "after": 1}
    rows = await db.read(lambda conn: conn.fetch("SELECT last_seq FROM feed_read"))
    assert [r["last_seq"] for r in rows] == [2]
