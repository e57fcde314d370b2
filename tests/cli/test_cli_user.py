"""rtbook user add and rtbook token create."""

from __future__ import annotations

import asyncio

import pytest
from cli_support import count, query, setup_city

from rtbook.core.auth import Role, principal_for_token
from rtbook.core.db import make_database
from rtbook.core.passwords import verify_password
from rtbook.core.settings import DatabaseURL

RT_005 = "64.71.06.1005-003-005"
RT_006 = "64.71.06.1005-003-006"
RT_SAMARINDA = "64.72.01.1001-001-001"


@pytest.fixture
def city(db_env: DatabaseURL, city_regions) -> DatabaseURL:
    """Balikpapan with RT 005 and 006, and Samarinda with one RT."""
    setup_city(db_env, city_regions["64.71"], (RT_005, RT_006))
    setup_city(db_env, city_regions["64.72"], (RT_SAMARINDA,))
    return db_env


def user_row(url: DatabaseURL, username: str) -> dict:
    rows = query(
        url,
        "SELECT id, username, role, city_code, whatsapp, email, password_hash, is_active"
        " FROM rtbook_user WHERE username = $1",
        username,
    )
    assert len(rows) == 1
    return rows[0]


def test_admin(rtbook, city) -> None:
    result = rtbook("user", "add", "admin", "--role", "admin")
    assert result.code == 0, result.err
    row = user_row(city, "admin")
    assert row["role"] == "admin" and row["city_code"] is None and row["password_hash"] is None
    assert row["is_active"] is True or row["is_active"] == 1


@pytest.mark.parametrize("role", ["city_admin", "integrator"])
def test_city_roles(rtbook, city, role: str) -> None:
    result = rtbook("user", "add", "siak-bpn", "--role", role, "--city", "64.71")
    assert result.code == 0, result.err
    assert user_row(city, "siak-bpn")["city_code"] == "64.71"


def test_rt_head_with_two_rts_gets_their_city(rtbook, city) -> None:
    result = rtbook(
        "user",
        "add",
        "ketua-rt-005",
        "--role",
        "rt_head",
        "--rt",
        RT_005,
        "--rt",
        RT_006,
        "--whatsapp",
        "081234567890",
        "--email",
        "ketua@example.org",
    )
    assert result.code == 0, result.err
    row = user_row(city, "ketua-rt-005")
    assert row["city_code"] == "64.71"
    assert row["whatsapp"] == "+6281234567890"
    assert row["email"] == "ketua@example.org"
    rts = query(city, "SELECT rt_code FROM user_rt WHERE user_id = $1 ORDER BY rt_code", row["id"])
    assert [r["rt_code"] for r in rts] == [RT_005, RT_006]


@pytest.mark.parametrize("area", ["64.71", "64.71.06", "64.71.06.1005"])
def test_health_worker_areas(rtbook, city, area: str) -> None:
    result = rtbook("user", "add", "kader-damai", "--role", "health_worker", "--area", area)
    assert result.code == 0, result.err
    row = user_row(city, "kader-damai")
    assert row["city_code"] == "64.71"
    areas = query(city, "SELECT region_code FROM user_area WHERE user_id = $1", row["id"])
    assert areas == [{"region_code": area}]


def _refused(result, url: DatabaseURL, *words: str) -> None:
    assert result.code == 2
    assert result.one_error_line, result.err
    for word in words:
        assert word in result.err
    assert count(url, "rtbook_user") == 0
    assert count(url, "user_rt") == 0
    assert count(url, "user_area") == 0


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["--role", "city_admin"], "--city"),
        (["--role", "integrator"], "--city"),
        (["--role", "rt_head"], "--rt"),
        (["--role", "health_worker"], "--area"),
        (["--role", "admin", "--city", "64.71"], "--city"),
        (["--role", "city_admin", "--city", "64.71", "--rt", RT_005], "--rt"),
        (["--role", "rt_head", "--rt", RT_005, "--area", "64.71"], "--area"),
        (["--role", "city_admin", "--city", "64.73"], "64.73"),
        (["--role", "city_admin", "--city", "64"], "bukan kode kota"),
        (["--role", "rt_head", "--rt", "64.71.06.1005-003-099"], "64.71.06.1005-003-099"),
        (["--role", "rt_head", "--rt", "64.71.06.1005-3-5"], "kode RT"),
        (["--role", "rt_head", "--rt", RT_005, "--rt", RT_SAMARINDA], "satu kota"),
        (["--role", "rt_head", "--rt", RT_005, "--city", "64.72"], "satu kota"),
        (["--role", "health_worker", "--area", "64.73.01"], "64.73.01"),
        (["--role", "health_worker", "--area", "64"], "kota, kecamatan atau kelurahan"),
        (["--role", "health_worker", "--area", "64.71.06.9999"], "64.71.06.9999"),
        (["--role", "superuser"], "superuser"),
    ],
)
def test_missing_or_wrong_scope(rtbook, city, args: list[str], word: str) -> None:
    _refused(rtbook("user", "add", "budi", *args), city, word)


