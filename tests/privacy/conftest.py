"""Fixtures of the privacy tests: the seeded database and a running app with the
lansia plugin (its table holds plugin data on residents), on each backend."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from privacy_support import World, lansia_registry, seed_database

from rtbook.cli import main
from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app


@pytest.fixture
def world(db_env: DatabaseURL) -> World:
    import asyncio

    return asyncio.run(seed_database(db_env))


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(world.url, registry=lansia_registry())) as test_client:
        yield test_client


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def one_error_line(self) -> bool:
        lines = self.err.splitlines()
        return self.code == 2 and len(lines) == 1 and lines[0].strip() != ""


@pytest.fixture
def rtbook(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``rtbook(*args, stdin=None)``: the command run in this process."""

    def run(*args: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run
