"""rtbook city add: a city and its kecamatan and kelurahan from the region list."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import count, query

from rtbook.core.regions import PROVINCE_TIMEZONES, default_timezone, region_level
from rtbook.core.settings import DatabaseURL


def test_balikpapan_from_the_real_region_list(rtbook, db_env: DatabaseURL, regions_file) -> None:
    result = rtbook("city", "add", "64.71", "--regions", str(regions_file))

    assert result.code == 0, result.err
    assert "6 kecamatan" in result.out and "34 kelurahan" in result.out
    city = query(db_env, "SELECT code, name, province_code, timezone, event_seq FROM city")
    assert city == [
        {
            "code": "64.71",
            "name": "Kota Balikpapan",
            "province_code": "64",
            "timezone": "Asia/Makassar",
            "event_seq": 0,
        }
    ]
    levels = query(db_env, "SELECT level, count(*) AS n FROM region GROUP BY level")
    assert {r["level"]: r["n"] for r in levels} == {
        "province": 1,
        "city": 1,
        "kecamatan": 6,
        "kelurahan": 34,
    }
    damai = query(
        db_env,
        "SELECT name, level, parent_code, city_code FROM region WHERE code = $1",
        "64.71.06.1005",
    )
    assert damai == [
        {"name": "Damai", "level": "kelurahan", "parent_code": "64.71.06", "city_code": "64.71"}
    ]
    # nothing of the neighbouring city came along
    assert query(db_env, "SELECT code FROM region WHERE code LIKE $1", "64.72%") == []


def test_second_city_of_the_same_province(rtbook, db_env: DatabaseURL, regions_file) -> None:
    assert rtbook("city", "add", "64.71", "--regions", str(regions_file)).code == 0
    result = rtbook("city", "add", "64.72", "--regions", str(regions_file))
    assert result.code == 0, result.err
    assert count(db_env, "city") == 2
    assert query(db_env, "SELECT count(*) AS n FROM region WHERE level = 'province'") == [{"n": 1}]


@pytest.mark.parametrize(
    ("option", "stored"),
    [("WIB", "Asia/Jakarta"), ("wit", "Asia/Jayapura"), ("Asia/Pontianak", "Asia/Pontianak")],
)
def test_timezone_option(rtbook, db_env, regions_file, option: str, stored: str) -> None:
    result = rtbook("city", "add", "64.71", "--regions", str(regions_file), "--timezone", option)
    assert result.code == 0, result.err
    assert query(db_env, "SELECT timezone FROM city") == [{"timezone": stored}]
    assert stored in result.out


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("city", "zone"), [("31.71", "Asia/Jakarta"), ("91.71", "Asia/Jayapura")])
def test_default_timezone_follows_the_province(rtbook, db_env, regions_file, city, zone) -> None:
    assert rtbook("city", "add", city, "--regions", str(regions_file)).code == 0
    assert query(db_env, "SELECT timezone FROM city") == [{"timezone": zone}]


def test_every_province_in_the_region_list_has_a_timezone(regions_file: Path) -> None:
    provinces = [
        line.split(",", 1)[0]
        for line in regions_file.read_text(encoding="utf-8").splitlines()[1:]
        if region_level(line.split(",", 1)[0]) == "province"
    ]
    assert len(provinces) >= 34
    assert {default_timezone(p) for p in provinces} == {
        "Asia/Jakarta",
        "Asia/Makassar",
        "Asia/Jayapura",
    }
    assert default_timezone("64") == "Asia/Makassar"
    assert set(provinces) <= set(PROVINCE_TIMEZONES)


def _refused(result, db_env: DatabaseURL, *words: str) -> None:
    assert result.code == 2
    assert result.one_error_line, result.err
    for word in words:
        assert word in result.err
    assert "Traceback" not in result.err
    assert count(db_env, "city") == 0
    assert count(db_env, "region") == 0


@pytest.mark.parametrize("code", ["64", "64.7", "6471", "64.71.06", "64.71.06.1005", "aa.bb"])
def test_not_a_city_code(rtbook, db_env, regions_file, code: str) -> None:
    result = rtbook("city", "add", code, "--regions", str(regions_file))
    _refused(result, db_env, "bukan kode kota")


def test_city_code_not_in_the_file(rtbook, db_env, regions_file) -> None:
    result = rtbook("city", "add", "64.99", "--regions", str(regions_file))
    _refused(result, db_env, "64.99", "tidak ada di berkas wilayah")


def test_missing_region_file(rtbook, db_env, tmp_path: Path) -> None:
    result = rtbook("city", "add", "64.71", "--regions", str(tmp_path / "nope.csv"))
    _refused(result, db_env, "tidak ada (region file not found)")


def test_wrong_header(rtbook, db_env, tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    path.write_text("code,name\n64,Kalimantan Timur\n64.71,Kota Balikpapan\n")
    result = rtbook("city", "add", "64.71", "--regions", str(path))
    _refused(result, db_env, "kode,nama")


def test_file_that_is_not_utf8_text(rtbook, db_env, tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    path.write_bytes(b"kode,nama\n64,Kalimantan Timur\n64.71,Kota \xff\xfe Balikpapan\n")
    result = rtbook("city", "add", "64.71", "--regions", str(path))
    _refused(result, db_env, "UTF-8")


def test_unknown_timezone(rtbook, db_env, regions_file) -> None:
    result = rtbook(
        "city", "add", "64.71", "--regions", str(regions_file), "--timezone", "Mars/Olympus"
    )
    _refused(result, db_env, "zona waktu")


def test_small_file_with_bom_and_a_kecamatan_only(rtbook, db_env, tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    path.write_text(
        "\ufeffkode,nama\n64,Kalimantan Timur\n64.71,Kota Balikpapan\n"
        "64.71.06,Balikpapan Kota\n64.71.06.1005,Damai\n64.710,Bukan\n",
        encoding="utf-8",
    )
    result = rtbook("city", "add", "64.71", "--regions", str(path))
    assert result.code == 0, result.err
    assert "1 kecamatan" in result.out and "1 kelurahan" in result.out


def test_adding_a_city_twice_is_refused(rtbook, db_env: DatabaseURL, regions_file) -> None:
    assert rtbook("city", "add", "64.71", "--regions", str(regions_file)).code == 0
    before = count(db_env, "region")
    result = rtbook("city", "add", "64.71", "--regions", str(regions_file), "--timezone", "WIB")
    assert result.code == 2 and result.one_error_line
    assert "sudah ada (already added)" in result.err
    assert count(db_env, "region") == before
    assert query(db_env, "SELECT timezone FROM city") == [{"timezone": "Asia/Makassar"}]
