"""Fixtures of the dispatch tests: the sample plugins installed by entry point, a
database with two cities, and a sink file for what the plugins receive."""

from __future__ import annotations

from pathlib import Path

import pytest
from dispatch_support import SAMPLE_DIR, load_registry
from factories import standard_city

from rtbook.core.db import Database
from rtbook.core.plugins.registry import PluginRegistry


@pytest.fixture(autouse=True)
def sample_installed(monkeypatch: pytest.MonkeyPatch) -> Path:
    """tests/plugins/sample on sys.path: its dist-info folder makes the sample plugins
    entry points of the group ``rtbook``, as ``pip install`` would."""
    monkeypatch.syspath_prepend(str(SAMPLE_DIR))
    return SAMPLE_DIR


@pytest.fixture
def registry(sample_installed: Path) -> PluginRegistry:
    return load_registry()


@pytest.fixture
async def world(db: Database) -> Database:
    """Balikpapan (64.71, RT 005 and 006) and a second city (64.72, one RT)."""
    await db.write(standard_city)
    return db


@pytest.fixture
def sink(tmp_path: Path) -> Path:
    return tmp_path / "sink.jsonl"
