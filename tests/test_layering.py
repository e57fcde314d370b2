"""The shape the architecture promises: a core without web imports, a plugin marker."""

from __future__ import annotations

import ast
from pathlib import Path

import pluggy

import rtbook

CORE = Path(rtbook.__file__).parent / "core"
# Jinja2 is allowed: the notification hub renders messages with it.
WEB_PACKAGES = ("litestar", "uvicorn", "starlette", "httpx")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_has_no_web_imports() -> None:
    offenders = {
        f"{path.relative_to(CORE)}: {module}"
        for path in CORE.rglob("*.py")
        for module in _imported_modules(path)
        if module.split(".")[0] in WEB_PACKAGES or module.startswith("rtbook.web")
    }
    assert not offenders, f"rtbook/core imports web code: {sorted(offenders)}"


def test_core_files_exist_to_check() -> None:
    # The guard above must look at real files, or it proves nothing.
    assert len(list(CORE.rglob("*.py"))) >= 10


def test_plugin_marker_is_exported() -> None:
    assert isinstance(rtbook.hookimpl, pluggy.HookimplMarker)
    assert rtbook.hookimpl.project_name == "rtbook"
