"""Every hook spec has a section in docs/plugins.md and a test of its own: this test
fails the day a hook is added without them."""

from __future__ import annotations

import re
from pathlib import Path

from rtbook.core import hookspecs

TESTS = Path(__file__).resolve().parent.parent
DOCS = TESTS.parent / "docs" / "plugins.md"
NOT_TESTS = {Path(__file__).resolve()}


def _hook_names() -> list[str]:
    """The hooks pluggy knows from rtbook.core.hookspecs (marked with rtbook.hookspec)."""
    return sorted(
        name
        for name, value in vars(hookspecs).items()
        if name.startswith("rtbook_") and hasattr(value, "rtbook_spec")
    )


def _documented(doc: str) -> set[str]:
    return set(re.findall(r"^## `(rtbook_[a-z_]+)`\s*$", doc, flags=re.MULTILINE))


def _test_modules() -> list[Path]:
    """Test modules only: the sample plugin implements every hook, which proves nothing."""
    return [p for p in TESTS.rglob("test_*.py") if p.resolve() not in NOT_TESTS]


def _mentioned(names: list[str], files: list[Path]) -> set[str]:
    text = "\n".join(p.read_text() for p in files)
    # "test_rtbook_x" counts as a mention of rtbook_x, "rtbook_x_y" does not
    return {name for name in names if re.search(rf"(?<![A-Za-z0-9]){name}(?![A-Za-z0-9_])", text)}


def test_there_are_hooks_to_check() -> None:
    names = _hook_names()
    assert "rtbook_service_completed" in names and len(names) >= 10


def test_every_hook_has_a_section_in_docs_plugins_md() -> None:
    missing = set(_hook_names()) - _documented(DOCS.read_text())
    assert not missing, f'docs/plugins.md has no "## `hook`" section for: {sorted(missing)}'


def test_every_hook_has_a_test() -> None:
    missing = set(_hook_names()) - _mentioned(_hook_names(), _test_modules())
    assert not missing, f"no test under tests/ mentions: {sorted(missing)}"


def test_the_docs_describe_no_hook_that_does_not_exist() -> None:
    extra = _documented(DOCS.read_text()) - set(_hook_names())
    assert not extra, f"docs/plugins.md documents unknown hooks: {sorted(extra)}"


def test_the_checks_catch_a_missing_hook(tmp_path: Path) -> None:
    """The checks above must be able to fail."""
    assert _documented("## `rtbook_a`\n## `rtbook_b` extra\n") == {"rtbook_a"}
    only = tmp_path / "test_only.py"
    only.write_text("def test_x():\n    rtbook_plugin_info_x = 1\n")
    assert _mentioned(["rtbook_plugin_info"], [only]) == set()
    only.write_text("registry.call_sync('sample', 'rtbook_plugin_info')\n")
    assert _mentioned(["rtbook_plugin_info"], [only]) == {"rtbook_plugin_info"}
