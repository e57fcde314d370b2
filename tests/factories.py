"""Minimal rows for tests, written straight with SQL so tests of one part do not
depend on another part's code (the CLI and importer have their own tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rtbook.core.auth import Principal, Role, create_token, load_principal
from rtbook.core.db import Connection

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
CITY = "64.71"
RT_A = "64.71.06.1005-003-005"
RT_B = "64.71.06.1005-003-006"
RT_OTHER_CITY = "64.72.01.1001-001-001"


async def add_city(conn: Connection, code: str = CITY, tz: str = "Asia/Makassar") -> None:
    await conn.execute(
        "INSERT INTO city (code, name, province_code, timezone, event_seq, created_at)"
        " VALUES ($1, $2, $3, $4, 0, $5)",
        code,
        f"Kota {code}",
        code[:2],
        tz,
        NOW,
    )


async def add_rt(conn: Connection, code: str) -> None:
    kelurahan, rw, rt = code.split("-")
    await conn.execute(
        "INSERT INTO rt (code, city_code, kecamatan_code, kelurahan_code, rw, rt, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        code,
        kelurahan[:5],
        kelurahan[:8],
        kelurahan,
        rw,
        rt,
        NOW,
    )


def nik_for(birth: date, sex: str, serial: int, region: str = "647106") -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


async def add_resident(conn: Connection, **fields: Any) -> dict[str, Any]:
    """A resident row; sensible defaults for every field not given."""
    birth = fields.pop("birth_date", date(1980, 7, 5))
    sex = fields.pop("sex", "L")
    row: dict[str, Any] = {
        "nik": fields.pop("nik", None) or nik_for(birth, sex, 1),
        "name": "BUDI SANTOSO",
        "sex": sex,
        "birth_place": "BALIKPAPAN",
        "birth_date": birth,
        "religion": "islam",
        "education": "SLTA/SEDERAJAT",
        "occupation": "KARYAWAN SWASTA",
        "marital_status": "kawin",
        "shdk": "kepala_keluarga",
        "citizenship": "WNI",
        "no_kk": "6471060101200001",
        "address": "JL. MAWAR NO. 1",
        "rt_code": RT_A,
        "city_code": CITY,
        "father_name": "AYAH",
        "mother_name": "IBU",
        "status": "active",
        "origin": "import",
        "registered_at": NOW,
        "updated_at": NOW,
    }
    row.update(fields)
    cols = list(row)
    marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    await conn.execute(f"INSERT INTO resident ({', '.join(cols)}) VALUES ({marks})", *row.values())
    await conn.execute(
        "INSERT INTO household (no_kk, rt_code, city_code, head_nik, updated_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (no_kk) DO NOTHING",
        row["no_kk"],
        row["rt_code"],
        row["city_code"],
        row["nik"] if row["shdk"] == "kepala_keluarga" else None,
        NOW,
    )
    return row


async def add_user(
    conn: Connection,
    username: str,
    role: Role,
    *,
    city: str | None = None,
    rts: tuple[str, ...] = (),
    areas: tuple[str, ...] = (),
    whatsapp: str | None = None,
    email: str | None = None,
) -> tuple[Principal, str]:
    """A user with scopes and an API token: (principal, token)."""
    user_id = await conn.fetchval(
        "INSERT INTO rtbook_user (username, role, city_code, whatsapp, email, language,"
        " is_active, created_at) VALUES ($1, $2, $3, $4, $5, 'id', $6, $7) RETURNING id",
        username,
        role.value,
        city,
        whatsapp,
        email,
        True,
        NOW,
    )
    for rt in rts:
        await conn.execute("INSERT INTO user_rt (user_id, rt_code) VALUES ($1, $2)", user_id, rt)
    for area in areas:
        await conn.execute(
            "INSERT INTO user_area (user_id, region_code) VALUES ($1, $2)", user_id, area
        )
    token = await create_token(conn, user_id)
    principal = await load_principal(conn, user_id)
    assert principal is not None
    return principal, token


async def standard_city(conn: Connection) -> None:
    """Balikpapan (64.71) with RT 005 and 006 of RW 003 in kelurahan Damai, and a
    second city (64.72) with one RT, for scope tests."""
    await add_city(conn, CITY)
    await add_city(conn, "64.72")
    for rt in (RT_A, RT_B, RT_OTHER_CITY):
        await add_rt(conn, rt)
