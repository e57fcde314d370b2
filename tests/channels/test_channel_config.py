"""The email and whatsapp configs as the platform checks them (CONTRACT.md, "Plugins
per city"): what is accepted, what is refused with field details, secrets never shown."""

from __future__ import annotations

import pytest

import rtbook_email
import rtbook_whatsapp
from rtbook.core.plugins.config import ConfigRejected
from rtbook.core.plugins.registry import PluginRegistry

SECRET = "Sandi-Rahasia-2026"


@pytest.fixture
def registry() -> PluginRegistry:
    reg = PluginRegistry()
    reg.register("email", rtbook_email)
    reg.register("whatsapp", rtbook_whatsapp)
    return reg


def refused(registry: PluginRegistry, name: str, raw: object) -> dict[str, str]:
    with pytest.raises(ConfigRejected) as raised:
        registry.validate_config(name, raw)
    assert SECRET not in str(raised.value)
    assert SECRET not in str(raised.value.details)
    return {d["field"]: d["message"] for d in raised.value.details}


EMAIL = {
    "smtp_host": "smtp.example.id",
    "smtp_port": 587,
    "security": "starttls",
    "username": "rt005@example.id",
    "password": SECRET,
    "from": "rt005@example.id",
}


def test_email_config_accepted_with_defaults(registry) -> None:
    stored = registry.validate_config("email", EMAIL)
    assert stored == {**EMAIL, "timeout_seconds": 15.0}
    assert registry.info("email").secret_fields == ("password",)
    assert registry.mask_config("email", stored)["password"] == "***"
    minimal = {"smtp_host": "10.0.0.5", "smtp_port": 25, "security": "none", "from": "a@b.id"}
    assert registry.validate_config("email", minimal)["password"] is None


def test_email_bad_security_and_missing_fields(registry) -> None:
    fields = refused(registry, "email", {**EMAIL, "security": "tls"})
    assert list(fields) == ["security"]
    fields = refused(registry, "email", {"security": "none", "password": SECRET})
    assert {"smtp_host", "smtp_port", "from"} <= set(fields)
    assert "wajib diisi" in fields["smtp_host"]


def test_email_bad_values(registry) -> None:
    fields = refused(
        registry, "email", {**EMAIL, "smtp_port": 70000, "from": "bukan email", "smpt_host": "x"}
    )
    assert set(fields) == {"smtp_port", "from", "smpt_host"}
    assert "tidak dikenal" in fields["smpt_host"]
    fields = refused(registry, "email", {**EMAIL, "username": None})
    assert list(fields) == ["username"]


CLOUD = {
    "provider": "cloud",
    "token": "EAAG" + "x" * 20,
    "phone_number_id": "109876543210987",
    "template": "layanan_selesai",
    "language": "id",
}
EVOLUTION = {
    "provider": "evolution",
    "base_url": "http://10.0.0.5:8080",
    "api_key": SECRET,
    "instance": "rt005",
}


def test_whatsapp_configs_accepted(registry) -> None:
    cloud = registry.validate_config("whatsapp", CLOUD)
    assert cloud == {**CLOUD, "rate_per_second": 80.0, "timeout_seconds": 10.0}
    evolution = registry.validate_config("whatsapp", EVOLUTION)
    assert evolution["provider"] == "evolution" and evolution["rate_per_second"] == 80.0
    assert set(registry.info("whatsapp").secret_fields) == {"token", "api_key"}
    assert registry.mask_config("whatsapp", evolution)["api_key"] == "***"


def test_whatsapp_unknown_or_missing_provider(registry) -> None:
    fields = refused(registry, "whatsapp", {**EVOLUTION, "provider": "twilio"})
    assert list(fields) == ["provider"] and "cloud" in fields["provider"]
    fields = refused(registry, "whatsapp", {"api_key": SECRET})
    assert list(fields) == ["provider"]


def test_whatsapp_missing_and_bad_fields(registry) -> None:
    fields = refused(registry, "whatsapp", {"provider": "cloud", "token": "bad token!"})
    assert {"token", "phone_number_id", "template"} <= set(fields)
    fields = refused(registry, "whatsapp", {**EVOLUTION, "base_url": "http://10.0.0.5:8080/api"})
    assert list(fields) == ["base_url"]
    fields = refused(registry, "whatsapp", {**EVOLUTION, "rate_per_second": 0})
    assert list(fields) == ["rate_per_second"]
    fields = refused(registry, "whatsapp", {**EVOLUTION, "template": "x"})
    assert list(fields) == ["template"]  # a cloud field in an evolution config


def test_secret_shown_in_a_refused_secret_field_is_masked(registry) -> None:
    fields = refused(registry, "whatsapp", {**CLOUD, "token": SECRET})  # '-' is not allowed
    assert list(fields) == ["token"]
