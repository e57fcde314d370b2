"""rtbook import residents: good rows in, bad rows reported with line and reason."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cli_support import count, query, setup_city
from factories import nik_for

from rtbook.core.importer import HEADER_REQUIRED
from rtbook.core.settings import DatabaseURL
from rtbook.core.validation import RESIDENT_FIELDS

RT_005 = "64.71.06.1005-003-005"
RT_006 = "64.71.06.1005-003-006"
RT_SAMARINDA = "64.72.01.1001-001-001"
KK1, KK2, KK3, KK4 = (f"647106010120000{i}" for i in range(1, 5))

HEAD = nik_for(date(1980, 7, 5), "L", 1)
WIFE = nik_for(date(1983, 9, 9), "P", 2)
CHILD = nik_for(date(2010, 6, 30), "L", 3)
SITI = nik_for(date(1975, 3, 1), "P", 4)
LONE = nik_for(date(2001, 1, 20), "L", 5)
OLD = nik_for(date(1950, 1, 1), "L", 6)


def person(nik: str, **fields: Any) -> dict[str, str]:
    row = {
        "nik": nik,
        "name": "BUDI SANTOSO",
        "sex": "L",
        "birth_place": "BALIKPAPAN",
        "birth_date": "1980-07-05",
        "religion": "islam",
        "education": "SLTA/SEDERAJAT",
        "occupation": "KARYAWAN SWASTA",
        "marital_status": "kawin",
        "shdk": "kepala_keluarga",
        "citizenship": "WNI",
        "no_kk": KK1,
        "address": "JL. MAWAR NO. 1",
        "rt": RT_005,
        "father_name": "AYAH",
        "mother_name": "IBU",
        "phone": "",
        "blood_type": "",
    }
    row.update(fields)
    return row


def write_csv(path: Path, rows: list[dict[str, str] | str], header=RESIDENT_FIELDS) -> Path:
    """Rows are dicts, or raw text written as it is (for broken lines)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(header) + "\n")
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        for row in rows:
            if isinstance(row, str):
                fh.write(row + "\n")
            else:
                writer.writerow(row)
    return path


@pytest.fixture
def cities(db_env: DatabaseURL, city_regions) -> DatabaseURL:
    setup_city(db_env, city_regions["64.71"], (RT_005, RT_006))
    setup_city(db_env, city_regions["64.72"], (RT_SAMARINDA,))
    return db_env


MIXED = [
    person(HEAD),  # line 2
    person(WIFE, name="SITI AMINAH", sex="P", birth_date="1983-09-09", shdk="istri"),  # 3
    person(CHILD, name="ANAK", birth_date="2010-06-30", shdk="anak", marital_status="belum_kawin"),
    person("647106050780001", shdk="anak"),  # 5: 15 digits
    person("６47106050780" + "0007", shdk="anak"),  # 6: a full-width digit
    person(nik_for(date(1990, 1, 1), "L", 8), birth_date="2023-02-30", shdk="anak"),  # 7
    person(nik_for(date(1990, 1, 1), "L", 9), rt="64.71.06.1005-009-009", no_kk=KK3),  # 8
    person(nik_for(date(1990, 1, 1), "L", 10), rt=RT_SAMARINDA, no_kk=KK3),  # 9
    person(WIFE, name="SITI LAGI", sex="P", shdk="anak"),  # 10: NIK repeated in the file
    person(OLD, no_kk=KK4),  # 11: already in the ledger (imported first)
    person(  # 12: padded values, a phone and a blood type
        SITI,
        name="  SITI RAHMA ",
        sex=" P",
        birth_date="1975-03-01",
        no_kk=KK2,
        rt=RT_006,
        phone="0812 3456 7890",
        blood_type="O",
        religion="kristen",
    ),
    person(LONE, no_kk=KK3, shdk="anak", birth_date="2001-01-20"),  # 13: a KK without head
    person(nik_for(date(1970, 1, 1), "L", 11), birth_date="1970-01-01"),  # 14: KK1's 2nd head
    "6471060507800012,TOO,FEW",  # 15: wrong number of values
    person(nik_for(date(1991, 1, 1), "L", 12), address="JL. MAWAR\nNO. 2", no_kk=KK3),  # 16-17
    person(nik_for(date(1992, 1, 1), "L", 13), sex="X", no_kk=KK3, shdk="anak"),  # 18
]


