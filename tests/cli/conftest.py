"""Fixtures of the command-line tests: run ``rtbook`` in-process on the test database.

The commands call ``asyncio.run`` themselves, so these tests are plain (sync)
functions and read the database through cli_support.query.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import Result, setup_city

from rtbook.cli import main
from rtbook.core.regions import CityRegions, read_city_regions
from rtbook.core.settings import DatabaseURL

Run = Callable[..., Result]


@pytest.fixture
def rtbook(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``rtbook(*args, stdin=None)``: the command run in this process."""

    def run(*args: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture(scope="session")
def city_regions(regions_file: Path) -> dict[str, CityRegions]:
    """Balikpapan (64.71) and Samarinda (64.72), read from the region list once."""
    return {code: read_city_regions(regions_file, code) for code in ("64.71", "64.72")}


@pytest.fixture
def balikpapan(db_env: DatabaseURL, city_regions: dict[str, CityRegions]) -> DatabaseURL:
    """The test database with city 64.71 added (no RTs yet)."""
    setup_city(db_env, city_regions["64.71"])
    return db_env
