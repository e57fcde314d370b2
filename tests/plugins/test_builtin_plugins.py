"""The built-in plugins are found like third-party ones, through rtbook's own entry
points ([project.entry-points.rtbook] in pyproject.toml): what ``rtbook plugins list``
shows and what PluginRegistry.load() registers; ``email`` and ``whatsapp`` in detail
(description, config schema, the channels they offer).

The other tests in this folder block them (``plugin_env``); these lift the block.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points, version
from pathlib import Path

import pytest
from factories import CITY
from plugins_support import BUILTIN_PLUGINS, seed

import rtbook_email
import rtbook_whatsapp
from rtbook.core.plugins.config import ConfigRejected
from rtbook.core.plugins.registry import PluginRegistry

RTBOOK_VERSION = version("rtbook")
DESCRIPTIONS = {
    "email": "Pemberitahuan lewat email (SMTP) untuk ketua RT (e-mail notices)",
    "whatsapp": (
        "Pemberitahuan WhatsApp untuk ketua RT lewat Meta Cloud API atau gateway "
        "Evolution API (WhatsApp notices)"
    ),
}
EMAIL_CONFIG = {
    "smtp_host": "smtp.example.org",
    "smtp_port": 587,
    "security": "starttls",
    "from": "rtbook@example.org",
    "username": "rtbook",
    "password": "smtp-secret-1",
}
WHATSAPP_CONFIG = {
    "provider": "evolution",
    "base_url": "http://10.0.0.5:8080",
    "api_key": "evo-key-1",
    "instance": "rtbook-bpp",
}


@pytest.fixture
def builtins_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a user who set no allow or block list."""
    monkeypatch.delenv("RTBOOK_DISABLE_PLUGINS")


def test_email_and_whatsapp_are_rtbooks_own_entry_points() -> None:
    own = {
        ep.name: ep.value
        for ep in entry_points(group="rtbook")
        if ep.dist is not None and ep.dist.metadata["Name"] == "rtbook"
    }
    assert tuple(sorted(own)) == BUILTIN_PLUGINS
    assert {"email": own.get("email"), "whatsapp": own.get("whatsapp")} == {
        "email": "rtbook_email",
        "whatsapp": "rtbook_whatsapp",
    }


def test_the_registry_loads_the_builtins(builtins_installed) -> None:
    registry = PluginRegistry.load()
    assert set(BUILTIN_PLUGINS) <= set(registry.names())  # every built-in loads
    assert not set(BUILTIN_PLUGINS) & set(registry.failures)
    for name in BUILTIN_PLUGINS:
        assert registry.info(name).version == RTBOOK_VERSION
    for name, module in (("email", "rtbook_email"), ("whatsapp", "rtbook_whatsapp")):
        info = registry.info(name)
        assert (info.module, info.distribution) == (module, "rtbook")
        assert info.version == RTBOOK_VERSION  # rtbook's own version, from its METADATA
        assert info.description == DESCRIPTIONS[name]
        assert info.has_schema
    assert registry.info("email").secret_fields == ("password",)
    assert set(registry.info("whatsapp").secret_fields) == {"token", "api_key"}
    assert "rtbook_startup_check" in registry.info("whatsapp").hooks

    # the config schemas: a good config is kept (secrets masked when shown), a bad
    # one refused by field
    stored = registry.validate_config("email", EMAIL_CONFIG)
    assert stored["password"] == "smtp-secret-1" and stored["from"] == "rtbook@example.org"
    assert registry.mask_config("email", stored)["password"] == "***"
    with pytest.raises(ConfigRejected) as refused:
        registry.validate_config("email", {**EMAIL_CONFIG, "security": "tls9"})
    assert [d["field"] for d in refused.value.details] == ["security"]
    stored = registry.validate_config("whatsapp", WHATSAPP_CONFIG)
    assert stored["provider"] == "evolution" and stored["api_key"] == "evo-key-1"
    assert registry.mask_config("whatsapp", stored)["api_key"] == "***"
    assert registry.schema("whatsapp").tag_field == "provider"
    with pytest.raises(ConfigRejected):
        registry.validate_config("whatsapp", {**WHATSAPP_CONFIG, "provider": "telegram"})

    # the channels they offer, answered by the plugins' own senders
    channels = dict(registry.collect("rtbook_notification_channels", names=DESCRIPTIONS))
    assert channels == {
        "email": {"email": rtbook_email.send_email},
        "whatsapp": {"whatsapp": rtbook_whatsapp.send_whatsapp},
    }


def test_rtbook_plugins_list_shows_the_builtins(builtins_installed, db_env) -> None:
    asyncio.run(seed(db_env))
    command = [str(Path(sys.executable).with_name("rtbook")), "plugins", "list"]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*command, *args], env=dict(os.environ), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    lines = run().splitlines()
    for name in BUILTIN_PLUGINS:
        assert any(line.startswith(f"{name} {RTBOOK_VERSION}  - ") for line in lines), lines
    for name, description in DESCRIPTIONS.items():
        assert f"{name} {RTBOOK_VERSION}  - {description}" in lines

    listed = json.loads(run("--city", CITY, "--json"))
    items = {item["name"]: item for item in listed["items"]}
    for name in BUILTIN_PLUGINS:
        assert (items[name]["version"], items[name]["enabled"]) == (RTBOOK_VERSION, False)
    for name in DESCRIPTIONS:
        assert items[name] == {
            "name": name,
            "version": RTBOOK_VERSION,
            "description": DESCRIPTIONS[name],
            "enabled": False,  # installed is not enabled
            "config": {},
        }
    assert not {f["name"] for f in listed["failures"]} & set(BUILTIN_PLUGINS)
    assert not set(listed["problems"]) & set(BUILTIN_PLUGINS)
