"""A plugin's config form, generated from its msgspec schema
(rtbook.core.plugins.config.ConfigSchema), and the form's answer read back into a
config for rtbook.core.plugins.settings.set_plugin (which validates it).

- str -> text, int -> number (step 1), float -> number (step any), bool ->
  checkbox, Literal/Enum -> select, anything else (lists, objects) -> JSON text;
  ``X | None`` is optional; bounds become min/max/maxlength.
- A union of tagged Structs (whatsapp: ``provider`` cloud | evolution) is one
  :class:`Variant` per tag: the variant is chosen first, then its fields shown.
- Secrets are write-only: ``<input type=password>`` rendered empty; left empty,
  the stored value stays (set_plugin's keep_secrets); an optional secret has a
  "clear" checkbox. A secret's value is never put in a page.

Form field names are ``cfg.<field>`` (``cfg.<field>.clear`` for clearing), so
they never meet the page's own fields (``enabled``, ``_csrf``, ``variant``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi

from rtbook.core.plugins import SECRET_MASK
from rtbook.core.plugins.config import ConfigSchema

PREFIX = "cfg."
CLEAR = ".clear"


@dataclass(frozen=True, slots=True)
class FormField:
    name: str  # the config key (the Struct field's encode name)
    kind: str  # text | number | checkbox | select | password | json
    required: bool
    optional: bool  # accepts null
    default: Any  # None when the schema has none
    choices: tuple[Any, ...] = ()
    step: str | None = None
    minimum: str | None = None
    maximum: str | None = None
    max_length: int | None = None
    hint: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "cfg-" + self.name.replace(".", "-")


@dataclass(frozen=True, slots=True)
class Variant:
    tag: str | None  # the tag value (None: a plain Struct)
    fields: tuple[FormField, ...]


@dataclass(frozen=True, slots=True)
class PluginForm:
    tag_field: str | None  # e.g. "provider" for a tagged union
    variants: tuple[Variant, ...]

    def variant(self, tag: Any) -> Variant | None:
        """The variant of a tag (the only one for a plain Struct)."""
        if self.tag_field is None:
            return self.variants[0]
        return next((v for v in self.variants if v.tag is not None and v.tag == tag), None)

    @property
    def tags(self) -> list[str]:
        return [str(v.tag) for v in self.variants if v.tag is not None]


def _unwrap(t: mi.Type) -> tuple[mi.Type, bool]:
    """The field's type without Metadata and ``| None``; whether None is allowed."""
    optional = False
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType):
            members = [m for m in t.types if not isinstance(m, mi.NoneType)]
            optional = optional or len(members) < len(t.types)
            if len(members) != 1:
                return t, optional
            t = members[0]
        else:
            return t, optional


def _bounds(t: mi.IntType | mi.FloatType) -> tuple[str | None, str | None, str]:
    low = t.ge if t.ge is not None else t.gt
    high = t.le if t.le is not None else t.lt
    parts = []
    if t.gt is not None:
        parts.append(f"> {t.gt}")
    elif t.ge is not None:
        parts.append(f">= {t.ge}")
    if t.lt is not None:
        parts.append(f"< {t.lt}")
    elif t.le is not None:
        parts.append(f"<= {t.le}")
    return (
        None if low is None else str(low),
        None if high is None else str(high),
        ", ".join(parts),
    )


def form_field(field: mi.Field, secret: bool) -> FormField:
    """One input for one schema field."""
    inner, optional = _unwrap(field.type)
    default = None if field.default is msgspec.NODEFAULT else field.default
    common: dict[str, Any] = {
        "name": field.encode_name,
        "required": field.required,
        "optional": optional,
        "default": default,
    }
    if secret:
        return FormField(kind="password", hint="rahasia (secret)", **common)
    if isinstance(inner, mi.BoolType):
        return FormField(kind="checkbox", **common)
    if isinstance(inner, mi.IntType | mi.FloatType):
        low, high, limits = _bounds(inner)
        is_int = isinstance(inner, mi.IntType)
        kind_hint = "bilangan bulat (integer)" if is_int else "bilangan (number)"
        return FormField(
            kind="number",
            step="1" if is_int else "any",
            minimum=low,
            maximum=high,
            hint=f"{kind_hint} {limits}".strip(),
            **common,
        )
    if isinstance(inner, mi.LiteralType):
        return FormField(kind="select", choices=tuple(inner.values), **common)
    if isinstance(inner, mi.EnumType):
        values = tuple(m.value for m in inner.cls)  # type: ignore[attr-defined]
        return FormField(kind="select", choices=values, **common)
    if isinstance(inner, mi.StrType):
        return FormField(kind="text", max_length=inner.max_length, **common)
    return FormField(kind="json", hint="JSON", **common)


