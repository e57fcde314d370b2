"""rtbook rt add: RTs of kelurahan in added cities, all or nothing."""

from __future__ import annotations

import pytest
from cli_support import count, query, setup_city

RT_005 = "64.71.06.1005-003-005"
RT_006 = "64.71.06.1005-003-006"
RT_OTHER_KELURAHAN = "64.71.01.1001-001-001"


def test_adds_rts_with_their_parts(rtbook, balikpapan) -> None:
    result = rtbook("rt", "add", RT_005, RT_006, RT_OTHER_KELURAHAN)
    assert result.code == 0, result.err
    assert "3 RT" in result.out
    rows = query(
        balikpapan,
        "SELECT code, city_code, kecamatan_code, kelurahan_code, rw, rt FROM rt ORDER BY code",
    )
    assert rows[0] == {
        "code": RT_OTHER_KELURAHAN,
        "city_code": "64.71",
        "kecamatan_code": "64.71.01",
        "kelurahan_code": "64.71.01.1001",
        "rw": "001",
        "rt": "001",
    }
    assert [r["code"] for r in rows] == [RT_OTHER_KELURAHAN, RT_005, RT_006]
    assert rows[1]["rw"] == "003" and rows[1]["rt"] == "005"


def test_repeated_code_in_one_command_is_added_once(rtbook, balikpapan) -> None:
    assert rtbook("rt", "add", RT_005, RT_005).code == 0
    assert count(balikpapan, "rt") == 1


@pytest.mark.parametrize(
    "code",
    [
        "64.71.06.1005-3-5",
        "64.71.06.1005-003",
        "64.71.06.1005/003/005",
        "64.71.06-003-005",
        "64.71.06.1005-003-005 ",
        "64.71.06.1005-000-005",
        "64.71.06.1005-003-000",
        "６4.71.06.1005-003-005",  # a full-width digit
    ],
)
def test_bad_format_is_refused(rtbook, balikpapan, code: str) -> None:
    result = rtbook("rt", "add", code)
    assert result.code == 2 and result.one_error_line, result.err
    assert count(balikpapan, "rt") == 0


def test_kelurahan_of_a_city_not_added(rtbook, balikpapan) -> None:
    result = rtbook("rt", "add", "64.72.01.1001-001-001")
    assert result.code == 2 and result.one_error_line
    assert "64.72.01.1001" in result.err
    assert count(balikpapan, "rt") == 0


def test_kelurahan_that_does_not_exist(rtbook, balikpapan) -> None:
    result = rtbook("rt", "add", "64.71.06.9999-001-001")
    assert result.code == 2 and "64.71.06.9999" in result.err
    assert count(balikpapan, "rt") == 0


def test_mixed_good_and_bad_adds_nothing(rtbook, balikpapan, city_regions) -> None:
    result = rtbook("rt", "add", RT_005, "64.72.01.1001-001-001", RT_006)
    assert result.code == 2 and result.one_error_line
    assert "64.72.01.1001-001-001" in result.err
    assert RT_005 not in result.err
    assert count(balikpapan, "rt") == 0

    result = rtbook("rt", "add", RT_005, "bukan-kode")
    assert result.code == 2 and "bukan-kode" in result.err
    assert count(balikpapan, "rt") == 0


def test_rt_already_present_is_named_and_nothing_added(rtbook, balikpapan) -> None:
    assert rtbook("rt", "add", RT_005).code == 0
    result = rtbook("rt", "add", RT_006, RT_005)
    assert result.code == 2 and result.one_error_line
    assert f"RT {RT_005} sudah ada" in result.err
    assert [r["code"] for r in query(balikpapan, "SELECT code FROM rt")] == [RT_005]


def test_rt_of_a_second_added_city(rtbook, balikpapan, city_regions) -> None:
    setup_city(balikpapan, city_regions["64.72"])
    assert rtbook("rt", "add", "64.72.01.1001-001-001").code == 0
    assert query(balikpapan, "SELECT city_code FROM rt") == [{"city_code": "64.72"}]
