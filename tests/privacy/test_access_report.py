"""The resident access report: everything held on one NIK, nothing on anyone else,
only for the resident's city admin and admins, every read audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factories import RT_A, RT_B
from litestar.testing import TestClient
from privacy_support import (
    BYSTANDER_NIK,
    CHILD_NIK,
    MOTHER_NIK,
    NEW_KK,
    OLD_KK,
    OTHER_CITY_NIK,
    World,
    child_life,
    run_sql,
    write_sql,
)

REPORT = "/api/v1/residents/{}/access-report"


def live_child(client: TestClient[Any], world: World) -> None:
    response = client.post(
        "/api/v1/services", headers=world.auth("integrator"), json={"services": child_life()}
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["applied"] * 5, response.text
    write_sql(
        world.url,
        [
            (
                "INSERT INTO lansia_dose (nik, city_code, vaccine, dose_number, given_on, place,"
                " recorded_by, recorded_at) VALUES ($1, '64.71', 'BCG', 1, '2026-11-03',"
                " 'PUSKESMAS DAMAI', NULL, '2026-11-03T01:00:00+00:00')",
                (CHILD_NIK,),
            ),
            (
                "INSERT INTO lansia_dose (nik, city_code, vaccine, dose_number, given_on, place,"
                " recorded_by, recorded_at) VALUES ($1, '64.71', 'INFLUENZA', 1, '2026-11-03',"
                " 'PUSKESMAS DAMAI', NULL, '2026-11-03T01:00:00+00:00')",
                (BYSTANDER_NIK,),
            ),
        ],
    )


def report_of(client: TestClient[Any], world: World, who: str, nik: str) -> Any:
    return client.get(REPORT.format(nik), headers=world.auth(who))


def test_report_holds_a_whole_life_and_nothing_of_anyone_else(
    client: TestClient[Any], world: World
) -> None:
    live_child(client, world)
    response = report_of(client, world, "city_admin", CHILD_NIK)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    report = response.json()

    assert report["nik"] == CHILD_NIK
    resident = report["resident"]
    assert (resident["name"], resident["status"], resident["rt_code"]) == (
        "ANAK KECIL",
        "deceased",
        RT_B,
    )
    assert resident["date_of_death"] == "2026-11-14"
    assert report["household"]["no_kk"] == NEW_KK
    assert report["household"]["is_head"] is False
    assert [(h["no_kk"], h["shdk"]) for h in report["kk_history"]] == [(OLD_KK, "anak")]
    assert sorted((d["type"], d["number"]) for d in report["documents"]) == [
        ("akta_kelahiran", "AL-0001"),
        ("akta_kematian", "AK-0001"),
        ("pindah_dalam", None),
    ]
    kinds = [c["kind"] for c in report["changes"]]
    assert kinds == [
        "resident_added",
        "household_changed",
        "resident_moved_out",
        "resident_moved_in",
        "resident_deceased",
    ]
    assert report["changes"][0]["after"]["name"] == "ANAK KECIL"  # decoded JSON, not text
    records = {r["external_id"]: r for r in report["service_records"]}
    assert set(records) == {"lahir-1", "kk-1", "pindah-1", "mati-1"}
    assert [k for k, r in records.items() if r["about_this_resident"]] == [
        "lahir-1",
        "pindah-1",
        "mati-1",
    ]
    assert records["kk-1"]["nik"] == "************" + MOTHER_NIK[-4:]
    effects = [e["data"]["effect"] for e in report["events"]]
    assert effects == [
        "resident_added",
        "resident_moved_out",
        "resident_moved_in",
        "resident_deceased",
    ]
    assert {e["subject"] for e in report["events"]} == {RT_A, RT_B}
    doses = report["plugins"]["lansia_doses"]
    assert [(d["vaccine"], d["nik"]) for d in doses] == [("BCG", CHILD_NIK)]

    text = json.dumps(report)
    for other in (MOTHER_NIK, BYSTANDER_NIK, OTHER_CITY_NIK, "TETANGGA", "INFLUENZA", "KTP-9"):
        assert other not in text, other


def test_each_report_is_audited_and_shows_in_the_next(
    client: TestClient[Any], world: World
) -> None:
    live_child(client, world)
    assert report_of(client, world, "city_admin", CHILD_NIK).status_code == 200
    rows = run_sql(world.url, "SELECT * FROM audit_log WHERE action = 'privacy.access_report'")
    assert len(rows) == 1
    row = rows[0]
    assert (row["username"], row["scope"], row["target"]) == (
        "city_admin",
        "64.71",
        "************" + CHILD_NIK[-4:],
    )
    assert json.loads(row["detail"])["documents"] == 3
    second = report_of(client, world, "admin", CHILD_NIK).json()
    audited = [p for p in second["processing"] if p["action"] == "privacy.access_report"]
    assert [(p["username"], p["matched"]) for p in audited] == [("city_admin", "masked_nik")]
    # nothing holds the full NIK in the audit trail
    assert not run_sql(world.url, "SELECT id FROM audit_log WHERE detail LIKE $1", f"%{CHILD_NIK}%")


def test_list_reads_of_their_rt_are_in_the_processing_history(
    client: TestClient[Any], world: World
) -> None:
    write_sql(
        world.url,
        [
            (
                "INSERT INTO audit_log (at, user_id, username, action, target, scope, detail)"
                " VALUES ('2026-11-20T01:00:00+00:00', NULL, 'head_a', 'residents.list', $1,"
                " '64.71', '{}')",
                (RT_A,),
            ),
            (
                "INSERT INTO audit_log (at, user_id, username, action, target, scope, detail)"
                " VALUES ('2026-11-20T02:00:00+00:00', NULL, 'head_b', 'residents.list', $1,"
                " '64.71', '{}')",
                (RT_B,),
            ),
        ],
    )
    report = report_of(client, world, "city_admin", MOTHER_NIK).json()
    assert [(p["target"], p["matched"]) for p in report["processing"]] == [(RT_A, "area")]


def test_scopes(client: TestClient[Any], world: World) -> None:
    for who in ("city_admin_other", "head_a", "integrator", "health_worker", "head_other_city"):
        response = report_of(client, world, who, MOTHER_NIK)
        assert response.status_code == 403, (who, response.text)
        assert set(response.json()) == {"error", "details"}
    assert report_of(client, world, "city_admin_other", OTHER_CITY_NIK).status_code == 200
    assert report_of(client, world, "admin", MOTHER_NIK).status_code == 200
    assert report_of(client, world, "admin", "6471069999990001").status_code == 404
    assert report_of(client, world, "city_admin", "6471069999990001").status_code == 404
    for bad in ("123", "64710601019000０1", "abcdefghijklmnop", "6" * 17):
        response = report_of(client, world, "city_admin", bad)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["details"][0]["field"] == "nik"
    assert client.get(REPORT.format(MOTHER_NIK)).status_code == 401
    # only the two reads that were served are audited
    count = run_sql(
        world.url, "SELECT count(*) AS n FROM audit_log WHERE action = 'privacy.access_report'"
    )
    assert count[0]["n"] == 2


def test_cli_report_to_a_file_and_bad_input(
    client: TestClient[Any], world: World, rtbook: Any, tmp_path: Path
) -> None:
    live_child(client, world)
    out = tmp_path / "laporan.json"
    result = rtbook("privacy", "report", CHILD_NIK, "--output", str(out))
    assert result.code == 0, result.err
    report = json.loads(out.read_text())
    assert report["resident"]["name"] == "ANAK KECIL"
    assert len(report["documents"]) == 3
    assert out.stat().st_mode & 0o077 == 0  # personal data: not readable by others
    result = rtbook("privacy", "report", MOTHER_NIK)
    assert result.code == 0
    assert json.loads(result.out)["household"]["is_head"] is True
    rows = run_sql(
        world.url, "SELECT user_id FROM audit_log WHERE action = 'privacy.access_report'"
    )
    assert [r["user_id"] for r in rows] == [None, None]  # the operator: an internal caller

    for args in (
        ("privacy", "report", "123"),
        ("privacy", "report", "6471069999990001"),
        ("privacy", "report", CHILD_NIK, "--output", str(tmp_path / "no" / "x.json")),
        ("privacy", "report", CHILD_NIK, "--output", str(tmp_path)),
        ("privacy", "report"),
    ):
        result = rtbook(*args)
        assert result.one_error_line, (args, result.code, result.err)
        assert CHILD_NIK not in result.err
    rows = run_sql(world.url, "SELECT count(*) AS n FROM audit_log")
    assert rows[0]["n"] == 2
