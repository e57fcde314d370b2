"""The synthetic city: valid, consistent and realistic rows, the same for the same seed."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

from rtbook.core.validation import (
    RESIDENT_FIELDS,
    RT_CODE_PATTERN,
    Issues,
    nik_birth_parts,
    validate_resident,
)
from rtbook.synthetic import generate_residents, spread_rts, write_csv

TODAY = date(2026, 11, 20)
# Five kelurahan in three kecamatan of Balikpapan.
KELURAHAN = (
    "64.71.01.1001",
    "64.71.01.1002",
    "64.71.03.1004",
    "64.71.06.1001",
    "64.71.06.1005",
)


def _age(birth: str) -> int:
    born = date.fromisoformat(birth)
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


@pytest.fixture(scope="module")
def rts() -> list[str]:
    return spread_rts(KELURAHAN, 40)


@pytest.fixture(scope="module")
def rows(rts: list[str]) -> list[dict[str, str]]:
    return list(generate_residents(rts, households_per_rt=150, seed=7, today=TODAY))


@pytest.fixture(scope="module")
def households(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    by_kk: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_kk[row["no_kk"]].append(row)
    return by_kk


def test_same_seed_same_rows_other_seed_other_rows(rts: list[str], rows: list[dict]) -> None:
    again = list(generate_residents(rts, households_per_rt=150, seed=7, today=TODAY))
    assert again == rows
    other = list(generate_residents(rts[:3], households_per_rt=150, seed=8, today=TODAY))
    assert other != rows[: len(other)]


def test_rows_carry_exactly_the_contract_fields(rows: list[dict[str, str]]) -> None:
    assert all(list(row) == list(RESIDENT_FIELDS) for row in rows)
    assert all(isinstance(value, str) for row in rows for value in row.values())


def test_every_row_is_valid_without_warnings(rows: list[dict[str, str]]) -> None:
    problems = Counter()
    for row in rows:
        issues = Issues()
        assert validate_resident(row, issues, today=TODAY) is not None, issues.one_line()
        for issue in issues.errors + issues.warnings:
            problems[issue.field, issue.message] += 1
    assert not problems, problems.most_common(5)


def test_nik_and_no_kk_are_unique(rows: list[dict[str, str]], households: dict) -> None:
    niks = [row["nik"] for row in rows]
    assert len(set(niks)) == len(niks)
    # One No. KK per household: its members share RT and address.
    for members in households.values():
        assert len({(m["rt"], m["address"]) for m in members}) == 1
    # Within an RT each household has its own house.
    homes = {(ms[0]["rt"], ms[0]["address"]) for ms in households.values()}
    assert len(homes) == len(households)


def test_nik_digits_follow_kecamatan_birth_date_and_sex(rows: list[dict[str, str]]) -> None:
    for row in rows:
        nik, born = row["nik"], date.fromisoformat(row["birth_date"])
        assert nik[:6] == row["rt"][:8].replace(".", "")
        day, month, yy, sex = nik_birth_parts(nik)
        assert (day, month, yy, sex) == (born.day, born.month, born.year % 100, row["sex"])
        assert row["no_kk"][:6] == nik[:6] and len(row["no_kk"]) == 16


def test_a_dense_kecamatan_keeps_nik_unique() -> None:
    rts = spread_rts(("64.71.06.1005",), 120)
    niks = [r["nik"] for r in generate_residents(rts, households_per_rt=150, today=TODAY)]
    assert len(niks) > 40_000
    assert len(set(niks)) == len(niks)


def test_each_household_has_exactly_one_head(households: dict) -> None:
    for members in households.values():
        shdk = Counter(m["shdk"] for m in members)
        assert shdk["kepala_keluarga"] == 1
        assert members[0]["shdk"] == "kepala_keluarga"
        assert shdk["istri"] + shdk["suami"] <= 1
        assert 1 <= len(members) <= 7


def test_household_sizes_average_about_three(rows: list[dict], households: dict) -> None:
    mean = len(rows) / len(households)
    assert 2.7 <= mean <= 3.3
    sizes = Counter(len(m) for m in households.values())
    assert set(sizes) == set(range(1, 8))


def test_parents_are_older_than_their_children(households: dict) -> None:
    for members in households.values():
        head = members[0]
        couple = [m for m in members if m["shdk"] in ("kepala_keluarga", "istri", "suami")]
        by_name = {m["name"]: m for m in couple}
        for m in members:
            if m["shdk"] in ("anak", "cucu"):
                assert m["birth_date"] > head["birth_date"]
                assert _age(head["birth_date"]) - _age(m["birth_date"]) >= 15
            if m["shdk"] == "anak":
                # The mother or father in the household is named on the child's row.
                parents = [by_name.get(m["father_name"]), by_name.get(m["mother_name"])]
                present = [p for p in parents if p is not None]
                assert present
                for parent in present:
                    assert _age(parent["birth_date"]) - _age(m["birth_date"]) >= 16
            if m["shdk"] == "orang_tua":
                assert m["birth_date"] < head["birth_date"]
                assert m["name"] in (head["father_name"], head["mother_name"])


def test_marital_status_fits_age_and_role(households: dict) -> None:
    for members in households.values():
        roles = {m["shdk"] for m in members}
        for m in members:
            age = _age(m["birth_date"])
            if age < 19:
                assert m["marital_status"] == "belum_kawin"
            if m["shdk"] in ("istri", "suami"):
                assert m["marital_status"] == "kawin"
                assert members[0]["marital_status"] == "kawin"
                assert age >= 19
        if members[0]["marital_status"] == "kawin":
            assert roles & {"istri", "suami"}
        spouse = [m for m in members if m["shdk"] in ("istri", "suami")]
        if spouse:
            assert {members[0]["sex"], spouse[0]["sex"]} == {"L", "P"}


def test_ages_follow_a_young_population_pyramid(rows: list[dict[str, str]]) -> None:
    ages = [_age(row["birth_date"]) for row in rows]
    share_60 = sum(a >= 60 for a in ages) / len(ages)
    share_under_15 = sum(a < 15 for a in ages) / len(ages)
    assert 0.05 <= share_60 <= 0.11
    assert 0.22 <= share_under_15 <= 0.32
    assert max(ages) <= 95


def test_religions_follow_balikpapan(rows: list[dict[str, str]]) -> None:
    counts = Counter(row["religion"] for row in rows)
    share = {k: v / len(rows) for k, v in counts.items()}
    assert 0.80 <= share["islam"] <= 0.92
    assert share["kristen"] > share["katolik"] > share.get("hindu", 0)
    # A household shares one religion.
    by_kk = defaultdict(set)
    for row in rows:
        by_kk[row["no_kk"]].add(row["religion"])
    assert all(len(v) == 1 for v in by_kk.values())


def test_names_are_upper_case_and_optional_fields_mostly_empty(rows: list[dict]) -> None:
    assert all(row["name"] == row["name"].upper() and row["name"] for row in rows)
    assert all(row["address"].startswith("JL. ") and " NO. " in row["address"] for row in rows)
    phones = sum(bool(row["phone"]) for row in rows) / len(rows)
    blood = sum(bool(row["blood_type"]) for row in rows) / len(rows)
    assert 0.02 <= phones <= 0.2
    assert 0.2 <= blood <= 0.5


def test_write_csv_round_trips(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "penduduk.csv"
    assert write_csv(path, rows[:500]) == 500
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == RESIDENT_FIELDS
        assert list(reader) == rows[:500]


def test_spread_rts_spreads_valid_codes_over_every_kelurahan() -> None:
    codes = spread_rts(KELURAHAN, 23)
    assert len(codes) == len(set(codes)) == 23
    assert all(RT_CODE_PATTERN.fullmatch(code) for code in codes)
    per = Counter(code.split("-")[0] for code in codes)
    assert set(per) == set(KELURAHAN) and max(per.values()) - min(per.values()) <= 1
    with pytest.raises(ValueError):
        spread_rts((), 3)


async def test_a_small_city_imports_without_a_bad_row_or_warning(db, regions_file: Path) -> None:
    from rtbook.core.importer import import_residents
    from rtbook.core.regions import add_city, read_city_regions
    from rtbook.core.rts import add_rts

    rts = spread_rts(KELURAHAN, 6)
    rows = list(generate_residents(rts, households_per_rt=25, seed=1, today=date.today()))
    regions = read_city_regions(regions_file, "64.71")

    async def setup(conn) -> None:
        await add_city(conn, regions, "Asia/Makassar")
        await add_rts(conn, rts)

    await db.write(setup)
    report = await import_residents(db, list(enumerate(rows, start=2)), "64.71")
    assert report.bad_rows == [] and report.warning_rows == 0
    assert report.imported == len(rows)
    assert report.households_added == 6 * 25

    async def counts(conn) -> tuple[int, int, int]:
        residents = await conn.fetchval("SELECT count(*) FROM resident")
        households = await conn.fetchval("SELECT count(*) FROM household")
        headless = await conn.fetchval("SELECT count(*) FROM household WHERE head_nik IS NULL")
        return residents, households, headless

    assert await db.read(counts) == (len(rows), 150, 0)
