"""A plugin's per-city config: schema inspection, validation, secret masking.

The schema a plugin returns from ``rtbook_config_schema`` is a msgspec Struct, or a
union of tagged Structs (``provider: "cloud" | "evolution"``). Validation reports
every field problem at once (not only msgspec's first), refuses unknown fields so a
typo never passes silently, and never echoes the value of a secret field.
"""

from __future__ import annotations

import contextlib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi

from rtbook.core.errors import RtbookError
from rtbook.core.plugins.api import SECRET_MASK

Detail = dict[str, str | None]  # {"field": ..., "message": ...}


class ConfigRejected(RtbookError):
    """The plugin's schema refused a config: ``details`` is [{"field", "message"}]
    (secret values never appear in it)."""

    def __init__(self, plugin: str, details: list[Detail]) -> None:
        self.plugin = plugin
        self.details = details
        listed = "; ".join(
            f"{d['field']}: {d['message']}" if d["field"] else str(d["message"]) for d in details
        )
        super().__init__(
            f"konfigurasi plugin {plugin} ditolak (config rejected): {listed}"
            if listed
            else f"konfigurasi plugin {plugin} ditolak (config rejected)"
        )


@dataclass(frozen=True, slots=True)
class ConfigSchema:
    """An inspected schema: the type to convert to, its variants and secret fields."""

    type: Any
    variants: tuple[type[msgspec.Struct], ...]
    tag_field: str | None
    secret_fields: tuple[str, ...]


def _is_secret(t: mi.Type) -> bool:
    if isinstance(t, mi.Metadata):
        if (t.extra or {}).get("secret") is True:
            return True
        return _is_secret(t.type)
    if isinstance(t, mi.UnionType):
        return any(_is_secret(member) for member in t.types)
    return False


def inspect_schema(schema: Any) -> ConfigSchema:
    """Check what ``rtbook_config_schema`` returned; TypeError when it is unusable."""
    if isinstance(schema, type) and issubclass(schema, msgspec.Struct):
        variants: tuple[Any, ...] = (schema,)
    elif isinstance(schema, types.UnionType) or typing.get_origin(schema) is typing.Union:
        variants = typing.get_args(schema)
        if not all(isinstance(v, type) and issubclass(v, msgspec.Struct) for v in variants):
            raise TypeError("a config schema union may only hold msgspec Structs")
    else:
        raise TypeError(
            f"rtbook_config_schema must return a msgspec.Struct subclass, got {schema!r}"
        )
    infos = [mi.type_info(v) for v in variants]
    tag_field = None
    if len(infos) > 1:
        tags = {info.tag_field for info in infos}
        if len(tags) != 1 or None in tags:
            raise TypeError("a config schema union needs tagged Structs with one tag_field")
        tag_field = tags.pop()
        # A ValidationError is expected; a TypeError means msgspec refuses the union.
        with contextlib.suppress(msgspec.ValidationError):
            msgspec.convert({}, schema)
    secrets: list[str] = []
    for info in infos:
        assert isinstance(info, mi.StructType)
        if info.array_like:
            raise TypeError("a config schema Struct cannot be array_like")
        for f in info.fields:
            if _is_secret(f.type) and f.encode_name not in secrets:
                secrets.append(f.encode_name)
    return ConfigSchema(
        type=schema, variants=variants, tag_field=tag_field, secret_fields=tuple(secrets)
    )


# -- validation --------------------------------------------------------------------------

_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"of length"), "panjang tidak sesuai"),
    (re.compile(r"Expected `[a-z]+` [<>]=?|multiple of"), "di luar batas yang dibolehkan"),
    (re.compile(r"does not match"), "bentuk tidak sesuai"),
    (re.compile(r"Expected `int\b"), "harus bilangan bulat"),
    (re.compile(r"Expected `float\b"), "harus bilangan"),
    (re.compile(r"Expected `bool\b"), "harus true atau false"),
    (re.compile(r"Expected `str\b"), "harus berupa teks"),
    (re.compile(r"Expected `array\b"), "harus berupa daftar"),
    (re.compile(r"Expected `object\b"), "harus berupa objek"),
    (re.compile(r"Expected `null\b"), "harus null"),
    (re.compile(r"Invalid enum value|Invalid value"), "nilai tidak dikenal"),
    (re.compile(r"missing required field"), "wajib diisi"),
    (re.compile(r"contains unknown field"), "kolom tidak dikenal"),
]
_QUOTED = re.compile(r"'[^']*'")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MIN_SCRUB = 3  # shorter secret values would mangle ordinary words when scrubbed


def _indonesian(message: str) -> str:
    for pattern, hint in _HINTS:
        if pattern.search(message):
            return f"{hint} ({message})"
    return f"tidak sah ({message})"


def _detail(field: str | None, message: str) -> Detail:
    return {"field": field, "message": message}