def plugin_form(schema: ConfigSchema | None) -> PluginForm | None:
    """The form of a plugin's schema; None for a plugin without config."""
    if schema is None:
        return None
    variants = []
    for struct in schema.variants:
        info = mi.type_info(struct)
        assert isinstance(info, mi.StructType)
        fields = tuple(
            form_field(f, f.encode_name in schema.secret_fields)
            for f in info.fields
            if f.encode_name != schema.tag_field
        )
        variants.append(Variant(tag=info.tag if schema.tag_field else None, fields=fields))
    return PluginForm(tag_field=schema.tag_field, variants=tuple(variants))


# -- showing values -------------------------------------------------------------------------


def shown_values(variant: Variant, config: Mapping[str, Any]) -> dict[str, Any]:
    """What the inputs show: the stored (masked) config, else the schema's defaults.
    A secret shows nothing, only whether one is stored (``"set"``)."""
    shown: dict[str, Any] = {}
    for f in variant.fields:
        value = config.get(f.name, f.default)
        if f.kind == "password":
            shown[f.name] = "set" if config.get(f.name) not in (None, "") else ""
        elif f.kind == "checkbox":
            shown[f.name] = bool(value)
        elif f.kind == "json":
            shown[f.name] = "" if value is None else msgspec.json.encode(value).decode()
        else:
            shown[f.name] = "" if value is None else str(value)
    return shown


def posted_values(variant: Variant, form: Mapping[str, str]) -> dict[str, Any]:
    """What the inputs show again after a refused form: what was typed, no secret."""
    shown: dict[str, Any] = {}
    for f in variant.fields:
        if f.kind == "password":
            shown[f.name] = ""
        elif f.kind == "checkbox":
            shown[f.name] = f.input_name in form
        else:
            shown[f.name] = form.get(f.input_name, "")
    return shown


# -- reading the answer ---------------------------------------------------------------------


def _number(text: str, is_int: bool) -> Any:
    cleaned = text.strip().replace(",", ".") if not is_int else text.strip()
    try:
        return int(cleaned) if is_int else float(cleaned)
    except ValueError:
        return text  # the schema refuses it with its own message


def _choice(f: FormField, text: str) -> Any:
    for choice in f.choices:
        value = choice.value if isinstance(choice, enum.Enum) else choice
        if str(value) == text:
            return value
    return text


def typed_anything(variant: Variant, form: Mapping[str, str]) -> bool:
    """Whether any input other than a checkbox was filled in."""
    return any(
        form.get(f.input_name, "").strip() or form.get(f.input_name + CLEAR)
        for f in variant.fields
        if f.kind != "checkbox"
    )


def read_config(form_spec: PluginForm, variant: Variant, form: Mapping[str, str]) -> dict[str, Any]:
    """The config the form says: an empty input is left out (the schema's default,
    or for a secret the stored value); the tag of a union is added."""
    config: dict[str, Any] = {}
    if form_spec.tag_field is not None:
        config[form_spec.tag_field] = variant.tag
    for f in variant.fields:
        raw = form.get(f.input_name, "")
        if f.kind == "checkbox":
            config[f.name] = f.input_name in form
            continue
        if f.kind == "password":
            if f.optional and form.get(f.input_name + CLEAR):
                config[f.name] = None
            elif raw and raw != SECRET_MASK:
                config[f.name] = raw
            continue
        if not raw.strip():
            continue
        if f.kind == "number":
            config[f.name] = _number(raw, f.step == "1")
        elif f.kind == "select":
            config[f.name] = _choice(f, raw)
        elif f.kind == "json":
            try:
                config[f.name] = msgspec.json.decode(raw.encode())
            except msgspec.DecodeError:
                config[f.name] = raw
        else:
            config[f.name] = raw.strip()
    return config
