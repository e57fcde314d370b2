"""Fixtures of the session tests: a seeded database on each backend and the app with
a clock the test drives (``app.state.clock``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sessions_support import Clock, Seeded, seed

from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app


@pytest.fixture
def seeded(db_env: DatabaseURL) -> Seeded:
    return seed(db_env)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(seeded: Seeded, clock: Clock) -> Iterator[TestClient[Any]]:
    app = create_app(seeded.url)
    app.state.clock = clock
    with TestClient(app) as test_client:
        yield test_client
