"""Plugins per city in the database (both backends): enabled is per city, start_seq
is the feed's end at enable time, secrets are write-only, bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from factories import CITY, standard_city

from rtbook.core.db import Database
from rtbook.core.errors import NotFound
from rtbook.core.plugins import SECRET_MASK
from rtbook.core.plugins.config import ConfigRejected
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import (
    all_enabled_plugins,
    enabled_plugins,
    is_enabled,
    list_plugins,
    set_plugin,
)

OTHER = "64.72"


@pytest.fixture
async def city_db(db: Database) -> Database:
    await db.write(standard_city)
    await set_event_seq(db, CITY, 41)
    return db


@pytest.fixture
def registry(sample_plugin) -> PluginRegistry:
    return PluginRegistry.load()


async def set_event_seq(db: Database, city: str, seq: int) -> None:
    await db.write(
        lambda conn: conn.execute("UPDATE city SET event_seq = $1 WHERE code = $2", seq, city)
    )


async def setting(db: Database, city: str, name: str) -> dict | None:
    row = await db.read(
        lambda conn: conn.fetchrow(
            "SELECT enabled, config, start_seq, updated_by FROM plugin_setting"
            " WHERE city_code = $1 AND plugin = $2",
            city,
            name,
        )
    )
    if row is None:
        return None
    return {
        "enabled": bool(row["enabled"]),
        "config": msgspec.json.decode(row["config"]),
        "start_seq": row["start_seq"],
        "updated_by": row["updated_by"],
    }


async def put(db, registry, name="sample", city=CITY, *, enabled=True, config=None, user=None):
    return await db.write(
        lambda conn: set_plugin(
            conn, registry, city, name, enabled=enabled, config=config, user_id=user
        )
    )


async def test_installed_is_not_enabled(city_db, registry) -> None:
    items = await city_db.read(lambda conn: list_plugins(conn, registry, CITY))
    assert [(i["name"], i["enabled"], i["config"]) for i in items] == [
        ("sample", False, {}),
        ("sample_async", False, {}),
    ]
    assert items[0]["version"] == "0.1" and items[0]["description"]
    assert await city_db.read(lambda conn: enabled_plugins(conn, CITY)) == {}


async def test_enable_starts_at_the_end_of_the_feed(city_db, registry) -> None:
    item = await put(city_db, registry, config={"label": "bpn"}, user=7)
    assert item["enabled"] is True and item["config"]["label"] == "bpn"
    stored = await setting(city_db, CITY, "sample")
    assert stored == {
        "enabled": True,
        "config": {
            "sink": None,
            "label": "bpn",
            "fail_sequences": [],
            "fail_subjects": [],
            "fail_flag": None,
            "token": None,
        },
        "start_seq": 41,
        "updated_by": 7,
    }
    enabled = await city_db.read(lambda conn: enabled_plugins(conn, CITY))
    assert list(enabled) == ["sample"]
    assert enabled["sample"].start_seq == 41 and enabled["sample"].config["label"] == "bpn"
    # enabled in one city only
    assert await city_db.read(lambda conn: enabled_plugins(conn, OTHER)) == {}
    assert await city_db.read(lambda conn: is_enabled(conn, CITY, "sample"))
    assert not await city_db.read(lambda conn: is_enabled(conn, OTHER, "sample"))
    everywhere = await city_db.read(all_enabled_plugins)
    assert list(everywhere) == [CITY] and list(everywhere[CITY]) == ["sample"]


async def test_config_change_keeps_start_seq_and_reenable_moves_it(city_db, registry) -> None:
    await put(city_db, registry)
    await set_event_seq(city_db, CITY, 50)
    await put(city_db, registry, config={"label": "changed"})
    assert (await setting(city_db, CITY, "sample"))["start_seq"] == 41  # still enabled
    await put(city_db, registry, enabled=False)
    disabled = await setting(city_db, CITY, "sample")
    assert disabled["enabled"] is False and disabled["config"]["label"] == "changed"
    assert await city_db.read(lambda conn: enabled_plugins(conn, CITY)) == {}
    await set_event_seq(city_db, CITY, 60)
    await put(city_db, registry)  # config None: the stored one stays
    again = await setting(city_db, CITY, "sample")
    assert again["enabled"] is True and again["start_seq"] == 60
    assert again["config"]["label"] == "changed"


async def test_secrets_are_write_only(city_db, registry) -> None:
    item = await put(city_db, registry, config={"token": "tok-123456", "label": "a"})
    assert item["config"]["token"] == SECRET_MASK
    listed = await city_db.read(lambda conn: list_plugins(conn, registry, CITY))
    assert listed[0]["config"]["token"] == SECRET_MASK
    assert "tok-123456" not in repr(listed)
    # sent back as "***" or left out: kept
    await put(city_db, registry, config={"token": SECRET_MASK, "label": "b"})
    assert (await setting(city_db, CITY, "sample"))["config"]["token"] == "tok-123456"
    await put(city_db, registry, config={"label": "c"})
    stored = (await setting(city_db, CITY, "sample"))["config"]
    assert (stored["token"], stored["label"]) == ("tok-123456", "c")
    # the plugin itself gets the real value
    enabled = await city_db.read(lambda conn: enabled_plugins(conn, CITY))
    assert enabled["sample"].config["token"] == "tok-123456"
    # replaced, or cleared with null
    await put(city_db, registry, config={"token": "new-secret"})
    assert (await setting(city_db, CITY, "sample"))["config"]["token"] == "new-secret"
    await put(city_db, registry, config={"token": None})
    assert (await setting(city_db, CITY, "sample"))["config"]["token"] is None


async def test_a_refused_config_changes_nothing(city_db, registry) -> None:
    await put(city_db, registry, config={"label": "keep", "token": "tok-123456"})
    before = await setting(city_db, CITY, "sample")
    with pytest.raises(ConfigRejected) as caught:
        await put(city_db, registry, config={"label": "", "token": "tok-654321", "x": 1})
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"label", "x"}
    assert "tok-654321" not in str(caught.value)
    assert await setting(city_db, CITY, "sample") == before
    # a first enable with a bad config leaves no row
    with pytest.raises(ConfigRejected):
        await put(city_db, registry, "sample_async", config={"fail_sequences": "all"})
    assert await setting(city_db, CITY, "sample_async") is None


async def test_unknown_plugin_or_city(city_db, registry) -> None:
    with pytest.raises(NotFound, match="tidak terpasang"):
        await put(city_db, registry, "nothere")
    with pytest.raises(NotFound, match=r"99\.99"):
        await put(city_db, registry, city="99.99")
    with pytest.raises(NotFound):
        await city_db.read(lambda conn: list_plugins(conn, registry, "99.99"))
    count = await city_db.read(lambda conn: conn.fetchval("SELECT count(*) FROM plugin_setting"))
    assert count == 0


async def test_disabling_a_plugin_never_enabled_writes_nothing(city_db, registry) -> None:
    item = await put(city_db, registry, enabled=False)
    assert item["enabled"] is False
    assert await setting(city_db, CITY, "sample") is None


async def test_a_plugin_enabled_but_no_longer_installed_can_be_disabled(city_db, registry) -> None:
    """Enabled once, since uninstalled: the list shows it (without its config, whose
    secrets are unknown now) so that an admin can disable it; enabled_plugins still
    returns it (the dispatcher skips names the registry does not know)."""
    await city_db.write(
        lambda conn: conn.execute(
            "INSERT INTO plugin_setting (city_code, plugin, enabled, config, start_seq,"
            " updated_at) VALUES ($1, 'gone', $2, $3, 0, $4)",
            CITY,
            True,
            '{"password": "old-secret"}',
            datetime.now(UTC),
        )
    )
    items = await city_db.read(lambda conn: list_plugins(conn, registry, CITY))
    assert items[-1] == {
        "name": "gone",
        "enabled": True,
        "version": "",
        "description": "tidak terpasang (not installed)",
        "config": {},
    }
    assert "gone" in await city_db.read(lambda conn: enabled_plugins(conn, CITY))
    with pytest.raises(NotFound):
        await put(city_db, registry, "gone", enabled=True)
    with pytest.raises(NotFound):
        await put(city_db, registry, "gone", enabled=False, config={})
    item = await put(city_db, registry, "gone", enabled=False, user=3)
    assert item["enabled"] is False and item["config"] == {}
    assert (await setting(city_db, CITY, "gone"))["enabled"] is False
    assert await city_db.read(lambda conn: enabled_plugins(conn, CITY)) == {}
    names = [i["name"] for i in await city_db.read(lambda conn: list_plugins(conn, registry, CITY))]
    assert "gone" not in names
    # never set and not installed: nothing to disable
    with pytest.raises(NotFound):
        await put(city_db, registry, "never", enabled=False)
