"""GET /api/v1/lansia: the exact list (against an independent computation), its
formats, scopes and bad input, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from factories import CITY, RT_A, RT_B
from lansia_support import (
    AS_OF,
    KECAMATAN,
    KELURAHAN,
    RT_C,
    XLSX,
    World,
    contract_fields,
    expected_list,
    post_service,
)
from litestar.testing import TestClient
from openpyxl import load_workbook


def get_list(client: TestClient[Any], world: World, who: str, **params: Any) -> Any:
    headers = world.auth(who)
    if "accept" in params:
        headers["Accept"] = params.pop("accept")
    return client.get("/api/v1/lansia", params=params, headers=headers)


def items_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_list_is_exact_on_both_sides_of_the_60th_birthday(
    client: TestClient[Any], world: World
) -> None:
    for day in (AS_OF - timedelta(days=1), AS_OF, AS_OF + timedelta(days=1)):
        items = items_of(get_list(client, world, "admin", area=CITY, as_of=day.isoformat()))
        assert [contract_fields(i) for i in items] == expected_list(world.residents, CITY, day)

    on_day = {
        i["name"]: i
        for i in items_of(get_list(client, world, "admin", area=CITY, as_of="2026-11-20"))
    }
    assert on_day["BUDI ENAM PULUH"]["age"] == 60  # turns 60 on as_of: listed
    assert "CANDRA BESOK" not in on_day  # turns 60 the day after: not yet
    assert "EKO MENINGGAL" not in on_day and "FITRI PINDAH" not in on_day  # dead, moved out
    assert "GITA MUDA" not in on_day
    day_after = items_of(get_list(client, world, "admin", area=CITY, as_of="2026-11-21"))
    assert {"BUDI ENAM PULUH", "CANDRA BESOK"} <= {i["name"] for i in day_after}


def test_ordered_by_rt_then_name_then_nik(client: TestClient[Any], world: World) -> None:
    items = items_of(get_list(client, world, "city_admin", area=CITY, as_of="2026-11-20"))
    keys = [(i["rt"], i["name"], i["nik"]) for i in items]
    assert keys == sorted(keys)
    assert [i["rt"] for i in items][:1] == [RT_C]  # 64.71.05... before 64.71.06...
    hartono = [i for i in items if i["name"] == "HARTONO"]
    assert len(hartono) == 2 and hartono[0]["nik"] < hartono[1]["nik"]


def test_29_february_birthday_counts_on_1_march_in_a_common_year(
    client: TestClient[Any], world: World
) -> None:
    # DEWI KABISAT, born 29 Feb 1960, turns 65 on 1 March 2025 (2025 is not a leap year)
    response = client.put(
        f"/api/v1/cities/{CITY}/plugins/lansia",
        json={"enabled": True, "config": {"min_age": 65}},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200, response.text
    for day, listed in ((date(2025, 2, 28), False), (date(2025, 3, 1), True)):
        items = items_of(get_list(client, world, "admin", area=RT_A, as_of=day.isoformat()))
        assert [contract_fields(i) for i in items] == expected_list(world.residents, RT_A, day, 65)
        names = {i["name"]: i["age"] for i in items}
        assert ("DEWI KABISAT" in names) is listed
    assert names["DEWI KABISAT"] == 65
    # in a leap year the birthday is 29 February itself
    leap = items_of(get_list(client, world, "admin", area=RT_A, as_of="2024-02-29"))
    assert "DEWI KABISAT" not in {i["name"] for i in leap}  # 64 that day
    items = items_of(get_list(client, world, "admin", area=RT_A, as_of="2028-02-29"))
    assert {i["name"]: i["age"] for i in items}["DEWI KABISAT"] == 68


@pytest.mark.parametrize("area", [KECAMATAN, KELURAHAN, RT_A, RT_B, RT_C])
def test_every_kind_of_area(client: TestClient[Any], world: World, area: str) -> None:
    items = items_of(get_list(client, world, "admin", area=area, as_of="2026-11-20"))
    assert [contract_fields(i) for i in items] == expected_list(world.residents, area, AS_OF)
    assert items  # each area has lansia


def test_a_move_in_shows_at_once(client: TestClient[Any], world: World) -> None:
    before = items_of(get_list(client, world, "admin", area=RT_B, as_of="2026-11-20"))
    # one HARTONO (born 1950) moves from RT 005 to RT 006: the list reads the ledger
    nik = min(r["nik"] for r in world.residents if r["name"] == "HARTONO")
    post_service(client, world, "pindah_dalam", nik, rt=RT_B, data={"from_rt": RT_A})
    after = items_of(get_list(client, world, "admin", area=RT_B, as_of="2026-11-20"))
    assert len(after) == len(before) + 1 and nik in {i["nik"] for i in after}
    rt_a = items_of(get_list(client, world, "admin", area=RT_A, as_of="2026-11-20"))
    assert nik not in {i["nik"] for i in rt_a}
    # a death takes them off at once too
    post_service(client, world, "akta_kematian", nik, data={"date_of_death": "2026-11-19"})
    gone = items_of(get_list(client, world, "admin", area=RT_B, as_of="2026-11-20"))
    assert nik not in {i["nik"] for i in gone}


def test_csv_has_the_contract_header_and_the_same_rows(
    client: TestClient[Any], world: World
) -> None:
    response = get_list(
        client, world, "hw_damai", area=KELURAHAN, as_of="2026-11-20", accept="text/csv"
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == ["nik", "name", "sex", "birth_date", "age", "rt", "address"]
    expected = expected_list(world.residents, KELURAHAN, AS_OF)
    assert rows[1:] == [[str(v) for v in e.values()] for e in expected]
    # format= does the same for a link in a browser
    again = get_list(client, world, "hw_damai", area=KELURAHAN, as_of="2026-11-20", format="csv")
    assert again.content == response.content


def test_xlsx_holds_the_same_rows_with_nik_as_text(client: TestClient[Any], world: World) -> None:
    response = get_list(client, world, "hw_damai", area=KELURAHAN, as_of="2026-11-20", accept=XLSX)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX)
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("nik", "name", "sex", "birth_date", "age", "rt", "address", "doses")
    expected = expected_list(world.residents, KELURAHAN, AS_OF)
    got = [
        {
            "nik": r[0],
            "name": r[1],
            "sex": r[2],
            "birth_date": r[3].date().isoformat(),
            "age": r[4],
            "rt": r[5],
            "address": r[6],
        }
        for r in rows[1:]
    ]
    assert got == expected
    assert all(isinstance(r[0], str) and len(r[0]) == 16 for r in rows[1:])


# -- scopes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "area", "status"),
    [
        ("hw_damai", KELURAHAN, 200),
        ("hw_damai", RT_A, 200),
        ("hw_damai", KECAMATAN, 403),  # wider than their kelurahan
        ("hw_damai", CITY, 403),
        ("hw_damai", RT_C, 403),  # another kecamatan
        ("hw_other", RT_A, 403),
        ("hw_other", RT_C, 200),
        ("hw_city", CITY, 200),
        ("head_a", RT_A, 200),
        ("head_a", RT_B, 403),  # RT head of another RT
        ("head_a", KELURAHAN, 403),  # only their RT, not their kelurahan
        ("city_admin", CITY, 200),
        ("city_admin_other", CITY, 403),
        ("integrator", RT_A, 403),
        ("admin", CITY, 200),
    ],
)
def test_scopes(client: TestClient[Any], world: World, who: str, area: str, status: int) -> None:
    response = get_list(client, world, who, area=area, as_of="2026-11-20")
    assert response.status_code == status, response.text
    if status != 200:
        assert set(response.json()) == {"error", "details"}


def test_404_where_the_plugin_is_not_enabled_or_the_area_does_not_exist(
    client: TestClient[Any], world: World
) -> None:
    from factories import RT_OTHER_CITY

    for who in ("admin", "city_admin_other"):
        response = get_list(client, world, who, area=RT_OTHER_CITY, as_of="2026-11-20")
        assert response.status_code == 404, response.text
    for area in ("64.71.99", "64.71.06.9999", "64.71.06.1005-009-009", "64.99"):
        response = get_list(client, world, "admin", area=area, as_of="2026-11-20")
        assert response.status_code == 404, (area, response.text)
    # disabled: 404 even where it was working a moment ago
    response = client.put(
        f"/api/v1/cities/{CITY}/plugins/lansia",
        json={"enabled": False},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200
    assert get_list(client, world, "head_a", area=RT_A, as_of="2026-11-20").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"area": "64.71.0X", "as_of": "2026-11-20"},
        {"area": "64.71.06.1005-3-5", "as_of": "2026-11-20"},
        {"area": "64.71", "as_of": "2026-02-30"},
        {"area": "64.71", "as_of": "20-11-2026"},
        {"area": "64.71", "as_of": "2026-11-20", "missing_dose": "0"},
        {"area": "64.71", "as_of": "2026-11-20", "missing_dose": "x"},
        {"area": "64.71", "as_of": "2026-11-20", "not_vaccinated": "maybe"},
        {"area": "64.71", "as_of": "2026-11-20", "format": "pdf"},
        {"as_of": "2026-11-20"},  # no area: the caller's city passes the gate, then 400
    ],
)
def test_bad_parameters_are_400(
    client: TestClient[Any], world: World, params: dict[str, str]
) -> None:
    response = get_list(client, world, "city_admin", **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "details"} and body["details"][0]["field"]


def test_as_of_defaults_to_today_in_the_city(client: TestClient[Any], world: World) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Makassar")).date()
    items = items_of(get_list(client, world, "admin", area=CITY))
    assert [contract_fields(i) for i in items] == expected_list(world.residents, CITY, today)


@pytest.mark.parametrize(
    "config", [{"min_age": 39}, {"min_age": 101}, {"min_age": "60"}, {"age": 60}]
)
def test_config_is_checked(client: TestClient[Any], world: World, config: dict[str, Any]) -> None:
    response = client.put(
        f"/api/v1/cities/{CITY}/plugins/lansia",
        json={"enabled": True, "config": config},
        headers=world.auth("city_admin"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"]
    # the stored config is untouched: still 60
    items = items_of(get_list(client, world, "admin", area=CITY, as_of="2026-11-20"))
    assert [contract_fields(i) for i in items] == expected_list(world.residents, CITY, AS_OF)
