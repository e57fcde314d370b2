"""Fixtures of the plugin tests: the sample third-party plugin installed the way pip
installs it (a module and its .dist-info folder on sys.path), and plugins that fail.

``sample_plugin`` puts tests/plugins/sample on sys.path and on PYTHONPATH (so
``rtbook`` run as a subprocess finds it too) and points RTBOOK_SAMPLE_SINK at a fresh
file. Every test starts with the built-in plugins blocked (``plugin_env``), so it sees
only the plugins it installs. See README.md beside this file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from plugins_support import registry_env

HERE = Path(__file__).resolve().parent
SAMPLE_DIR = HERE / "sample"
BROKEN_DIR = HERE / "broken"
PLUGIN_ENV = ("RTBOOK_PLUGINS", "RTBOOK_DISABLE_PLUGINS", "RTBOOK_TRACE_PLUGINS")


@dataclass
class SamplePlugin:
    path: Path  # the folder that holds the module and its dist-info
    sink: Path  # where the plugin appends one JSON line per event (RTBOOK_SAMPLE_SINK)

    def lines(self) -> list[dict[str, Any]]:
        if not self.sink.exists():
            return []
        return [json.loads(line) for line in self.sink.read_text().splitlines() if line]


def install(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """What ``pip install`` amounts to: the folder on sys.path, for this process
    and (PYTHONPATH) for its children."""
    monkeypatch.syspath_prepend(str(folder))
    existing = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(folder) + (os.pathsep + existing if existing else ""))


@pytest.fixture(autouse=True)
def plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No allow/block list or trace from the developer's shell leaks into a test, and
    the built-in plugins are blocked (RTBOOK_DISABLE_PLUGINS, inherited by the
    ``rtbook`` subprocesses too): the third-party machinery is tested on the plugins
    a test installs, whichever built-ins rtbook ships."""
    for name in PLUGIN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in registry_env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def sample_plugin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SamplePlugin:
    install(monkeypatch, SAMPLE_DIR)
    sink = tmp_path / "sample-sink.jsonl"
    monkeypatch.setenv("RTBOOK_SAMPLE_SINK", str(sink))
    return SamplePlugin(path=SAMPLE_DIR, sink=sink)


@pytest.fixture
def broken_plugins(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Entry points ``broken`` (its import raises ImportError) and ``badhook`` (it
    implements a hook that does not exist)."""
    install(monkeypatch, BROKEN_DIR)
    return BROKEN_DIR
