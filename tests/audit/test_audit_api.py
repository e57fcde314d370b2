"""GET /api/v1/audit (CONTRACT.md, Web sessions and audit): who may read which rows,
paging with next_cursor, the filters, and bad parameters as 400. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from audit_support import add_rows
from factories import CITY, RT_A
from web.web_support import World

OTHER = "64.72"
DAY1 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, 23, 59, tzinfo=UTC)
DAY3 = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def trail(world: World) -> World:
    add_rows(
        world.url,
        [
            ("residents.list", RT_A, CITY, "head_a", DAY1),
            ("auth.login", None, CITY, "city_admin", DAY1),
            ("residents.list", "64.72.01.1001-001-001", OTHER, "head_other_city", DAY2),
            ("auth.login_failed", None, None, "nobody", DAY2),
            ("resident.read", "3171012345678901", CITY, "city_admin", DAY2),
            ("lansia.list", "64.71.06", CITY, "health_worker", DAY3),
        ],
    )
    return world


def walk(client, world: World, who: str, query: str = "") -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        url = f"/api/v1/audit?limit=2{query}" + (f"&cursor={cursor}" if cursor else "")
        answer = client.get(url, headers=world.auth(who))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert pages < 20


def test_items_have_the_contract_shape(client, trail: World) -> None:
    answer = client.get("/api/v1/audit", headers=trail.auth("admin"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert {"at", "user", "action", "target", "scope"} <= set(first)
    assert first["at"] == "2026-11-01T08:00:00Z"
    assert (first["user"], first["action"], first["target"], first["scope"]) == (
        "head_a",
        "residents.list",
        RT_A,
        CITY,
    )
    masked = next(i for i in body["items"] if i["action"] == "resident.read")
    assert masked["target"] == "************8901"


def test_admin_sees_all_city_admin_only_their_city(client, trail: World) -> None:
    assert len(walk(client, trail, "admin")) == 6
    theirs = walk(client, trail, "city_admin")
    assert [i["action"] for i in theirs] == [
        "residents.list",
        "auth.login",
        "resident.read",
        "lansia.list",
    ]
    assert {i["scope"] for i in theirs} == {CITY}
    other = walk(client, trail, "city_admin_other")
    assert [(i["user"], i["scope"]) for i in other] == [("head_other_city", OTHER)]


@pytest.mark.parametrize("who", ["head_a", "integrator", "health_worker"])
def test_other_roles_are_refused(client, trail: World, who: str) -> None:
    answer = client.get("/api/v1/audit", headers=trail.auth(who))
    assert answer.status_code == 403
    assert set(answer.json()) == {"error", "details"}
    assert "residents.list" not in answer.text


def test_without_a_token_401(client, trail: World) -> None:
    assert client.get("/api/v1/audit").status_code == 401


def test_paging_covers_every_row_once(client, trail: World) -> None:
    items = walk(client, trail, "admin")
    ids = [i["id"] for i in items]
    assert ids == sorted(ids) and len(set(ids)) == 6
    last = client.get("/api/v1/audit?limit=6", headers=trail.auth("admin")).json()
    assert len(last["items"]) == 6 and last["next_cursor"] is None


def test_filters(client, trail: World) -> None:
    def actions(query: str, who: str = "admin") -> list[str]:
        answer = client.get(f"/api/v1/audit?{query}", headers=trail.auth(who))
        assert answer.status_code == 200, answer.text
        return [i["action"] for i in answer.json()["items"]]

    assert actions("action=residents.list") == ["residents.list", "residents.list"]
    assert actions("action=residents.list", "city_admin") == ["residents.list"]
    assert actions("action=auth.") == ["auth.login", "auth.login_failed"]
    assert actions("user=city_admin") == ["auth.login", "resident.read"]
    assert actions("user=nobody") == ["auth.login_failed"]
    assert actions("since=2026-11-02") == [
        "residents.list",
        "auth.login_failed",
        "resident.read",
        "lansia.list",
    ]
    assert actions("until=2026-11-02") == [  # the whole day included
        "residents.list",
        "auth.login",
        "residents.list",
        "auth.login_failed",
        "resident.read",
    ]
    assert actions("since=2026-11-02&until=2026-11-02") == [
        "residents.list",
        "auth.login_failed",
        "resident.read",
    ]
    assert actions("since=2026-11-02T23:59:00%2B00:00&until=2026-11-03T00:00:00Z") == [
        "residents.list",
        "auth.login_failed",
        "resident.read",
    ]
    assert actions("since=2026-11-03T09:00:00%2B09:00") == ["lansia.list"]  # 00:00 UTC
    assert actions("action=nothing.here") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=1001", "limit"),
        ("cursor=xyz", "cursor"),
        ("cursor=-1", "cursor"),
        ("cursor=99999999999999999999999", "cursor"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=9999-12-31T25:00", "since"),
        ("action=" + "a" * 65, "action"),
        ("user=%01x", "user"),
    ],
)
def test_bad_parameters_are_400(client, trail: World, query: str, field: str) -> None:
    answer = client.get(f"/api/v1/audit?{query}", headers=trail.auth("admin"))
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] and [d["field"] for d in body["details"]] == [field]


def test_reading_the_trail_as_head_is_itself_recorded(client, trail: World) -> None:
    client.get("/api/v1/audit", headers=trail.auth("head_a"))
    answer = client.get("/api/v1/audit?action=auth.forbidden", headers=trail.auth("city_admin"))
    (item,) = answer.json()["items"]
    assert (item["user"], item["target"], item["scope"]) == ("head_a", "/api/v1/audit", CITY)
