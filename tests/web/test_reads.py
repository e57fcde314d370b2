"""rtbook.core.ledger.reads used directly (as the CLI, pages or worker would)."""

from __future__ import annotations

from datetime import date

import pytest
from factories import RT_A, RT_B, add_resident, add_user, nik_for, standard_city

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection, Database
from rtbook.core.errors import Forbidden, NotFound
from rtbook.core.ledger import reads


@pytest.mark.parametrize("name", ["BUDI", "SITI 'AMINAH'", "ÖZIL ŞAHIN", "李小龙", "A\\B%_"])
def test_cursor_round_trip(name: str) -> None:
    nik = "6471051234560001"
    cursor = reads.encode_cursor(name, nik)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert reads.decode_cursor(cursor) == (name, nik)


async def _seed(conn: Connection) -> Principal:
    await standard_city(conn)
    for serial, name in enumerate(["ÖZIL", "ANDI", "ZAINAL", "ÄDAM"], start=1):
        await add_resident(conn, nik=nik_for(date(1980, 1, serial), "L", serial), name=name)
    principal, _ = await add_user(conn, "ketua", Role.RT_HEAD, city="64.71", rts=(RT_A,))
    return principal


async def test_units_read_and_check_scope(db: Database) -> None:
    principal = await db.write(_seed)
    trusted = await db.read(reads.residents_page(None, RT_A, limit=3))
    rest = await db.read(reads.residents_page(None, RT_A, cursor=trusted.next_cursor))
    names = [i.name for i in trusted.items + rest.items]
    assert sorted(names) == sorted(["ÖZIL", "ANDI", "ZAINAL", "ÄDAM"])
    assert len(set(names)) == 4 and rest.next_cursor is None

    assert (await db.read(reads.households(principal, RT_A))).items
    with pytest.raises(Forbidden):
        await db.read(reads.residents_page(principal, RT_B))
    with pytest.raises(NotFound):
        await db.read(reads.events_page(principal, "64.71.06.1005-003-099"))
    assert await db.read(reads.rt_lookup(RT_B)) == "64.71"


def test_bad_parameters_raise_invalid_query() -> None:
    bad = [
        lambda: reads.residents_page(None, RT_A, limit=0),
        lambda: reads.residents_page(None, RT_A, limit=201),
        lambda: reads.residents_page(None, RT_A, status="alive"),
        lambda: reads.residents_page(None, RT_A, cursor="%%%"),
        lambda: reads.residents_page(None, RT_A, q="x" * 101),
        lambda: reads.events_page(None, RT_A, after=-1),
        lambda: reads.events_page(None, RT_A, after=2**62 + 1),
        lambda: reads.events_page(None, RT_A, limit=501),
    ]
    for make in bad:
        with pytest.raises(reads.InvalidQuery):
            make()
