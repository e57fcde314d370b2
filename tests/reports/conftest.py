"""Fixtures of the reports tests: the seeded city, a running app with only the reports
plugin (lifespan included), and the story of services posted through it, on each
backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from reports_support import World, post_story, reports_registry, run, seed_database

from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app


@pytest.fixture
def world(db_env: DatabaseURL) -> World:
    return run(seed_database(db_env))


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(world.url, registry=reports_registry())) as test_client:
        yield test_client


@pytest.fixture
def story(client: TestClient[Any], world: World) -> TestClient[Any]:
    """The client, after every service of the story was posted."""
    post_story(client, world)
    return client
