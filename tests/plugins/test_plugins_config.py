"""A plugin's config schema: every problem reported with its field, secrets never
echoed, tagged variants (the whatsapp plugin's two providers), no schema = only {}."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest

import rtbook
from rtbook.core.plugins import SECRET_MASK, Secret
from rtbook.core.plugins.config import (
    ConfigRejected,
    inspect_schema,
    keep_secrets,
    mask_config,
)
from rtbook.core.plugins.registry import PluginLoadError, PluginRegistry


class EmailConfig(msgspec.Struct, forbid_unknown_fields=True):
    smtp_host: str
    from_: str = msgspec.field(name="from")
    smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str | None = None
    password: Secret | None = None


class Cloud(msgspec.Struct, tag_field="provider", tag="cloud"):
    token: Secret
    phone_number_id: str
    template: str
    language: str = "id"


class Evolution(msgspec.Struct, tag_field="provider", tag="evolution"):
    base_url: str
    api_key: Secret
    instance: str


def registry_with(**schemas: object) -> PluginRegistry:
    registry = PluginRegistry()
    for name, schema in schemas.items():

        class Plugin:
            @rtbook.hookimpl
            def rtbook_config_schema(self, schema=schema):
                return schema

        registry.register(name, Plugin())
    registry.register("plain", object())  # no schema at all
    return registry


@pytest.fixture
def registry() -> PluginRegistry:
    return registry_with(email=EmailConfig, whatsapp=Cloud | Evolution)


def rejected(registry: PluginRegistry, name: str, raw: object) -> dict[str | None, str]:
    with pytest.raises(ConfigRejected) as caught:
        registry.validate_config(name, raw)
    assert caught.value.plugin == name
    return {d["field"]: d["message"] for d in caught.value.details}


def test_a_good_config_is_returned_with_defaults(registry) -> None:
    config = registry.validate_config(
        "email", {"smtp_host": "mail.example.id", "from": "rt@example.id", "password": "s3cret"}
    )
    assert config == {
        "smtp_host": "mail.example.id",
        "from": "rt@example.id",
        "smtp_port": 587,
        "security": "starttls",
        "username": None,
        "password": "s3cret",
    }


def test_every_field_problem_is_reported_at_once(registry) -> None:
    details = rejected(
        registry,
        "email",
        {"smtp_port": "25", "security": "tls", "smtp_hots": "typo", "password": 5},
    )
    assert set(details) == {"smtp_host", "from", "smtp_port", "security", "smtp_hots", "password"}
    assert details["smtp_host"].startswith("wajib diisi")
    assert details["smtp_port"].startswith("harus bilangan bulat")
    assert details["security"].startswith("nilai tidak dikenal")
    assert details["smtp_hots"].startswith("kolom tidak dikenal")


def test_limits_are_checked(registry) -> None:
    details = rejected(registry, "email", {"smtp_host": "h", "from": "f", "smtp_port": 70000})
    assert list(details) == ["smtp_port"]
    assert "65535" in details["smtp_port"]


def test_secret_values_never_appear_in_the_details(registry) -> None:
    class Strict(msgspec.Struct):
        mode: Literal["a", "b"] = "a"
        pin: Annotated[Literal["1234"], msgspec.Meta(extra={"secret": True})] = "1234"

    reg = registry_with(strict=Strict)
    with pytest.raises(ConfigRejected) as caught:
        reg.validate_config("strict", {"mode": "c", "pin": "hunter2-secret"})
    text = str(caught.value) + repr(caught.value.details)
    assert "hunter2-secret" not in text
    assert SECRET_MASK in text  # the echo was replaced, the field still named
    assert {d["field"] for d in caught.value.details} == {"mode", "pin"}
    assert "'c'" in text  # non-secret values may be quoted


def test_not_an_object(registry) -> None:
    assert rejected(registry, "email", ["smtp_host"]) == {
        None: "konfigurasi harus berupa objek JSON (config must be an object)"
    }


def test_tagged_variants_pick_their_fields(registry) -> None:
    cloud = registry.validate_config(
        "whatsapp",
        {"provider": "cloud", "token": "t0ken", "phone_number_id": "123", "template": "notice"},
    )
    assert cloud["provider"] == "cloud" and cloud["language"] == "id"
    details = rejected(registry, "whatsapp", {"provider": "evolution", "token": "t"})
    assert set(details) == {"base_url", "api_key", "instance", "token"}
    assert "cloud, evolution" in rejected(registry, "whatsapp", {"provider": "sms"})["provider"]
    assert "wajib" in rejected(registry, "whatsapp", {})["provider"]
    assert registry.info("whatsapp").secret_fields == ("token", "api_key")


def test_a_plugin_without_schema_accepts_only_an_empty_config(registry) -> None:
    assert registry.validate_config("plain", {}) == {}
    assert registry.validate_config("plain", None) == {}
    assert set(rejected(registry, "plain", {"x": 1, "y": 2})) == {"x", "y"}
    assert not registry.info("plain").has_schema


def test_post_init_checks_of_a_schema_are_reported() -> None:
    class Pair(msgspec.Struct):
        username: str | None = None
        password: Secret | None = None

        def __post_init__(self) -> None:
            if self.password and not self.username:
                raise ValueError(f"password {self.password} needs a username")

    reg = registry_with(pair=Pair)
    with pytest.raises(ConfigRejected) as caught:
        reg.validate_config("pair", {"password": "topsecret"})
    assert "topsecret" not in str(caught.value)
    assert "needs a username" in str(caught.value)


def test_masking_and_keeping_secrets() -> None:
    stored = {"smtp_host": "h", "password": "s3cret", "username": None}
    assert mask_config(stored, ["password", "username"]) == {
        "smtp_host": "h",
        "password": SECRET_MASK,
        "username": None,
    }
    assert keep_secrets({"smtp_host": "new", "password": SECRET_MASK}, stored, ["password"]) == {
        "smtp_host": "new",
        "password": "s3cret",
    }
    assert keep_secrets({"smtp_host": "new"}, stored, ["password"])["password"] == "s3cret"
    assert keep_secrets({"password": "other"}, stored, ["password"]) == {"password": "other"}
    # "***" with nothing stored is dropped, never saved as a password
    assert keep_secrets({"password": SECRET_MASK}, {}, ["password"]) == {}
    # switching variant keeps nothing from the other one
    cloud = {"provider": "cloud", "token": "t"}
    assert keep_secrets({"provider": "evolution"}, cloud, ["token"], "provider") == {
        "provider": "evolution"
    }


def test_unusable_schemas_are_refused_at_load() -> None:
    class A(msgspec.Struct):
        x: int = 0

    class B(msgspec.Struct):
        y: int = 0

    with pytest.raises(TypeError):
        inspect_schema(A | B)  # untagged variants
    with pytest.raises(TypeError):
        inspect_schema(dict[str, int])
    with pytest.raises(PluginLoadError):
        registry_with(untagged=A | B)
