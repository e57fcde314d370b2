"""Fixtures of the lansia tests: the seeded city and a running app with only the
lansia plugin (lifespan included), on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lansia_support import World, lansia_registry, run, seed_database
from litestar.testing import TestClient

from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app


@pytest.fixture
def world(db_env: DatabaseURL) -> World:
    return run(seed_database(db_env))


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(world.url, registry=lansia_registry())) as test_client:
        yield test_client