def _import(rtbook, path: Path, city: str = "64.71"):
    return rtbook("import", "residents", str(path), "--city", city)


def test_good_rows_in_bad_rows_reported(rtbook, cities: DatabaseURL, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "first.csv", [person(OLD, no_kk=KK4)])
    assert _import(rtbook, first).code == 0

    result = _import(rtbook, write_csv(tmp_path / "residents.csv", MIXED))

    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith("16 baris data: 5 diimpor (imported), 11 ditolak (refused)")
    bad = {int(line.split(":")[0].split()[1]): line for line in lines if line.startswith("baris")}
    assert list(bad) == [5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 18]  # in file order
    assert bad[5].startswith("baris 5: nik: NIK harus tepat 16 digit")
    assert bad[6].startswith("baris 6: nik: NIK harus tepat 16 digit")
    assert bad[7].startswith("baris 7: birth_date: tanggal tidak ada di kalender")
    assert bad[8].startswith("baris 8: rt: RT 64.71.06.1005-009-009 belum terdaftar")
    assert bad[9].startswith(f"baris 9: rt: RT {RT_SAMARINDA} bukan di kota 64.71")
    assert bad[10].startswith("baris 10: nik: NIK sudah ada di baris sebelumnya")
    assert bad[11].startswith("baris 11: nik: NIK sudah ada di buku induk")
    assert bad[14].startswith(f"baris 14: shdk: KK {KK1} sudah punya kepala keluarga lain")
    assert bad[15].startswith("baris 15: baris: ada 3 nilai")
    assert bad[16].startswith("baris 16: address: berisi karakter kendali")
    assert bad[18].startswith("baris 18: sex: harus salah satu dari")
    # no full NIK in the report
    assert HEAD not in result.out and WIFE not in result.out

    residents = {
        r["nik"]: r
        for r in query(
            cities,
            "SELECT nik, name, sex, no_kk, rt_code, city_code, status, origin, phone,"
            " blood_type, birth_date, registered_at, updated_at FROM resident",
        )
    }
    assert set(residents) == {OLD, HEAD, WIFE, CHILD, SITI, LONE}
    assert {(r["status"], r["origin"], r["city_code"]) for r in residents.values()} == {
        ("active", "import", "64.71")
    }
    siti = residents[SITI]
    assert (siti["name"], siti["sex"], siti["phone"], siti["blood_type"]) == (
        "SITI RAHMA",
        "P",
        "+6281234567890",
        "O",
    )
    assert residents[CHILD]["birth_date"] == date(2010, 6, 30)
    assert residents[WIFE]["registered_at"] == residents[WIFE]["updated_at"]
    assert residents[WIFE]["registered_at"].tzinfo is not None

    households = {
        r["no_kk"]: (r["rt_code"], r["head_nik"], r["city_code"])
        for r in query(cities, "SELECT no_kk, rt_code, head_nik, city_code FROM household")
    }
    assert households == {
        KK1: (RT_005, HEAD, "64.71"),
        KK2: (RT_006, SITI, "64.71"),
        KK3: (RT_005, None, "64.71"),
        KK4: (RT_005, OLD, "64.71"),
    }
    assert count(cities, "resident_change") == 0
    assert count(cities, "event") == 0


def test_second_import_of_the_same_file_imports_nothing(rtbook, cities, tmp_path) -> None:
    path = write_csv(tmp_path / "residents.csv", MIXED)
    assert _import(rtbook, path).code == 0
    before = query(cities, "SELECT nik, updated_at FROM resident ORDER BY nik")
    households = query(cities, "SELECT * FROM household ORDER BY no_kk")
    assert len(before) == 6 and len(households) == 4

    result = _import(rtbook, path)

    assert result.code == 1
    assert result.one_error_line and "tidak ada baris yang diimpor" in result.err
    assert "0 diimpor" in result.out and "16 ditolak" in result.out
    assert "baris 2: nik: NIK sudah ada di buku induk" in result.out
    assert query(cities, "SELECT nik, updated_at FROM resident ORDER BY nik") == before
    assert query(cities, "SELECT * FROM household ORDER BY no_kk") == households


