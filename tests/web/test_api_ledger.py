"""GET /api/v1/rts/{rt}/residents | households | events: content, paging and scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from factories import CITY, RT_A, RT_B, RT_OTHER_CITY
from litestar.testing import TestClient
from web_support import RT_A_PEOPLE, World, write_sql

from rtbook.core.ledger.feed import event_data
from rtbook.web.api_ledger import EventsFeed

RESIDENTS_A = f"/api/v1/rts/{RT_A}/residents"
CONTRACT_FIELDS = {
    "nik",
    "name",
    "sex",
    "birth_place",
    "birth_date",
    "religion",
    "education",
    "occupation",
    "marital_status",
    "shdk",
    "citizenship",
    "no_kk",
    "address",
    "rt",
    "father_name",
    "mother_name",
    "phone",
    "blood_type",
    "status",
}


def get_ok(client: TestClient[Any], url: str, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# -- authentication ----------------------------------------------------------------------


BAD_AUTH: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer rtb_not-a-real-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "rtb_token-without-scheme"},
    {"Authorization": "Bearer " + "x" * 5000},
]


def test_no_valid_token_is_401_with_challenge(client: TestClient[Any]) -> None:
    for headers in BAD_AUTH:
        for url in (RESIDENTS_A, f"/api/v1/rts/{RT_A}/events", "/api/v1/services"):
            method = client.post if url.endswith("services") else client.get
            response = method(url, headers=headers)
            assert response.status_code == 401, (url, headers)
            assert response.headers["www-authenticate"].startswith("Bearer")
            body = response.json()
            assert set(body) == {"error", "details"}
            assert "token" in body["error"]


def test_revoked_token_is_401(client: TestClient[Any], world: World) -> None:
    write_sql(world.url, [("UPDATE api_token SET revoked_at = $1", (datetime.now(UTC),))])
    assert client.get(RESIDENTS_A, headers=world.auth("head_a")).status_code == 401


# -- residents ---------------------------------------------------------------------------


def test_rt_head_reads_own_rt_in_name_order(client: TestClient[Any], world: World) -> None:
    body = get_ok(client, RESIDENTS_A, world.auth("head_a"))
    items = body["items"]
    assert body["next_cursor"] is None
    assert {i["nik"] for i in items} == world.niks()
    assert [(i["name"], i["nik"]) for i in items] == sorted((i["name"], i["nik"]) for i in items)
    first = items[0]
    assert set(first) == CONTRACT_FIELDS
    assert first["rt"] == RT_A
    assert first["name"] == "AGUS SALIM"
    assert first["birth_date"] == "1975-03-01"
    assert first["status"] == "active"


def test_status_filter(client: TestClient[Any], world: World) -> None:
    for status in ("active", "deceased", "moved_out"):
        body = get_ok(client, RESIDENTS_A, world.auth("head_a"), status=status)
        assert {i["nik"] for i in body["items"]} == world.niks(status)
        assert all(i["status"] == status for i in body["items"])


def test_empty_parameters_mean_defaults(client: TestClient[Any], world: World) -> None:
    url = f"{RESIDENTS_A}?status=&q=&cursor=&limit="
    body = get_ok(client, url, world.auth("head_a"))
    assert {i["nik"] for i in body["items"]} == world.niks()


def test_search_by_part_of_name_ignores_case(client: TestClient[Any], world: World) -> None:
    body = get_ok(client, RESIDENTS_A, world.auth("head_a"), q="santo")
    assert [i["name"] for i in body["items"]] == ["BUDI SANTOSO", "BUDI SANTOSO"]
    body = get_ok(client, RESIDENTS_A, world.auth("head_a"), q="dewi", status="active")
    assert sorted(i["name"] for i in body["items"]) == ["CITRA DEWI", "DEWI LESTARI"]


def test_search_by_last_digits_of_nik(client: TestClient[Any], world: World) -> None:
    target = world.residents[6]
    body = get_ok(client, RESIDENTS_A, world.auth("head_a"), q=target["nik"][-6:])
    assert [i["nik"] for i in body["items"]] == [target["nik"]]


def test_search_wildcards_match_themselves(client: TestClient[Any], world: World) -> None:
    assert get_ok(client, RESIDENTS_A, world.auth("head_a"), q="%")["items"] == []
    body = get_ok(client, RESIDENTS_A, world.auth("head_a"), q="_")
    assert [i["name"] for i in body["items"]] == ["HANA_PUTRI"]
    assert get_ok(client, RESIDENTS_A, world.auth("head_a"), q="A%I")["items"] == []


def test_search_does_not_leak_other_rts(client: TestClient[Any], world: World) -> None:
    body = get_ok(client, RESIDENTS_A, world.auth("admin"), q="BUDI")
    assert {i["rt"] for i in body["items"]} == {RT_A}
    assert len(body["items"]) == 2


@pytest.mark.parametrize("limit", [1, 5])
def test_cursor_paging_returns_everyone_once(
    client: TestClient[Any], world: World, limit: int
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = get_ok(client, RESIDENTS_A, world.auth("head_a"), **params)
        assert len(body["items"]) <= limit
        seen.extend(i["nik"] for i in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 100
    assert len(seen) == len(set(seen)) == len(RT_A_PEOPLE)
    assert set(seen) == world.niks()
    assert pages == -(-len(RT_A_PEOPLE) // limit)


def test_paging_with_filter_and_search(client: TestClient[Any], world: World) -> None:
    first = get_ok(client, RESIDENTS_A, world.auth("head_a"), status="active", q="a", limit=3)
    assert len(first["items"]) == 3
    rest = get_ok(
        client,
        RESIDENTS_A,
        world.auth("head_a"),
        status="active",
        q="a",
        limit=200,
        cursor=first["next_cursor"],
    )
    names = [i["name"] for i in first["items"] + rest["items"]]
    expected = sorted(n for n, _, _, s in RT_A_PEOPLE if s == "active" and "a" in n.lower())
    assert names == expected


# -- scope -------------------------------------------------------------------------------


WHATS = ("residents", "households", "events")


def test_readers_of_the_rt(client: TestClient[Any], world: World) -> None:
    for who in ("head_a", "city_admin", "admin"):
        for what in WHATS:
            response = client.get(f"/api/v1/rts/{RT_A}/{what}", headers=world.auth(who))
            assert response.status_code == 200, (who, what, response.text)


def test_others_are_refused(client: TestClient[Any], world: World) -> None:
    for who in ("head_b", "head_other_city", "city_admin_other", "integrator", "health_worker"):
        for what in WHATS:
            response = client.get(f"/api/v1/rts/{RT_A}/{what}", headers=world.auth(who))
            assert response.status_code == 403, (who, what, response.text)
            assert set(response.json()) == {"error", "details"}


def test_rt_head_of_005_is_refused_006_and_other_city(
    client: TestClient[Any], world: World
) -> None:
    for rt in (RT_B, RT_OTHER_CITY):
        response = client.get(f"/api/v1/rts/{rt}/residents", headers=world.auth("head_a"))
        assert response.status_code == 403


def test_city_admin_reads_every_rt_of_their_city_only(
    client: TestClient[Any], world: World
) -> None:
    body = get_ok(client, f"/api/v1/rts/{RT_B}/residents", world.auth("city_admin"))
    assert [i["name"] for i in body["items"]] == ["BUDI RT ENAM"]
    other = client.get(f"/api/v1/rts/{RT_OTHER_CITY}/residents", headers=world.auth("city_admin"))
    assert other.status_code == 403
    body = get_ok(client, f"/api/v1/rts/{RT_OTHER_CITY}/residents", world.auth("city_admin_other"))
    assert [i["name"] for i in body["items"]] == ["BUDI KOTA LAIN"]


def test_unknown_rt_is_404(client: TestClient[Any], world: World) -> None:
    unknown = ["64.71.06.1005-003-099", "64.71.06.1005-3-5", "nope", "64.71.06.1005-003-005x"]
    for rt in unknown:
        for what in WHATS:
            for who in ("admin", "head_a"):
                response = client.get(f"/api/v1/rts/{rt}/{what}", headers=world.auth(who))
                assert response.status_code == 404, (rt, what, who)
                assert "RT" in response.json()["error"]


# -- households --------------------------------------------------------------------------


def test_households_have_active_members_head_first(client: TestClient[Any], world: World) -> None:
    body = get_ok(client, f"/api/v1/rts/{RT_A}/households", world.auth("head_a"))
    by_kk = {h["no_kk"]: h for h in body["items"]}
    # Households of three in seeding order; the first of each is the head.
    expected: dict[str, list[dict[str, Any]]] = {}
    for row in world.residents:
        expected.setdefault(row["no_kk"], []).append(row)
    assert set(by_kk) == set(expected)
    for no_kk, rows in expected.items():
        household = by_kk[no_kk]
        assert household["head_nik"] == rows[0]["nik"]
        active = [r for r in rows if r["status"] == "active"]
        head = [r for r in active if r["nik"] == household["head_nik"]]
        others = sorted(
            (r for r in active if r["nik"] != household["head_nik"]),
            key=lambda r: r["birth_date"],
        )
        assert [m["nik"] for m in household["members"]] == [r["nik"] for r in head + others]
        for member in household["members"]:
            assert set(member) == {"nik", "name", "sex", "shdk", "birth_date", "status"}
            assert member["status"] == "active"


def test_household_without_active_members_is_left_out(
    client: TestClient[Any], world: World
) -> None:
    write_sql(
        world.url,
        [("UPDATE resident SET status = 'deceased' WHERE no_kk = $1", ("6471060101200001",))],
    )
    body = get_ok(client, f"/api/v1/rts/{RT_A}/households", world.auth("head_a"))
    assert "6471060101200001" not in {h["no_kk"] for h in body["items"]}
    assert len(body["items"]) == 3


# -- events ------------------------------------------------------------------------------


def _event_rows(world: World) -> None:
    """Feed events written straight into the table: seq 1..5 in RT 005, 6 in RT 006."""
    statements = []
    for seq in range(1, 7):
        rt = RT_A if seq <= 5 else RT_B
        data = event_data(
            service_type="ktp_el",
            service_id=f"s{seq}",
            effect="document_issued",
            name="AGUS SALIM",
            nik=world.residents[0]["nik"],
            summary="KTP-el diterbitkan untuk AGUS SALIM",
        )
        statements.append(
            (
                "INSERT INTO event (city_code, seq, rt_code, effect, time, data, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                (
                    CITY,
                    seq,
                    rt,
                    "document_issued",
                    datetime(2026, 11, 20, 1, seq, tzinfo=UTC),
                    msgspec.json.encode(data).decode(),
                    datetime(2026, 11, 20, 1, seq, tzinfo=UTC),
                ),
            )
        )
    write_sql(world.url, statements)


def test_events_page_in_sequence_order(client: TestClient[Any], world: World) -> None:
    _event_rows(world)
    url = f"/api/v1/rts/{RT_A}/events"
    body = get_ok(client, url, world.auth("head_a"))
    assert [e["sequence"] for e in body["items"]] == ["1", "2", "3", "4", "5"]
    assert body["next_after"] == "5"
    event = body["items"][0]
    assert event["specversion"] == "1.0"
    assert event["type"] == "rtbook.service.completed"
    assert event["subject"] == RT_A
    assert event["data"]["resident"]["nik_masked"].endswith(world.residents[0]["nik"][-4:])
    assert world.residents[0]["nik"] not in str(body)

    page = get_ok(client, url, world.auth("head_a"), after=2, limit=2)
    assert [e["sequence"] for e in page["items"]] == ["3", "4"]
    assert page["next_after"] == "4"
    end = get_ok(client, url, world.auth("head_a"), after=5)
    assert end == {"items": [], "next_after": "5"}
    beyond = get_ok(client, url, world.auth("head_a"), after=2**62)
    assert beyond == {"items": [], "next_after": str(2**62)}


def test_events_of_other_rts_stay_there(client: TestClient[Any], world: World) -> None:
    _event_rows(world)
    body = get_ok(client, f"/api/v1/rts/{RT_B}/events", world.auth("head_b"))
    assert [e["sequence"] for e in body["items"]] == ["6"]
    assert body["items"][0]["subject"] == RT_B


def test_events_match_the_documented_shape(client: TestClient[Any], world: World) -> None:
    _event_rows(world)
    body = get_ok(client, f"/api/v1/rts/{RT_A}/events", world.auth("admin"))
    # The OpenAPI model of the feed and what is served agree, field for field.
    typed = msgspec.convert(body, EventsFeed)
    assert msgspec.to_builtins(typed) == body
