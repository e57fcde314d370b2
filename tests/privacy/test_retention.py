"""rtbook retention purge: who goes, what of them goes, and what stays."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from factories import CITY, RT_A, add_resident, nik_for
from privacy_support import BYSTANDER_NIK, MOTHER_NIK, OTHER_CITY_NIK, World, run_sql, write_sql

from rtbook.core.db import make_database

DEAD_OLD = nik_for(date(1940, 1, 1), "L", 21)
DEAD_RECENT = nik_for(date(1941, 1, 1), "L", 22)
MOVED_OLD = nik_for(date(1960, 1, 1), "P", 23)
MOVED_NO_DATE = nik_for(date(1961, 1, 1), "P", 24)
PURGED = (DEAD_OLD, MOVED_OLD)
TABLES = (
    "resident",
    "household",
    "document",
    "kk_history",
    "service_record",
    "resident_change",
    "event",
    "lansia_dose",
    "audit_log",
)


def seed_gone(world: World) -> None:
    import asyncio

    async def go() -> None:
        async with make_database(world.url) as db:

            async def unit(conn: Any) -> None:
                await add_resident(
                    conn,
                    nik=DEAD_OLD,
                    name="KAKEK LAMA",
                    status="deceased",
                    date_of_death=date(2015, 5, 5),
                    no_kk="6471060101200051",
                )
                await add_resident(
                    conn,
                    nik=DEAD_RECENT,
                    name="KAKEK BARU",
                    status="deceased",
                    date_of_death=date(2025, 5, 5),
                    no_kk="6471060101200052",
                )
                await add_resident(
                    conn,
                    nik=MOVED_OLD,
                    name="NENEK PINDAH",
                    sex="P",
                    status="moved_out",
                    no_kk="6471060101200053",
                    shdk="istri",
                )
                await add_resident(
                    conn,
                    nik=MOVED_NO_DATE,
                    name="TANPA TANGGAL",
                    sex="P",
                    status="moved_out",
                    no_kk="6471060101200054",
                )

            await db.write(unit)

    asyncio.run(go())
    write_sql(
        world.url,
        [
            (
                "INSERT INTO service_record (source, external_id, type, city_code, nik, rt_code,"
                " document_number, completed_at, received_at, payload_hash, warnings)"
                " VALUES ('siak-6471', 'pindah-lama', 'pindah_keluar', $1, $2, $3, 'SP-77',"
                " '2012-03-03T01:00:00+00:00', '2012-03-03T01:00:00+00:00', 'abc', '[]')",
                (CITY, MOVED_OLD, RT_A),
            ),
            (
                "INSERT INTO resident_change (nik, city_code, rt_code, kind, event_date,"
                " reported_at, service_record_id, before, after) VALUES ($1, $2, $3,"
                " 'resident_moved_out', '2012-03-03', '2012-03-03T01:00:00+00:00', 1,"
                ' \'{"status": "active"}\', \'{"status": "moved_out"}\')',
                (MOVED_OLD, CITY, RT_A),
            ),
            (
                "INSERT INTO event (city_code, seq, rt_code, service_record_id, effect, time,"
                " data, created_at) VALUES ($1, 1, $2, 1, 'resident_moved_out',"
                " '2012-03-03T01:00:00+00:00', $3, '2012-03-03T01:00:00+00:00')",
                (
                    CITY,
                    RT_A,
                    json.dumps(
                        {
                            "service_type": "pindah_keluar",
                            "service_id": "pindah-lama",
                            "effect": "resident_moved_out",
                            "resident": {"name": "NENEK PINDAH", "nik_masked": "x"},
                            "summary": "NENEK PINDAH pindah keluar ke SURABAYA",
                        }
                    ),
                ),
            ),
            (
                "INSERT INTO document (nik, type, number, issued_at, service_record_id)"
                " VALUES ($1, 'pindah_keluar', 'SP-77', '2012-03-03T01:00:00+00:00', 1)",
                (MOVED_OLD,),
            ),
            (
                "INSERT INTO document (nik, type, number, issued_at) VALUES"
                " ($1, 'akta_kematian', 'AK-1', '2015-05-06T01:00:00+00:00')",
                (DEAD_OLD,),
            ),
            (
                "INSERT INTO kk_history (nik, no_kk, shdk, left_on) VALUES"
                " ($1, '6471060101200099', 'anak', '1970-01-01')",
                (DEAD_OLD,),
            ),
            (
                "INSERT INTO lansia_dose (nik, city_code, vaccine, dose_number, given_on, place,"
                " recorded_at) VALUES ($1, $2, 'INFLUENZA', 1, '2014-01-01', 'PUSKESMAS',"
                " '2014-01-01T01:00:00+00:00')",
                (DEAD_OLD, CITY),
            ),
            (
                "INSERT INTO lansia_dose (nik, city_code, vaccine, dose_number, given_on, place,"
                " recorded_at) VALUES ($1, $2, 'INFLUENZA', 1, '2024-01-01', 'PUSKESMAS',"
                " '2024-01-01T01:00:00+00:00')",
                (DEAD_RECENT, CITY),
            ),
        ],
    )


def snapshot(world: World) -> dict[str, list[dict[str, Any]]]:
    return {t: run_sql(world.url, f"SELECT * FROM {t} ORDER BY 1") for t in TABLES}


def masked(nik: str) -> str:
    return "************" + nik[-4:]


def test_dry_run_lists_and_changes_nothing(world: World, rtbook: Any) -> None:
    seed_gone(world)
    before = snapshot(world)
    result = rtbook("retention", "purge", "--years", "5", "--dry-run")
    assert result.code == 0, result.err
    assert "2 penduduk akan dihapus" in result.out
    for nik in PURGED:
        assert masked(nik) in result.out
    for nik in (DEAD_RECENT, MOVED_NO_DATE, MOTHER_NIK):
        assert nik[-4:] not in result.out
    assert DEAD_OLD not in result.out and MOVED_OLD not in result.out
    assert snapshot(world) == before


def test_purge_removes_exactly_the_expected_residents(world: World, rtbook: Any) -> None:
    seed_gone(world)
    before = {r["nik"]: r for r in run_sql(world.url, "SELECT * FROM resident")}
    result = rtbook("retention", "purge", "--years", "5", "--city", CITY)
    assert result.code == 0, result.err
    assert "2 penduduk dihapus" in result.out
    after = {r["nik"]: r for r in run_sql(world.url, "SELECT * FROM resident")}
    assert set(before) - set(after) == set(PURGED)
    for nik, row in after.items():
        assert row == before[nik]  # everyone else untouched
    for nik in PURGED:
        for table in ("document", "kk_history", "lansia_dose", "service_record", "resident_change"):
            assert not run_sql(world.url, f"SELECT 1 AS x FROM {table} WHERE nik = $1", nik)
    assert run_sql(world.url, "SELECT nik FROM lansia_dose") == [{"nik": DEAD_RECENT}]
    # households of nobody any more are gone, the others stay
    households = {r["no_kk"] for r in run_sql(world.url, "SELECT no_kk FROM household")}
    assert "6471060101200051" not in households and "6471060101200053" not in households
    assert "6471060101200052" in households
    # the books keep the move: history row pseudonymised, with the sex only
    changes = run_sql(world.url, "SELECT * FROM resident_change")
    assert len(changes) == 1
    change = changes[0]
    assert change["kind"] == "resident_moved_out" and str(change["event_date"]) == "2012-03-03"
    assert change["nik"].startswith("p") and len(change["nik"]) == 16
    assert json.loads(change["after"]) == {"sex": "P"} and change["before"] is None
    record = run_sql(world.url, "SELECT * FROM service_record")[0]
    assert (record["source"], record["external_id"]) == ("siak-6471", "pindah-lama")
    assert record["nik"] == change["nik"] and record["document_number"] is None
    event = json.loads(run_sql(world.url, "SELECT data FROM event")[0]["data"])
    assert "NENEK" not in json.dumps(event) and "SURABAYA" not in json.dumps(event)
    # no trace of the full NIKs or names anywhere
    for table in ("resident_change", "service_record", "event", "audit_log", "household"):
        text = json.dumps(run_sql(world.url, f"SELECT * FROM {table}"), default=str)
        for nik in PURGED:
            assert nik not in text, table
    audit = run_sql(world.url, "SELECT * FROM audit_log WHERE action = 'retention.purge'")
    assert len(audit) == 1 and audit[0]["scope"] == CITY
    detail = json.loads(audit[0]["detail"])
    assert (detail["purged"], detail["deceased"], detail["moved_out"]) == (2, 1, 1)
    # a second run finds nobody
    again = rtbook("retention", "purge", "--years", "5")
    assert again.code == 0 and "0 penduduk dihapus" in again.out
    assert {r["nik"] for r in run_sql(world.url, "SELECT nik FROM resident")} == set(after)
    assert {MOTHER_NIK, BYSTANDER_NIK, OTHER_CITY_NIK} <= set(after)


def test_city_option_limits_the_purge(world: World, rtbook: Any) -> None:
    seed_gone(world)
    result = rtbook("retention", "purge", "--years", "5", "--city", "64.72")
    assert result.code == 0, result.err
    assert "0 penduduk dihapus" in result.out
    assert len(run_sql(world.url, "SELECT nik FROM resident WHERE status <> 'active'")) == 4


def test_bad_input_is_one_line_and_changes_nothing(world: World, rtbook: Any) -> None:
    seed_gone(world)
    before = snapshot(world)
    for args in (
        ("retention", "purge"),
        ("retention", "purge", "--years", "0"),
        ("retention", "purge", "--years", "-3"),
        ("retention", "purge", "--years", "x"),
        ("retention", "purge", "--years", "500"),
        ("retention", "purge", "--years", "5", "--city", "99.99"),
        ("retention", "purge", "--years", "5", "--city", "Balikpapan"),
        ("retention", "purge", "--years", "5", "--bogus"),
    ):
        result = rtbook(*args)
        assert result.one_error_line, (args, result.code, result.err)
    assert snapshot(world) == before
