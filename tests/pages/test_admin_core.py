"""rtbook.core.user_admin on its own: who may create, list and deactivate users and
add RTs (the pages' tests show the same through the forms)."""

from __future__ import annotations

import pytest
from factories import CITY, RT_A, RT_OTHER_CITY, add_user, standard_city

from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.user_admin import (
    add_city_rts,
    check_may_create,
    city_rts,
    create_user,
    list_city_users,
    managed_user,
    set_user_active,
)
from rtbook.core.users import new_user


async def _world(db: Database) -> dict:
    async def unit(conn):  # type: ignore[no-untyped-def]
        await standard_city(conn)
        await conn.execute(
            "INSERT INTO region (code, name, level, parent_code, city_code)"
            " VALUES ('64.71.06.1005', 'Damai', 'kelurahan', '64.71.06', '64.71')"
        )
        found = {}
        for name, role, scope in (
            ("root", Role.ADMIN, {}),
            ("siti", Role.CITY_ADMIN, {"city": CITY}),
            ("ani", Role.CITY_ADMIN, {"city": "64.72"}),
            ("budi", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
        ):
            found[name] = (await add_user(conn, name, role, **scope))[0]
        return found

    return await db.write(unit)


async def test_a_city_admin_creates_users_of_their_city_only(db: Database) -> None:
    who = await _world(db)
    siti, root = who["siti"], who["root"]
    with pytest.raises(Forbidden):
        check_may_create(siti, new_user("bos", "admin"), CITY)
    with pytest.raises(Forbidden):
        check_may_create(siti, new_user("tono", "rt_head", rts=[RT_OTHER_CITY]), CITY)
    with pytest.raises(Forbidden):
        check_may_create(siti, new_user("tono", "rt_head", rts=[RT_A]), "64.72")
    check_may_create(root, new_user("bos", "admin"), None)
    user = new_user("tono", "rt_head", city=CITY, rts=[RT_A])
    user_id = await db.write(lambda conn: create_user(conn, siti, user, CITY))
    listed = await db.read(lambda conn: list_city_users(conn, siti, CITY))
    assert [u.username for u in listed] == ["budi", "siti", "tono"]
    assert listed[2].id == user_id and listed[2].rt_codes == (RT_A,)
    with pytest.raises(Forbidden):
        await db.read(lambda conn: list_city_users(conn, who["ani"], CITY))
    with pytest.raises(RtbookError, match="sudah dipakai"):
        await db.write(lambda conn: create_user(conn, siti, user, CITY))


async def test_managing_and_deactivating_users(db: Database) -> None:
    who = await _world(db)
    with pytest.raises(NotFound):
        await db.read(lambda conn: managed_user(conn, who["siti"], "nobody"))
    with pytest.raises(Forbidden):
        await db.read(lambda conn: managed_user(conn, who["siti"], "root"))
    with pytest.raises(Forbidden):
        await db.write(lambda conn: set_user_active(conn, who["ani"], "budi", False))
    with pytest.raises(RtbookError, match="akun sendiri"):
        await db.write(lambda conn: set_user_active(conn, who["siti"], "siti", False))
    await db.write(lambda conn: set_user_active(conn, who["siti"], "budi", False))
    budi = await db.read(lambda conn: managed_user(conn, who["siti"], "budi"))
    assert budi.is_active is False


async def test_adding_rts_of_the_city_all_or_nothing(db: Database) -> None:
    who = await _world(db)
    siti = who["siti"]
    with pytest.raises(RtbookError, match="di luar kota"):
        await db.write(
            lambda conn: add_city_rts(conn, siti, CITY, ["64.71.06.1005-004-001", RT_OTHER_CITY])
        )
    with pytest.raises(Forbidden):
        await db.write(lambda conn: add_city_rts(conn, who["ani"], CITY, ["64.71.06.1005-004-001"]))
    added = await db.write(lambda conn: add_city_rts(conn, siti, CITY, ["64.71.06.1005-004-001"]))
    assert [r.code for r in added] == ["64.71.06.1005-004-001"]
    rts = await db.read(lambda conn: city_rts(conn, siti, CITY))
    assert [(r.code, r.heads) for r in rts] == [
        (RT_A, ("budi",)),
        ("64.71.06.1005-003-006", ()),
        ("64.71.06.1005-004-001", ()),
    ]
