"""Tokens resolve to the right principal with its scopes; dead tokens resolve to no one."""

from __future__ import annotations

from datetime import UTC, datetime

from factories import CITY, RT_A, RT_B, add_user, standard_city

from rtbook.core.auth import Role, hash_token, principal_for_token
from rtbook.core.db import Connection, Database


async def test_token_gives_role_and_scopes(db: Database) -> None:
    await db.write(standard_city)

    async def setup(conn: Connection):
        return await add_user(conn, "ketua-005", Role.RT_HEAD, city=CITY, rts=(RT_A,))

    _, token = await db.write(setup)
    principal = await db.read(lambda c: principal_for_token(c, token))
    assert principal is not None
    assert principal.username == "ketua-005"
    assert principal.rt_codes == frozenset({RT_A})
    assert principal.can_read_rt(RT_A, CITY)
    assert not principal.can_read_rt(RT_B, CITY)


async def test_token_is_stored_only_as_a_hash(db: Database) -> None:
    async def setup(conn: Connection):
        return await add_user(conn, "siak", Role.INTEGRATOR, city=CITY)

    _, token = await db.write(setup)
    stored = await db.read(lambda c: c.fetch("SELECT token_hash, prefix FROM api_token"))
    assert [r["token_hash"] for r in stored] == [hash_token(token)]
    assert token not in {r["prefix"] for r in stored}


async def test_revoked_token_and_inactive_user_resolve_to_no_one(db: Database) -> None:
    async def setup(conn: Connection):
        return (
            await add_user(conn, "a", Role.CITY_ADMIN, city=CITY),
            await add_user(conn, "b", Role.CITY_ADMIN, city=CITY),
        )

    (_, revoked), (user_b, inactive) = await db.write(setup)
    await db.write(
        lambda c: c.execute(
            "UPDATE api_token SET revoked_at = $1 WHERE token_hash = $2",
            datetime.now(UTC),
            hash_token(revoked),
        )
    )
    await db.write(
        lambda c: c.execute(
            "UPDATE rtbook_user SET is_active = $1 WHERE id = $2", False, user_b.user_id
        )
    )
    assert await db.read(lambda c: principal_for_token(c, revoked)) is None
    assert await db.read(lambda c: principal_for_token(c, inactive)) is None
    assert await db.read(lambda c: principal_for_token(c, "rtb_not-a-real-token")) is None
    assert await db.read(lambda c: principal_for_token(c, "no-prefix")) is None
