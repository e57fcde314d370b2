"""Vaccine doses: POST /api/v1/lansia/doses, GET .../residents/{nik}/doses, the doses
in the list and its filters (not vaccinated, dose N missing), on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from factories import CITY, RT_A
from lansia_support import KELURAHAN, RT_C, World, fetch
from litestar.testing import TestClient


def dose(nik: str, **fields: Any) -> dict[str, Any]:
    body = {
        "nik": nik,
        "vaccine": "Sinovac",
        "dose_number": 1,
        "date": "2021-03-01",
        "place": "Puskesmas Damai",
    }
    body.update(fields)
    return body


def post_dose(client: TestClient[Any], world: World, who: str, body: Any, **params: str) -> Any:
    return client.post("/api/v1/lansia/doses", json=body, params=params, headers=world.auth(who))


def listed(client: TestClient[Any], world: World, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get(
        "/api/v1/lansia",
        params={"area": KELURAHAN, "as_of": "2026-11-20", **params},
        headers=world.auth("hw_damai"),
    )
    assert response.status_code == 200, response.text
    return {i["nik"]: i for i in response.json()["items"]}


def test_a_health_worker_records_doses_and_the_list_shows_them(
    client: TestClient[Any], world: World
) -> None:
    ahmad = world.nik("AHMAD TUA")
    response = post_dose(client, world, "hw_damai", dose(ahmad))
    assert response.status_code == 200, response.text
    assert response.json() == dose(ahmad)
    second = dose(ahmad, dose_number=2, date="2021-04-01", place="RSUD Kanujoso")
    assert post_dose(client, world, "hw_damai", second).status_code == 200

    items = listed(client, world)
    assert items[ahmad]["doses"] == [
        {"vaccine": "Sinovac", "dose_number": 1, "date": "2021-03-01", "place": "Puskesmas Damai"},
        {"vaccine": "Sinovac", "dose_number": 2, "date": "2021-04-01", "place": "RSUD Kanujoso"},
    ]
    others = [i for nik, i in items.items() if nik != ahmad]
    assert others and all(i["doses"] == [] for i in others)

    answer = client.get(f"/api/v1/lansia/residents/{ahmad}/doses", headers=world.auth("head_a"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "AHMAD TUA"
    assert [d["dose_number"] for d in answer.json()["doses"]] == [1, 2]

    rows = fetch(world.url, "SELECT nik, city_code, recorded_by FROM lansia_dose ORDER BY id")
    assert (
        rows == [{"nik": ahmad, "city_code": CITY, "recorded_by": world.user_ids["hw_damai"]}] * 2
    )


def test_filters_not_vaccinated_and_dose_missing(client: TestClient[Any], world: World) -> None:
    ahmad, budi = world.nik("AHMAD TUA"), world.nik("BUDI ENAM PULUH")
    everyone = set(listed(client, world))
    assert post_dose(client, world, "hw_damai", dose(ahmad)).status_code == 200
    assert (
        post_dose(client, world, "hw_damai", dose(budi, vaccine="AstraZeneca")).status_code == 200
    )

    assert set(listed(client, world, not_vaccinated="true")) == everyone - {ahmad, budi}
    assert set(listed(client, world, not_vaccinated="false")) == everyone
    # dose 1 of any vaccine: both have one; dose 2: nobody has one
    assert set(listed(client, world, missing_dose="1")) == everyone - {ahmad, budi}
    assert set(listed(client, world, missing_dose="2")) == everyone
    # narrowed to one vaccine (names compared without case)
    assert set(listed(client, world, missing_dose="1", vaccine="sinovac")) == everyone - {ahmad}
    assert set(listed(client, world, not_vaccinated="true", vaccine="ASTRAZENECA")) == (
        everyone - {budi}
    )
    # a vaccine alone narrows no filter: everyone, not an error
    assert set(listed(client, world, vaccine="sinovac")) == everyone
    assert post_dose(client, world, "hw_damai", dose(ahmad, dose_number=2)).status_code == 200
    assert ahmad not in listed(client, world, missing_dose="2")
    # the CSV honours the filters too
    response = client.get(
        "/api/v1/lansia",
        params={"area": KELURAHAN, "as_of": "2026-11-20", "missing_dose": "2", "format": "csv"},
        headers=world.auth("hw_damai"),
    )
    lines = response.text.strip().splitlines()
    assert len(lines) == 1 + len(everyone) - 1 and all(ahmad not in line for line in lines)


def test_a_dose_number_is_recorded_once_per_vaccine(client: TestClient[Any], world: World) -> None:
    ahmad = world.nik("AHMAD TUA")
    assert post_dose(client, world, "hw_damai", dose(ahmad)).status_code == 200
    for body in (dose(ahmad), dose(ahmad, vaccine=" sinovac ", date="2021-05-05")):
        response = post_dose(client, world, "hw_damai", body)
        assert response.status_code == 409, response.text
        assert set(response.json()) == {"error", "details"}
    # the same number of another vaccine is another dose
    assert post_dose(client, world, "hw_damai", dose(ahmad, vaccine="Pfizer")).status_code == 200
    assert len(fetch(world.url, "SELECT id FROM lansia_dose")) == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"dose_number": 0}, "dose_number"),
        ({"dose_number": 11}, "dose_number"),
        ({"dose_number": "1"}, "dose_number"),
        ({"dose_number": True}, "dose_number"),
        ({"date": "2999-01-01"}, "date"),  # in the future
        ({"date": "1949-12-31"}, "date"),  # before the resident was born
        ({"date": "2021-02-30"}, "date"),
        ({"vaccine": "  "}, "vaccine"),
        ({"vaccine": "x" * 61}, "vaccine"),
        ({"place": None}, "place"),
        ({"nik": "123"}, "nik"),
    ],
)
def test_bad_doses_are_422_and_change_nothing(
    client: TestClient[Any], world: World, fields: dict[str, Any], field: str
) -> None:
    body = {**dose(world.nik("AHMAD TUA")), **fields}
    response = post_dose(client, world, "hw_damai", body)
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["details"]}
    assert fetch(world.url, "SELECT id FROM lansia_dose") == []


def test_malformed_bodies_are_4xx(client: TestClient[Any], world: World) -> None:
    for body in ([1, 2], {"nik": world.nik("AHMAD TUA"), "extra": 1}):
        response = post_dose(client, world, "hw_damai", body)
        assert response.status_code in (400, 422), response.text
    response = client.post(
        "/api/v1/lansia/doses",
        content=b"{not json",
        headers={**world.auth("hw_damai"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert fetch(world.url, "SELECT id FROM lansia_dose") == []


@pytest.mark.parametrize(
    ("who", "name", "params", "status"),
    [
        ("hw_damai", "AHMAD TUA", {}, 200),
        ("hw_damai", "JOKO KECAMATAN LAIN", {}, 403),  # outside their area
        ("hw_other", "JOKO KECAMATAN LAIN", {}, 200),
        ("head_a", "AHMAD TUA", {}, 403),  # RT heads see doses, they do not record them
        ("integrator", "AHMAD TUA", {}, 403),
        ("city_admin", "AHMAD TUA", {}, 200),
        ("city_admin_other", "AHMAD TUA", {}, 404),  # the plugin is off in their city
        ("admin", "AHMAD TUA", {}, 404),  # no city for the gate
        ("admin", "AHMAD TUA", {"city": CITY}, 200),
    ],
)
def test_who_may_record(
    client: TestClient[Any], world: World, who: str, name: str, params: dict[str, str], status: int
) -> None:
    response = post_dose(client, world, who, dose(world.nik(name)), **params)
    assert response.status_code == status, response.text


def test_unknown_resident_is_404(client: TestClient[Any], world: World) -> None:
    response = post_dose(client, world, "hw_damai", dose("6471069999999999"))
    assert response.status_code == 404
    response = client.get(
        "/api/v1/lansia/residents/6471069999999999/doses", headers=world.auth("hw_damai")
    )
    assert response.status_code == 404
    response = client.get("/api/v1/lansia/residents/12345/doses", headers=world.auth("hw_damai"))
    assert response.status_code == 400


def test_reading_doses_respects_scope(client: TestClient[Any], world: World) -> None:
    joko = world.nik("JOKO KECAMATAN LAIN")
    for who, status in (("hw_damai", 403), ("head_a", 403), ("hw_other", 200), ("city_admin", 200)):
        response = client.get(f"/api/v1/lansia/residents/{joko}/doses", headers=world.auth(who))
        assert response.status_code == status, (who, response.text)
    ahmad = world.nik("AHMAD TUA")
    response = client.get(f"/api/v1/lansia/residents/{ahmad}/doses", headers=world.auth("head_b"))
    assert response.status_code == 403
    assert RT_A and RT_C  # the two RTs these residents live in