def test_head_arriving_later_fills_the_household(rtbook, cities, tmp_path) -> None:
    members = write_csv(tmp_path / "a.csv", [person(CHILD, shdk="anak", no_kk=KK2)])
    assert _import(rtbook, members).code == 0
    assert query(cities, "SELECT head_nik FROM household") == [{"head_nik": None}]

    result = _import(rtbook, write_csv(tmp_path / "b.csv", [person(HEAD, no_kk=KK2)]))

    assert result.code == 0, result.err
    assert "1 kepala KK dilengkapi" in result.out
    assert query(cities, "SELECT no_kk, head_nik FROM household") == [
        {"no_kk": KK2, "head_nik": HEAD}
    ]
    # a third head for the same KK is refused: the household keeps its head
    third = _import(rtbook, write_csv(tmp_path / "c.csv", [person(SITI, no_kk=KK2)]))
    assert third.code == 1 and "baris 2: shdk" in third.out
    assert query(cities, "SELECT head_nik FROM household") == [{"head_nik": HEAD}]


def test_warnings_are_counted_and_rows_imported(rtbook, cities, tmp_path) -> None:
    # the NIK says 5 July 1980, male; the biodata says otherwise: imported with a warning
    row = person(HEAD, birth_date="1981-07-05", sex="P")
    result = _import(rtbook, write_csv(tmp_path / "w.csv", [row]))
    assert result.code == 0, result.err
    assert "1 diimpor" in result.out
    assert "1 baris diimpor dengan peringatan" in result.out
    assert "baris 2: nik: jenis kelamin di NIK" in result.out
    assert count(cities, "resident") == 1


def test_header_only_file(rtbook, cities, tmp_path) -> None:
    result = _import(rtbook, write_csv(tmp_path / "empty.csv", []))
    assert result.code == 0, result.err
    assert result.out.startswith("0 baris data: 0 diimpor")


def test_optional_columns_may_be_left_out(rtbook, cities, tmp_path) -> None:
    rows = [{k: v for k, v in person(HEAD).items() if k in HEADER_REQUIRED}]
    result = _import(rtbook, write_csv(tmp_path / "short.csv", rows, header=HEADER_REQUIRED))
    assert result.code == 0, result.err
    assert count(cities, "resident") == 1


def _refused(result, url: DatabaseURL, *words: str) -> None:
    assert result.code == 2
    assert result.one_error_line, result.err
    for word in words:
        assert word in result.err
    assert count(url, "resident") == 0
    assert count(url, "household") == 0


def test_missing_file(rtbook, cities, tmp_path) -> None:
    _refused(_import(rtbook, tmp_path / "nope.csv"), cities, "tidak ada (file not found)")


@pytest.mark.parametrize(
    ("header", "word"),
    [
        (["kode", "nama"], "kolom hilang"),
        ([*RESIDENT_FIELDS, "agama"], "agama"),
        ([f if f != "birth_date" else "brith_date" for f in RESIDENT_FIELDS], "brith_date"),
        ([*RESIDENT_FIELDS, "nik"], "kolom ganda"),
    ],
)
def test_wrong_header(rtbook, cities, tmp_path, header: list[str], word: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(",".join(header) + "\n" + ",".join(["x"] * len(header)) + "\n")
    _refused(_import(rtbook, path), cities, "kepala kolom", word)


def test_empty_file(rtbook, cities, tmp_path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    _refused(_import(rtbook, path), cities, "kosong")


def test_bytes_that_are_not_utf8_part_way_import_nothing(rtbook, cities, tmp_path) -> None:
    path = write_csv(tmp_path / "r.csv", [person(HEAD)])
    with path.open("ab") as fh:
        fh.write(b"6471060507800009,BUDI \xff\xfe,L\n")
    _refused(_import(rtbook, path), cities, "UTF-8")


def test_city_not_added(rtbook, cities, tmp_path) -> None:
    path = write_csv(tmp_path / "r.csv", [person(HEAD)])
    _refused(_import(rtbook, path, "64.73"), cities, "64.73")
    _refused(_import(rtbook, path, "64"), cities, "bukan kode kota")


def test_rows_of_another_city_are_refused_for_that_city(rtbook, cities, tmp_path) -> None:
    path = write_csv(tmp_path / "r.csv", [person(HEAD)])
    result = _import(rtbook, path, "64.72")
    assert result.code == 1
    assert f"baris 2: rt: RT {RT_005} bukan di kota 64.72" in result.out
    assert count(cities, "resident") == 0