def _from_validation_error(exc: Exception, field: str | None) -> Detail:
    """A detail from msgspec's ``<message> - at `$.path` `` text, relative to ``field``."""
    match = _AT.match(str(exc))
    message = match.group("message") if match else str(exc)
    path = (match.group("path") if match else None) or ""
    if field is None:
        found = re.search(r"field `([^`]+)`", message) if not path else None
        name: str | None = path.lstrip(".") or (found.group(1) if found else None)
    else:
        name = field + path
    return _detail(name, _indonesian(message))


def _scrub(details: list[Detail], raw: Mapping[str, Any], secrets: Iterable[str]) -> list[Detail]:
    """Take the values sent in secret fields out of the messages."""
    secret_names = set(secrets)
    values = [
        str(raw[name])
        for name in secret_names
        if name in raw and raw[name] is not None and len(str(raw[name])) >= _MIN_SCRUB
    ]
    out: list[Detail] = []
    for d in details:
        message = d["message"] or ""
        top = (d["field"] or "").split(".")[0].split("[")[0]
        if top in secret_names:
            message = _QUOTED.sub(f"'{SECRET_MASK}'", message)
        for value in values:
            message = message.replace(value, SECRET_MASK)
        out.append(_detail(d["field"], message))
    return out


def _variant_for(schema: ConfigSchema, raw: Mapping[str, Any]) -> type[msgspec.Struct] | Detail:
    if schema.tag_field is None:
        return schema.variants[0]
    tags = {}
    for v in schema.variants:
        info = mi.type_info(v)
        assert isinstance(info, mi.StructType)
        tags[info.tag] = v
    choices = ", ".join(str(t) for t in tags)
    value = raw.get(schema.tag_field)
    if value is None:
        return _detail(schema.tag_field, f"wajib diisi, salah satu dari: {choices} (required)")
    if value not in tags or isinstance(value, bool):
        return _detail(
            schema.tag_field, f"harus salah satu dari: {choices} (must be one of: {choices})"
        )
    return tags[value]


def _field_problems(variant: type[msgspec.Struct], raw: Mapping[str, Any]) -> list[Detail]:
    info = mi.type_info(variant)
    assert isinstance(info, mi.StructType)
    known = {f.encode_name for f in info.fields}
    if info.tag_field:
        known.add(info.tag_field)
    problems = [
        _detail(str(key), "kolom tidak dikenal (unknown field)") for key in raw if key not in known
    ]
    by_name = {f.encode_name: f for f in msgspec.structs.fields(variant)}
    for f in info.fields:
        if f.encode_name not in raw:
            if f.required:
                problems.append(_detail(f.encode_name, "wajib diisi (required)"))
            continue
        try:
            msgspec.convert(raw[f.encode_name], type=by_name[f.encode_name].type)
        except msgspec.ValidationError as exc:
            problems.append(_from_validation_error(exc, f.encode_name))
    return problems


def validate_config(plugin: str, schema: ConfigSchema | None, raw: Any) -> dict[str, Any]:
    """The config as it will be stored (defaults filled in), or ConfigRejected."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigRejected(
            plugin,
            [_detail(None, "konfigurasi harus berupa objek JSON (config must be an object)")],
        )
    if schema is None:
        if raw:
            raise ConfigRejected(
                plugin,
                [
                    _detail(
                        str(key), "plugin ini tidak punya pengaturan (this plugin takes no config)"
                    )
                    for key in raw
                ],
            )
        return {}
    variant = _variant_for(schema, raw)
    if isinstance(variant, dict):
        raise ConfigRejected(plugin, [variant])
    problems = _field_problems(variant, raw)
    if not problems:
        try:
            value = msgspec.convert(dict(raw), type=schema.type)
        except (msgspec.ValidationError, ValueError, TypeError) as exc:
            problems = [_from_validation_error(exc, None)]
        else:
            converted = msgspec.to_builtins(value)
            assert isinstance(converted, dict)
            return converted
    raise ConfigRejected(plugin, _scrub(problems, raw, schema.secret_fields))


# -- secrets -----------------------------------------------------------------------------


def mask_config(config: Mapping[str, Any], secret_fields: Iterable[str]) -> dict[str, Any]:
    """The config as every read shows it: a set secret becomes ``"***"``."""
    masked = dict(config)
    for name in secret_fields:
        if masked.get(name) not in (None, ""):
            masked[name] = SECRET_MASK
    return masked


def keep_secrets(
    sent: Mapping[str, Any],
    stored: Mapping[str, Any],
    secret_fields: Iterable[str],
    tag_field: str | None = None,
) -> dict[str, Any]:
    """Secrets are write-only: a secret field sent as ``"***"`` or left out keeps its
    stored value (a ``"***"`` with nothing stored is dropped, never saved). When the
    config switches variant (another ``tag_field`` value), nothing stored is kept."""
    merged = dict(sent)
    same_variant = tag_field is None or sent.get(tag_field) == stored.get(tag_field)
    for name in secret_fields:
        if name not in merged or merged[name] == SECRET_MASK:
            if same_variant and stored.get(name) is not None:
                merged[name] = stored[name]
            else:
                merged.pop(name, None)
    return merged
