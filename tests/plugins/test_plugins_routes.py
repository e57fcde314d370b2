"""Plugins' own routes (rtbook_api_routes, rtbook_page_routes) answer 404 in a city
where the plugin is not enabled, and as the plugin says where it is; enabling and
disabling take effect without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from factories import CITY, RT_A
from form_support import page_login, set_password
from litestar.testing import TestClient
from plugins_support import OTHER_CITY, World, registry_env, seed

from rtbook.core.plugins.registry import PluginRegistry
from rtbook.web.api_plugins import plugin_api_handlers
from rtbook.web.app import create_app


@pytest.fixture
def world(db_env, sample_plugin) -> World:
    return asyncio.run(seed(db_env))


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    # create_app mounts the installed plugins' routes by itself
    with TestClient(create_app(world.url)) as test_client:
        yield test_client


def set_enabled(client: TestClient[Any], world: World, city: str, enabled: bool) -> None:
    answer = client.put(
        f"/api/v1/cities/{city}/plugins/sample",
        json={"enabled": enabled},
        headers=world.auth("admin"),
    )
    assert answer.status_code == 200, answer.text


def test_api_route_is_404_until_enabled_then_200(client, world) -> None:
    auth = world.auth("city_admin")
    ping = f"/api/v1/sample/ping?city={CITY}"
    assert client.get(ping, headers=auth).status_code == 404
    set_enabled(client, world, CITY, True)
    answer = client.get(ping, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"plugin": "sample", "city": CITY}
    # enabled in 64.71 only: 64.72 still 404
    assert client.get(f"/api/v1/sample/ping?city={OTHER_CITY}", headers=auth).status_code == 404
    set_enabled(client, world, CITY, False)
    assert client.get(ping, headers=auth).status_code == 404


def test_city_from_the_path(client, world) -> None:
    auth = world.auth("admin")
    url = f"/api/v1/cities/{CITY}/sample/status"
    assert client.get(url, headers=auth).status_code == 404
    set_enabled(client, world, CITY, True)
    assert client.get(url, headers=auth).json() == {"plugin": "sample", "city": CITY}
    assert client.get(f"/api/v1/cities/{OTHER_CITY}/sample/status", headers=auth).status_code == 404


def test_city_from_an_rt_or_area_parameter(client, world) -> None:
    auth = world.auth("admin")  # an admin has no city of their own
    set_enabled(client, world, CITY, True)
    assert client.get(f"/api/v1/sample/ping?rt={RT_A}", headers=auth).status_code == 200
    assert client.get("/api/v1/sample/ping?area=64.71.06", headers=auth).status_code == 200
    assert client.get("/api/v1/sample/ping?area=64.72.01", headers=auth).status_code == 404
    assert client.get("/api/v1/sample/ping?area=64.7", headers=auth).status_code == 404
    assert client.get("/api/v1/sample/ping", headers=auth).status_code == 404  # no city at all


def test_city_from_the_caller(client, world) -> None:
    set_enabled(client, world, CITY, True)
    assert client.get("/api/v1/sample/ping", headers=world.auth("head_a")).status_code == 200
    other = world.auth("city_admin_other")
    assert client.get("/api/v1/sample/ping", headers=other).status_code == 404


def test_plugin_routes_keep_token_auth(client, world) -> None:
    set_enabled(client, world, CITY, True)
    assert client.get(f"/api/v1/sample/ping?city={CITY}").status_code == 401


def test_page_route_is_gated_too(client, world) -> None:
    page = f"/sample/page?city={CITY}"
    # a plugin's page is for logged-in users: the login page first, wherever it is on
    anonymous = client.get(page, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/sample/page%3Fcity%3D64.71"
    set_password(world.url, "admin", "kata-sandi-uji-1")
    assert page_login(client, "admin", "kata-sandi-uji-1").status_code == 303
    off = client.get(page)
    assert off.status_code == 404 and off.headers["content-type"].startswith("text/html")
    set_enabled(client, world, CITY, True)
    answer = client.get(page)
    assert answer.status_code == 200 and "Contoh (sample) 64.71" in answer.text
    assert client.get(f"/sample/page?city={OTHER_CITY}").status_code == 404


def test_routes_of_a_blocked_plugin_do_not_exist(world) -> None:
    registry = PluginRegistry.load(env=registry_env(RTBOOK_DISABLE_PLUGINS="sample"))
    with TestClient(create_app(world.url, registry=registry)) as plain:
        answer = plain.get(f"/api/v1/sample/ping?city={CITY}", headers=world.auth("admin"))
        assert answer.status_code == 404


def test_a_plugin_whose_route_hook_raises_is_left_out() -> None:
    import rtbook

    class Bad:
        @rtbook.hookimpl
        def rtbook_api_routes(self):
            raise RuntimeError("cannot build routes")

    registry = PluginRegistry()
    registry.register("bad", Bad())
    assert plugin_api_handlers(registry) == []
