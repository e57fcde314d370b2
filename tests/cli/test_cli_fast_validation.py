"""The importer's fast row check accepts only what validate_resident accepts, with the
same values and warnings (it exists for speed: a city is ~760,000 rows)."""

from __future__ import annotations

from datetime import date

import pytest

from rtbook.core.importer import check_resident_row, fast_resident
from rtbook.core.validation import Issues, validate_resident

TODAY = date(2026, 11, 20)
BASE = {
    "nik": "6471060507800001",
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
    "no_kk": "6471060101200001",
    "address": "JL. MAWAR NO. 1",
    "rt": "64.71.06.1005-003-005",
    "father_name": "AYAH",
    "mother_name": "IBU",
    "phone": "",
    "blood_type": "",
}

VARIANTS: list[dict[str, object]] = [
    {},
    {"phone": "081234567890", "blood_type": "AB+"},
    {"phone": "6281234567890"},
    {"phone": "12"},
    {"phone": "0812 3456 7890"},
    {"name": "  BUDI  "},
    {"name": "B"},
    {"name": "BUDI\tSANTOSO"},
    {"name": "BUDI\nSANTOSO"},
    {"name": "BUDI\x07"},
    {"name": "X" * 150},
    {"name": "X" * 151},
    {"name": "NGUYỄN THỊ"},
    {"name": "BUDI\ud800"},
    {"name": ""},
    {"name": "BUDI\xa0"},
    {"address": "A" * 255},
    {"address": "A" * 256},
    {"address": ""},
    {"address": " "},
    {"birth_place": ""},
    {"education": "", "occupation": "", "father_name": "", "mother_name": ""},
    {"nik": "647106050780000"},
    {"nik": "６471060507800001"},
    {"nik": " 6471060507800001"},
    {"nik": "64710605078000011"},
    {"nik": ""},
    {"no_kk": "647106010120000X"},
    {"sex": "l"},
    {"sex": "P"},
    {"sex": ""},
    {"birth_date": "1980-7-5"},
    {"birth_date": "2023-02-30"},
    {"birth_date": "1849-12-31"},
    {"birth_date": "1850-01-01"},
    {"birth_date": "2026-11-20"},
    {"birth_date": "2026-11-21"},
    {"birth_date": "１980-07-05"},
    {"religion": "Islam"},
    {"religion": ""},
    {"religion": "kepercayaan"},
    {"marital_status": "menikah"},
    {"shdk": "anak"},
    {"shdk": "lainnya"},
    {"shdk": "kepala"},
    {"citizenship": "WNA"},
    {"citizenship": "wni"},
    {"rt": "64.71.06.1005-3-5"},
    {"rt": ""},
    {"blood_type": "C"},
    {"blood_type": "O-"},
    {"nik": "6471064507800001", "sex": "P"},
    {"nik": "6471064507800001"},
    {"birth_date": "1980-07-06"},
    {"birth_date": "1980-08-05"},
    {"birth_date": "1880-07-05"},
    {"nik": "6471069907800001"},
    {"nik": 6471060507800001},
    {"name": None},
    {"name": "BUDI\x1fSANTOSO"},
]


def _slow(raw: dict[str, object]) -> tuple[object, Issues]:
    values = {k: v.strip() if isinstance(v, str) else v for k, v in raw.items()}
    issues = Issues()
    return validate_resident(values, issues, today=TODAY), issues


@pytest.mark.parametrize("change", VARIANTS, ids=[repr(v)[:40] for v in VARIANTS])
def test_fast_check_agrees_with_validate_resident(change: dict[str, object]) -> None:
    raw = {**BASE, **change}
    slow, slow_issues = _slow(raw)
    fast = fast_resident(raw, TODAY)
    if fast is not None:
        resident, issues = fast
        assert slow is not None, "the fast check accepted a row validate_resident refuses"
        assert resident == slow
        assert issues.warnings == slow_issues.warnings
    combined, issues = check_resident_row(raw, TODAY)
    assert combined == slow
    assert issues.errors == slow_issues.errors
    assert issues.warnings == slow_issues.warnings


def test_plain_rows_take_the_fast_path() -> None:
    for change in ({}, {"phone": "081234567890"}, {"shdk": "anak", "religion": ""}):
        assert fast_resident({**BASE, **change}, TODAY) is not None


def test_optional_columns_absent() -> None:
    raw = {k: v for k, v in BASE.items() if k not in ("phone", "blood_type")}
    fast = fast_resident(raw, TODAY)
    assert fast is not None and fast[0] == _slow(raw)[0]


def test_nik_mismatch_is_a_warning_on_both_paths() -> None:
    raw = {**BASE, "sex": "P"}
    fast = fast_resident(raw, TODAY)
    assert fast is not None
    assert [w.field for w in fast[1].warnings] == ["nik"]
    assert fast[1].warnings == _slow(raw)[1].warnings
