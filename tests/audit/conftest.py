"""Fixtures of the audit tests: the web tests' seeded city (tests/web/web_support.py)
and a running app (lifespan included), on each backend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from web.web_support import World, seed_database

from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app


@pytest.fixture
def world(db_env: DatabaseURL) -> World:
    return asyncio.run(seed_database(db_env))


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(world.url)) as test_client:
        yield test_client
