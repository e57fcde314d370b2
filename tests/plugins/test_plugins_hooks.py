"""Each hook of rtbook.core.hookspecs, answered by the sample third-party plugin
through the registry (the way rtbook's own parts ask them)."""

from __future__ import annotations

import importlib
from pathlib import Path

import msgspec
from plugins_support import feed_event

from rtbook.core.auth import Principal, Role
from rtbook.core.plugins import MenuItem, StartupSettings
from rtbook.core.plugins.registry import PluginRegistry


def test_rtbook_plugin_info(sample_plugin) -> None:
    registry = PluginRegistry.load()
    assert registry.call_sync("sample", "rtbook_plugin_info") == {
        "name": "sample",
        "description": "Contoh plugin (sample plugin)",
    }
    assert registry.info("sample").description == "Contoh plugin (sample plugin)"


def test_rtbook_config_schema(sample_plugin) -> None:
    registry = PluginRegistry.load()
    schema = registry.call_sync("sample", "rtbook_config_schema")
    assert issubclass(schema, msgspec.Struct)
    assert registry.schema("sample").secret_fields == ("token",)
    assert registry.validate_config("sample", {"label": "x"})["label"] == "x"


async def test_rtbook_service_completed(sample_plugin) -> None:
    registry = PluginRegistry.load()
    config = registry.validate_config("sample", {"label": "bpn", "token": "t-1"})
    event = feed_event(17, effect="resident_deceased")
    await registry.call(
        "sample",
        "rtbook_service_completed",
        event=event,
        city="64.71",
        config=config,
        db=None,
        notifier=None,
    )
    [line] = sample_plugin.lines()
    assert line == {
        "plugin": "sample",
        "city": "64.71",
        "id": "64.71-17",
        "sequence": 17,
        "subject": event["subject"],
        "effect": "resident_deceased",
        "label": "bpn",
        "token_set": True,
    }


async def test_rtbook_notification_channels(sample_plugin) -> None:
    registry = PluginRegistry.load()
    [(name, channels)] = registry.collect("rtbook_notification_channels")
    assert name == "sample" and set(channels) == {"sample"}
    message_id = channels["sample"]("+6281234567890", "Halo", subject=None, config={})
    assert message_id.startswith("sample-")
    assert sample_plugin.lines() == [
        {"channel": "sample", "address": "+6281234567890", "text": "Halo"}
    ]


async def test_rtbook_compose_message(sample_plugin) -> None:
    registry = PluginRegistry.load()
    answers = await registry.acollect(
        "rtbook_compose_message",
        event=feed_event(2),
        recipient={"username": "ketua-rt-005"},
        channel="sample",
        language="id",
    )
    assert answers == [
        ("sample", "Yth. ketua-rt-005: Kelahiran SITI AMINAH tercatat"),
        ("sample_async", "async sample: 64.71-2"),
    ]
    # another channel: the sync plugin leaves it to others (None is left out)
    other = await registry.acollect(
        "rtbook_compose_message",
        event=feed_event(2),
        recipient={},
        channel="email",
        language="en",
        names=["sample"],
    )
    assert other == []


def test_rtbook_api_routes(sample_plugin) -> None:
    registry = PluginRegistry.load()
    [(name, handlers)] = registry.collect("rtbook_api_routes")
    assert name == "sample"
    assert sorted(p for h in handlers for p in h.paths) == [
        "/cities/{city:str}/sample/status",
        "/sample/ping",
    ]


def test_rtbook_page_routes(sample_plugin) -> None:
    registry = PluginRegistry.load()
    [(name, handlers)] = registry.collect("rtbook_page_routes")
    assert name == "sample" and [p for h in handlers for p in h.paths] == ["/sample/page"]


def test_rtbook_template_dirs(sample_plugin) -> None:
    registry = PluginRegistry.load()
    [folder] = registry.template_dirs()
    assert (Path(folder) / "sample.html").is_file()


def test_rtbook_menu_items(sample_plugin) -> None:
    registry = PluginRegistry.load()
    head = Principal(user_id=1, username="ketua", role=Role.RT_HEAD, city_code="64.71")
    answers = registry.collect("rtbook_menu_items", city="64.71", principal=head)
    assert answers == [
        ("sample", [MenuItem(label="Contoh (sample)", href="/sample/page?city=64.71", order=50)])
    ]
    integrator = Principal(user_id=2, username="siak", role=Role.INTEGRATOR, city_code="64.71")
    assert registry.collect("rtbook_menu_items", city="64.71", principal=integrator) == [
        ("sample", [])
    ]
    # asked only of the plugins enabled in the city
    assert registry.collect("rtbook_menu_items", names=[], city="64.71", principal=head) == []


def test_rtbook_piccolo_apps(sample_plugin) -> None:
    registry = PluginRegistry.load()
    assert registry.piccolo_apps() == ["rtbook_sample_plugin"]
    app_config = importlib.import_module("rtbook_sample_plugin").APP_CONFIG
    assert app_config.app_name == "sample"
    assert Path(app_config.migrations_folder_path).is_dir()


def test_rtbook_startup_check(sample_plugin, tmp_path: Path) -> None:
    registry = PluginRegistry.load()
    fine = StartupSettings("sqlite", {"RTBOOK_SAMPLE_SINK": str(tmp_path / "sink.jsonl")})
    assert registry.startup_problems(fine) == {}
    broken = StartupSettings("sqlite", {"RTBOOK_SAMPLE_SINK": str(tmp_path / "no" / "s.jsonl")})
    problems = registry.startup_problems(broken)
    assert list(problems) == ["sample"]
    assert problems["sample"][0].startswith("folder RTBOOK_SAMPLE_SINK tidak ada")
