"""POST /api/v1/services through HTTP: who may post, body shapes, limits, and the
ledger and feed it changes (read back through the API)."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from factories import RT_A, nik_for
from litestar.testing import TestClient
from web_support import World, run_sql

SERVICES = "/api/v1/services"
CHILD_NIK = nik_for(date(2026, 11, 1), "P", 77)


def ktp_el(world: World, ident: str = "ktp-1") -> dict[str, Any]:
    return {
        "source": "siak-6471",
        "id": ident,
        "type": "ktp_el",
        "completed_at": "2026-11-20T09:00:00+08:00",
        "nik": world.residents[0]["nik"],
        "document_number": "KTP-0001",
        "data": {},
    }


def birth(world: World) -> dict[str, Any]:
    return {
        "source": "siak-6471",
        "id": "lahir-1",
        "type": "akta_kelahiran",
        "completed_at": "2026-11-20T10:00:00+08:00",
        "nik": CHILD_NIK,
        "rt": RT_A,
        "data": {
            "child": {
                "name": "PUTRI KECIL",
                "sex": "P",
                "birth_date": "2026-11-01",
                "birth_place": "BALIKPAPAN",
                "no_kk": world.residents[0]["no_kk"],
                "shdk": "anak",
                "religion": "islam",
                "citizenship": "WNI",
            }
        },
    }


def stored(world: World) -> tuple[int, int]:
    """(service records, feed events) in the database."""
    return (
        run_sql(world.url, "SELECT count(*) FROM service_record"),
        run_sql(world.url, "SELECT count(*) FROM event"),
    )


def post(client: TestClient[Any], world: World, who: str, body: Any) -> Any:
    return client.post(SERVICES, headers=world.auth(who), json=body)


def test_applied_services_show_in_book_and_feed(client: TestClient[Any], world: World) -> None:
    response = post(client, world, "integrator", {"services": [ktp_el(world), birth(world)]})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["id"], r["status"]) for r in results] == [
        ("ktp-1", "applied"),
        ("lahir-1", "applied"),
    ]
    assert all(r["errors"] == [] for r in results)

    feed = client.get(f"/api/v1/rts/{RT_A}/events", headers=world.auth("head_a")).json()
    assert [e["data"]["service_type"] for e in feed["items"]] == ["ktp_el", "akta_kelahiran"]
    sequences = [int(e["sequence"]) for e in feed["items"]]
    assert sequences == sorted(sequences) and len(set(sequences)) == 2
    assert feed["next_after"] == feed["items"][-1]["sequence"]
    assert CHILD_NIK not in response.text + str(feed)  # only masked NIKs in the feed

    later = client.get(
        f"/api/v1/rts/{RT_A}/events",
        headers=world.auth("head_a"),
        params={"after": feed["next_after"]},
    ).json()
    assert later == {"items": [], "next_after": feed["next_after"]}

    book = client.get(
        f"/api/v1/rts/{RT_A}/residents", headers=world.auth("head_a"), params={"q": "putri kecil"}
    ).json()
    assert [(i["nik"], i["birth_date"], i["status"]) for i in book["items"]] == [
        (CHILD_NIK, "2026-11-01", "active")
    ]


def test_resent_service_is_a_duplicate(client: TestClient[Any], world: World) -> None:
    assert post(client, world, "integrator", {"services": [ktp_el(world)]}).status_code == 200
    again = post(client, world, "city_admin", {"services": [ktp_el(world)]})
    assert again.status_code == 200
    assert again.json()["results"][0]["status"] == "duplicate"
    assert stored(world) == (1, 1)


def test_bad_items_are_rejected_one_by_one(client: TestClient[Any], world: World) -> None:
    items = [5, {"type": "ktp_el"}, ktp_el(world), "x"]
    response = post(client, world, "admin", {"services": items})
    assert response.status_code == 200, response.text
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["rejected", "rejected", "applied", "rejected"]
    assert all(r["errors"] for r in response.json()["results"] if r["status"] == "rejected")
    assert stored(world) == (1, 1)


def test_rt_head_and_health_worker_may_not_post(client: TestClient[Any], world: World) -> None:
    for who in ("head_a", "health_worker"):
        response = post(client, world, who, {"services": [ktp_el(world)]})
        assert response.status_code == 403, who
        assert set(response.json()) == {"error", "details"}
    assert stored(world) == (0, 0)


def test_more_than_1000_items_is_422_and_stores_nothing(
    client: TestClient[Any], world: World
) -> None:
    items = [ktp_el(world, f"k{i}") for i in range(1001)]
    response = post(client, world, "integrator", {"services": items})
    assert response.status_code == 422
    body = response.json()
    assert "1000" in body["error"]
    assert body["details"][0]["field"] == "services"
    assert stored(world) == (0, 0)


def test_bodies_of_the_wrong_shape(client: TestClient[Any], world: World) -> None:
    cases: list[tuple[bytes, int]] = [
        (b'{"services": [', 400),
        (b"not json at all", 400),
        (b"", 400),
        (b'{"services": []}', 422),
        (b"{}", 422),
        (b"[]", 422),
        (b"null", 422),
        (b'"services"', 422),
        (b'{"services": {"id": 1}}', 422),
        (b'{"services": "x"}', 422),
        (b'{"services": ["\xff\xfe"]}', 400),  # not UTF-8
        (b'{"services": [{"id": "\\ud800"}]}', 400),  # a lone surrogate
        (b'{"services": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", 400),  # too deep
    ]
    for raw, status in cases:
        response = client.post(
            SERVICES,
            headers={**world.auth("integrator"), "Content-Type": "application/json"},
            content=raw,
        )
        assert response.status_code == status, (raw, response.text)
        body = response.json()
        assert set(body) == {"error", "details"} and body["error"], raw
    assert stored(world) == (0, 0)


def test_oversize_body_is_413(client: TestClient[Any], world: World) -> None:
    filler = "x" * (4 * 1024 * 1024)
    raw = msgspec.json.encode({"services": [ktp_el(world)], "filler": filler})
    response = client.post(
        SERVICES,
        headers={**world.auth("integrator"), "Content-Type": "application/json"},
        content=raw,
    )
    assert response.status_code == 413
    assert set(response.json()) == {"error", "details"}

    def chunks() -> Any:  # no Content-Length: the limit holds on the bytes streamed
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    response = client.post(
        SERVICES,
        headers={**world.auth("integrator"), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert response.status_code == 413
    assert stored(world) == (0, 0)


def test_1000_items_fit_the_body_limit(client: TestClient[Any], world: World) -> None:
    # Full birth items (a whole resident record each) under the limit; every one is a
    # different child, so all are applied.
    items = []
    for i in range(1000):
        item = birth(world)
        item["id"] = f"lahir-{i}"
        item["nik"] = nik_for(date(2026, 11, 1), "P", 1000 + i)
        item["data"]["child"]["name"] = f"ANAK NOMOR {i}"
        items.append(item)
    response = post(client, world, "integrator", {"services": items})
    assert response.status_code == 200, response.text[:500]
    assert {r["status"] for r in response.json()["results"]} == {"applied"}
    assert stored(world) == (1000, 1000)
