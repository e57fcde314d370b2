"""GET/PUT /api/v1/cities/{city}/plugins (CONTRACT.md, Plugins per city), on both
backends, over the real app with the sample plugin installed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from factories import CITY
from litestar.testing import TestClient
from plugins_support import OTHER_CITY, World, seed, sql

from rtbook.web.app import create_app

SECRET = "wa-token-8f3a9c"


@pytest.fixture
def world(db_env, sample_plugin) -> World:
    return asyncio.run(seed(db_env, event_seq=12))


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(world.url)) as test_client:
        yield test_client


def plugins_url(city: str = CITY, name: str | None = None) -> str:
    base = f"/api/v1/cities/{city}/plugins"
    return f"{base}/{name}" if name else base


def stored(world: World, name: str = "sample", city: str = CITY) -> dict | None:
    rows = sql(
        world.url,
        "SELECT enabled, config, start_seq, updated_by FROM plugin_setting"
        " WHERE city_code = $1 AND plugin = $2",
        city,
        name,
    )
    if not rows:
        return None
    row = rows[0]
    return {
        "enabled": bool(row["enabled"]),
        "config": msgspec.json.decode(row["config"]),
        "start_seq": row["start_seq"],
        "updated_by": row["updated_by"],
    }


def test_list_shows_installed_plugins_disabled(client, world) -> None:
    answer = client.get(plugins_url(), headers=world.auth("city_admin"))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [(i["name"], i["enabled"]) for i in items] == [
        ("sample", False),
        ("sample_async", False),
    ]
    assert set(items[0]) == {"name", "enabled", "version", "description", "config"}
    assert items[0]["version"] == "0.1"


def test_enable_with_config_then_list(client, world) -> None:
    body = {"enabled": True, "config": {"label": "bpn", "token": SECRET}}
    answer = client.put(plugins_url(name="sample"), json=body, headers=world.auth("city_admin"))
    assert answer.status_code == 200, answer.text
    item = answer.json()
    assert item["enabled"] is True and item["config"]["label"] == "bpn"
    assert item["config"]["token"] == "***"
    row = stored(world)
    assert row["enabled"] is True and row["start_seq"] == 12
    assert row["config"]["token"] == SECRET  # stored for the plugin, never shown
    assert row["updated_by"] == world.user_ids["city_admin"]
    listed = client.get(plugins_url(), headers=world.auth("admin"))
    assert SECRET not in listed.text
    sample = next(i for i in listed.json()["items"] if i["name"] == "sample")
    assert sample["enabled"] is True and sample["config"]["token"] == "***"
    # the other city is untouched
    other = client.get(plugins_url(OTHER_CITY), headers=world.auth("admin")).json()
    assert not any(i["enabled"] for i in other["items"])


def test_put_back_what_get_showed_keeps_the_secret(client, world) -> None:
    auth = world.auth("city_admin")
    client.put(
        plugins_url(name="sample"),
        json={"enabled": True, "config": {"token": SECRET}},
        headers=auth,
    )
    shown = next(
        i for i in client.get(plugins_url(), headers=auth).json()["items"] if i["name"] == "sample"
    )
    shown["config"]["label"] = "edited"
    answer = client.put(
        plugins_url(name="sample"), json={"enabled": True, "config": shown["config"]}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    row = stored(world)
    assert row["config"]["token"] == SECRET and row["config"]["label"] == "edited"
    # without config: the stored config stays
    answer = client.put(plugins_url(name="sample"), json={"enabled": False}, headers=auth)
    assert answer.status_code == 200 and answer.json()["enabled"] is False
    assert stored(world)["config"]["token"] == SECRET


def test_bad_config_is_422_with_details_and_no_secret(
    client, world, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {
        "enabled": True,
        "config": {"label": "", "fail_sequences": ["x"], "colour": "red", "token": 12345678},
    }
    answer = client.put(plugins_url(name="sample"), json=body, headers=world.auth("admin"))
    assert answer.status_code == 422, answer.text
    payload = answer.json()
    assert "ditolak" in payload["error"]
    fields = {d["field"] for d in payload["details"]}
    assert fields == {"label", "fail_sequences[0]", "colour", "token"}
    assert "12345678" not in answer.text
    assert stored(world) is None  # nothing changed
    # a secret of the right type but with a bad sibling field: not echoed either
    body = {"enabled": True, "config": {"label": "", "token": SECRET}}
    answer = client.put(plugins_url(name="sample"), json=body, headers=world.auth("admin"))
    assert answer.status_code == 422 and SECRET not in answer.text
    assert SECRET not in caplog.text


def test_body_of_the_wrong_shape_is_refused(client, world) -> None:
    auth = world.auth("admin")
    for body in ({"enabled": "yes"}, {"config": {}}, {"enabled": True, "extra": 1}, [1]):
        answer = client.put(plugins_url(name="sample"), json=body, headers=auth)
        assert answer.status_code in (400, 422), (body, answer.text)
        assert answer.json()["error"]
    answer = client.put(
        plugins_url(name="sample"),
        content=b"{not json",
        headers=auth | {"content-type": "application/json"},
    )
    assert answer.status_code in (400, 422)
    assert stored(world) is None


@pytest.mark.parametrize(
    ("who", "city", "status"),
    [
        ("admin", CITY, 200),
        ("admin", OTHER_CITY, 200),
        ("city_admin", CITY, 200),
        ("city_admin", OTHER_CITY, 403),
        ("city_admin_other", CITY, 403),
        ("head_a", CITY, 403),
        ("integrator", CITY, 403),
        ("health_worker", CITY, 403),
        ("admin", "99.99", 404),
        ("city_admin", "99.99", 403),
    ],
)
def test_who_may_read_and_change(client, world, who: str, city: str, status: int) -> None:
    auth = world.auth(who)
    assert client.get(plugins_url(city), headers=auth).status_code == status
    answer = client.put(plugins_url(city, "sample"), json={"enabled": True}, headers=auth)
    assert answer.status_code == status, answer.text
    assert (stored(world, city=city) is not None) == (status == 200)


def test_unknown_plugin_is_404_and_no_token_is_401(client, world) -> None:
    answer = client.put(
        plugins_url(name="nothere"), json={"enabled": True}, headers=world.auth("admin")
    )
    assert answer.status_code == 404 and "nothere" in answer.json()["error"]
    assert client.get(plugins_url()).status_code == 401
    assert client.put(plugins_url(name="sample"), json={"enabled": True}).status_code == 401


def test_openapi_documents_the_endpoints(client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/cities/{city}/plugins"]
    assert "put" in paths["/api/v1/cities/{city}/plugins/{name}"]
