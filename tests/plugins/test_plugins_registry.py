"""Discovery through the ``rtbook`` entry-point group, failures, allow/block lists,
tracing, and the one-plugin-at-a-time hook calls the dispatcher relies on."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from plugins_support import feed_event, registry_env

import rtbook
from rtbook.core.errors import NotFound
from rtbook.core.plugins.registry import HOOK_NAMES, PluginLoadError, PluginRegistry

SINK_CONFIG = {"label": "x"}


def test_sample_plugin_is_found_through_its_entry_point(sample_plugin) -> None:
    registry = PluginRegistry.load()
    assert registry.names() == ["sample", "sample_async"]
    assert registry.failures == {}
    info = registry.info("sample")
    # the description from rtbook_plugin_info, the version from the dist's METADATA
    assert (info.version, info.description) == ("0.1", "Contoh plugin (sample plugin)")
    assert info.has_schema and info.secret_fields == ("token",)
    assert info.distribution == "rtbook-sample-plugin"
    assert "rtbook_service_completed" in info.hooks
    # no rtbook_plugin_info at all: version and description from the distribution
    other = registry.info("sample_async")
    assert other.version == "0.1" and other.description.startswith("Contoh plugin pihak ketiga")


def test_nothing_installed_means_no_plugins() -> None:
    registry = PluginRegistry.load()
    assert registry.names() == [] and registry.failures == {}
    with pytest.raises(NotFound):
        registry.info("sample")


def test_broken_plugins_are_reported_by_name_and_skipped(
    sample_plugin, broken_plugins, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rtbook.plugins")
    registry = PluginRegistry.load()
    assert registry.names() == ["sample", "sample_async"]  # the good ones still load
    assert set(registry.failures) == {"broken", "badhook"}
    assert "ImportError" in registry.failures["broken"]
    assert "nonexistent_dependency" in registry.failures["broken"]
    assert "rtbook_service_complete" in registry.failures["badhook"]
    assert all("\n" not in reason for reason in registry.failures.values())
    logged = caplog.text
    assert "broken" in logged and "badhook" in logged
    with pytest.raises(NotFound, match="gagal dimuat"):
        registry.info("broken")


def test_allow_list_loads_only_those(sample_plugin, broken_plugins) -> None:
    registry = PluginRegistry.load(registry_env(RTBOOK_PLUGINS="sample_async, nothere"))
    assert registry.names() == ["sample_async"]
    # the broken ones were not even imported; a listed name that is missing is reported
    assert set(registry.failures) == {"nothere"}
    assert "tidak terpasang" in registry.failures["nothere"]


def test_block_list_never_loads_those(sample_plugin, broken_plugins) -> None:
    registry = PluginRegistry.load(registry_env(RTBOOK_DISABLE_PLUGINS="broken,badhook,sample"))
    assert registry.names() == ["sample_async"]
    assert registry.failures == {}


def test_block_list_wins_over_allow_list(sample_plugin) -> None:
    registry = PluginRegistry.load(
        registry_env(RTBOOK_PLUGINS="sample,sample_async", RTBOOK_DISABLE_PLUGINS="sample")
    )
    assert registry.names() == ["sample_async"]
    assert registry.failures == {}


def test_a_plugin_installed_for_another_process_is_found_there(sample_plugin) -> None:
    """The fixture exports PYTHONPATH, so a child Python finds the plugin too (and
    inherits RTBOOK_DISABLE_PLUGINS, which blocks the built-ins)."""
    code = (
        "from rtbook.core.plugins.registry import PluginRegistry;"
        "print(','.join(PluginRegistry.load().names()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "sample,sample_async"


async def test_call_runs_only_that_plugins_hook(sample_plugin) -> None:
    registry = PluginRegistry.load()
    await registry.call(
        "sample",
        "rtbook_service_completed",
        event=feed_event(3),
        city="64.71",
        config={},
        db=None,
        notifier=None,
    )
    assert [(line["plugin"], line["sequence"]) for line in sample_plugin.lines()] == [("sample", 3)]


async def test_call_awaits_async_hooks(sample_plugin) -> None:
    registry = PluginRegistry.load()
    result = await registry.call(
        "sample_async",
        "rtbook_service_completed",
        event=feed_event(4),
        city="64.71",
        config={},
        db=None,
        notifier=None,
    )
    assert result is None
    assert [line["plugin"] for line in sample_plugin.lines()] == ["sample_async"]


async def test_call_lets_the_plugins_exception_through(sample_plugin) -> None:
    registry = PluginRegistry.load()
    config = {"fail_sequences": [5]}
    with pytest.raises(RuntimeError, match="menolak peristiwa 5"):
        await registry.call(
            "sample_async",
            "rtbook_service_completed",
            event=feed_event(5),
            city="64.71",
            config=config,
            db=None,
            notifier=None,
        )
    with pytest.raises(RuntimeError, match="menolak peristiwa 5"):
        await registry.call(
            "sample",
            "rtbook_service_completed",
            event=feed_event(5),
            city="64.71",
            config=config,
            db=None,
            notifier=None,
        )
    assert sample_plugin.lines() == []


async def test_call_of_a_hook_the_plugin_lacks_answers_none(sample_plugin) -> None:
    registry = PluginRegistry.load()
    assert not registry.implements("sample_async", "rtbook_api_routes")
    assert registry.implements("sample_async", "rtbook_service_completed")
    assert await registry.call("sample_async", "rtbook_api_routes") is None


async def test_call_checks_its_arguments(sample_plugin) -> None:
    registry = PluginRegistry.load()
    with pytest.raises(TypeError, match="keyword arguments"):
        await registry.call("sample", "rtbook_service_completed", event=feed_event(1))
    with pytest.raises(ValueError, match="unknown hook"):
        await registry.call("sample", "rtbook_no_such_hook")
    with pytest.raises(NotFound):
        await registry.call("nothere", "rtbook_api_routes")


def test_call_sync_refuses_an_async_implementation(sample_plugin) -> None:
    registry = PluginRegistry.load()
    with pytest.raises(TypeError, match="must not be async"):
        registry.call_sync(
            "sample_async",
            "rtbook_compose_message",
            event=feed_event(1),
            recipient={},
            channel="sample",
            language="id",
        )


def test_collect_isolates_a_plugin_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    class Good:
        @rtbook.hookimpl
        def rtbook_template_dirs(self):
            return ["/good"]

    class Bad:
        @rtbook.hookimpl
        def rtbook_template_dirs(self):
            raise RuntimeError("bad plugin")

    registry = PluginRegistry()
    registry.register("bad", Bad())
    registry.register("good", Good())
    assert registry.collect("rtbook_template_dirs") == [("good", ["/good"])]
    assert "bad plugin" in caplog.text  # logged with its traceback
    assert registry.collect("rtbook_template_dirs", names=["bad"]) == []


def test_trace_logs_each_call_with_plugin_hook_city_and_time(
    sample_plugin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rtbook.plugins.trace")
    registry = PluginRegistry.load(registry_env(RTBOOK_TRACE_PLUGINS="1"))
    assert registry.trace
    caplog.clear()
    import asyncio

    asyncio.run(
        registry.call(
            "sample",
            "rtbook_service_completed",
            event=feed_event(9),
            city="64.71",
            config={},
            db=None,
            notifier=None,
        )
    )
    records = [r.getMessage() for r in caplog.records if r.name == "rtbook.plugins.trace"]
    assert len(records) == 1
    message = records[0]
    assert "plugin=sample" in message and "hook=rtbook_service_completed" in message
    assert "city=64.71" in message and "ms=" in message and message.endswith("ok")


def test_no_trace_unless_asked(sample_plugin, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rtbook.plugins.trace")
    registry = PluginRegistry.load(registry_env(RTBOOK_TRACE_PLUGINS="0"))
    registry.collect("rtbook_template_dirs")
    assert not [r for r in caplog.records if r.name == "rtbook.plugins.trace"]


def test_trace_marks_a_call_that_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Bad:
        @rtbook.hookimpl
        def rtbook_template_dirs(self):
            raise RuntimeError("boom")

    caplog.set_level(logging.INFO, logger="rtbook.plugins.trace")
    registry = PluginRegistry(trace=True)
    registry.register("bad", Bad())
    registry.collect("rtbook_template_dirs")
    traced = [r.getMessage() for r in caplog.records if r.name == "rtbook.plugins.trace"]
    assert traced and traced[-1].endswith("error") and "city=-" in traced[-1]


def test_register_refuses_unusable_plugins() -> None:
    class Wrapper:
        @rtbook.hookimpl(wrapper=True)
        def rtbook_template_dirs(self):
            return (yield)

    class WrongArgs:
        @rtbook.hookimpl
        def rtbook_service_completed(self, event, feed):  # "feed" is no argument of it
            return None

    class NotAStruct:
        @rtbook.hookimpl
        def rtbook_config_schema(self):
            return dict

    class OtherName:
        @rtbook.hookimpl
        def rtbook_plugin_info(self):
            return {"name": "someone_else"}

    registry = PluginRegistry()
    for name, plugin, reason in [
        ("wrapper", Wrapper(), "wrapper"),
        ("wrong_args", WrongArgs(), "feed"),
        ("not_struct", NotAStruct(), "msgspec.Struct"),
        ("other_name", OtherName(), "someone_else"),
        ("Bad-Name", object(), "nama plugin"),
    ]:
        with pytest.raises(PluginLoadError, match=reason):
            registry.register(name, plugin)
        assert name not in registry
    assert registry.names() == []
    # a refused plugin leaves nothing behind: the name can be used again
    registry.register("wrapper", object())
    assert registry.names() == ["wrapper"]


def test_every_hook_spec_is_known_to_the_registry() -> None:
    from rtbook.core import hookspecs

    specs = {name for name, value in vars(hookspecs).items() if hasattr(value, "rtbook_spec")}
    assert set(HOOK_NAMES) == specs
    assert "rtbook_service_completed" in specs and len(specs) == 12


def test_two_entry_points_with_one_name(sample_plugin, monkeypatch, tmp_path) -> None:
    """The first one found on sys.path is loaded, the other reported beside it."""
    dist = tmp_path / "rtbook_dup-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rtbook-dup\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[rtbook]\nsample = rtbook_dup_plugin\n")
    (tmp_path / "rtbook_dup_plugin.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = PluginRegistry.load()
    assert registry.names() == ["sample", "sample_async"]
    [(key, reason)] = registry.failures.items()
    assert key.startswith("sample (") and "name taken" in reason