@pytest.mark.parametrize("phone", ["081234567890", "6281234567890", "+6281234567890"])
def test_phone_forms_are_stored_as_e164(rtbook, city, phone: str) -> None:
    result = rtbook("user", "add", "budi", "--role", "admin", "--whatsapp", phone)
    assert result.code == 0, result.err
    assert user_row(city, "budi")["whatsapp"] == "+6281234567890"


@pytest.mark.parametrize("phone", ["12345", "0812", "nomor saya", "08123456789012345678"])
def test_invalid_phone_is_refused(rtbook, city, phone: str) -> None:
    _refused(
        rtbook("user", "add", "budi", "--role", "admin", "--whatsapp", phone),
        city,
        "nomor telepon tidak sah",
    )


def test_invalid_email_is_refused(rtbook, city) -> None:
    _refused(rtbook("user", "add", "budi", "--role", "admin", "--email", "budi@"), city, "email")


@pytest.mark.parametrize("name", ["Budi", "bu", "budi santoso", "budi@rt", "x" * 65, "budí"])
def test_bad_username(rtbook, city, name: str) -> None:
    _refused(rtbook("user", "add", name, "--role", "admin"), city, "nama pengguna")


def test_duplicate_username_is_refused(rtbook, city) -> None:
    assert rtbook("user", "add", "budi", "--role", "admin").code == 0
    result = rtbook("user", "add", "budi", "--role", "city_admin", "--city", "64.71")
    assert result.code == 2 and result.one_error_line
    assert "sudah dipakai" in result.err
    assert query(city, "SELECT role FROM rtbook_user") == [{"role": "admin"}]


def test_password_from_stdin_is_stored_as_argon2id(rtbook, city) -> None:
    result = rtbook(
        "user", "add", "budi", "--role", "admin", "--password-stdin", stdin="rahasia-sekali\n"
    )
    assert result.code == 0, result.err
    stored = user_row(city, "budi")["password_hash"]
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "rahasia-sekali")
    assert not verify_password(stored, "rahasia-sekali\n")
    assert "rahasia" not in result.out + result.err


def test_short_password_is_refused(rtbook, city) -> None:
    _refused(
        rtbook("user", "add", "budi", "--role", "admin", "--password-stdin", stdin="pendek\n"),
        city,
        "kata sandi minimal 8",
    )


def _principal(url: DatabaseURL, token: str):
    async def go():
        db = make_database(url)
        await db.open()
        try:
            return await db.read(lambda conn: principal_for_token(conn, token))
        finally:
            await db.close()

    return asyncio.run(go())


def test_token_create_prints_a_token_that_authenticates(rtbook, city) -> None:
    assert rtbook("user", "add", "ketua-rt-005", "--role", "rt_head", "--rt", RT_005).code == 0
    result = rtbook("token", "create", "ketua-rt-005")
    assert result.code == 0, result.err
    token = result.out.strip()
    assert result.out == token + "\n" and token.startswith("rtb_")
    principal = _principal(city, token)
    assert principal is not None
    assert principal.username == "ketua-rt-005"
    assert principal.role is Role.RT_HEAD
    assert principal.rt_codes == frozenset({RT_005})
    # a second token is another one; both work, and only the hash is stored
    second = rtbook("token", "create", "ketua-rt-005").out.strip()
    assert second != token and _principal(city, second) is not None
    hashes = [r["token_hash"] for r in query(city, "SELECT token_hash FROM api_token")]
    assert len(hashes) == 2 and token not in hashes
    assert _principal(city, token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_token_for_unknown_user(rtbook, city) -> None:
    result = rtbook("token", "create", "nobody")
    assert result.code == 2 and result.one_error_line
    assert "nobody" in result.err and result.out == ""
    assert count(city, "api_token") == 0
