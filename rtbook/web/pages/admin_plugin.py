"""/admin/plugin: the installed plugins in the city: on/off and a config form
generated from each plugin's schema (rtbook.web.pages.plugin_form), saved with
rtbook.core.plugins.settings.set_plugin like PUT /api/v1/cities/{city}/plugins/{name}
(same validation, same ``plugin.config`` audit row). A config the plugin refuses
comes back as a 422 page with each problem beside its field; secrets are never
shown. The menu is computed per request, so a plugin just enabled has its menu
entries on the very next page.

Stable for the browser tests: each plugin is ``section.plugin#plugin-<name>`` with
a form holding the checkbox ``enabled`` ("Aktif (enabled)") and the button
"Simpan (save)".
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from rtbook.core.db import Connection
from rtbook.core.errors import NotFound, RtbookError
from rtbook.core.plugins import settings as plugin_settings
from rtbook.core.plugins.config import ConfigRejected
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.web.pages.admin_common import (
    ADMIN_ROUTE,
    AdminPage,
    admin_page,
    admin_post,
    core_error,
    form_fields,
    redirect,
    render_admin,
)
from rtbook.web.pages.layout import registry_of
from rtbook.web.pages.plugin_form import (
    PluginForm,
    Variant,
    plugin_form,
    posted_values,
    read_config,
    shown_values,
    typed_anything,
)

TITLE = "Plugin kota (city plugins)"


def _form_of(registry: PluginRegistry, name: str) -> PluginForm | None:
    return plugin_form(registry.schema(name)) if name in registry else None


def _view(
    registry: PluginRegistry,
    item: dict[str, Any],
    chosen: str | None,
    refused: dict[str, Any] | None,
) -> dict[str, Any]:
    """What the template needs for one plugin. ``chosen``: a variant asked for in
    the address; ``refused``: the form sent back (its values, field errors)."""
    name = item["name"]
    form = _form_of(registry, name)
    variant: Variant | None = None
    if form is not None:
        stored_tag = item["config"].get(form.tag_field) if form.tag_field else None
        if refused is not None and refused.get("variant") is not None:
            variant = refused["variant"]
        else:
            variant = form.variant(chosen if chosen is not None else stored_tag)
        stored_same = form.tag_field is None or (variant is not None and variant.tag == stored_tag)
    if form is None or variant is None:
        values: dict[str, Any] = {}
    elif refused is not None:
        values = refused["values"]
    else:
        values = shown_values(variant, item["config"] if stored_same else {})
    return {
        **item,
        "installed": name in registry,
        "form": form,
        "variant": variant,
        "values": values,
        "enabled": refused["enabled"] if refused is not None else item["enabled"],
        "errors": refused["errors"] if refused is not None else {},
        "general": refused["general"] if refused is not None else [],
    }


async def _page(
    request: Request[Any, Any, Any],
    page: AdminPage,
    *,
    status_code: int = 200,
    refused: tuple[str, dict[str, Any]] | None = None,
    notice: str | None = None,
) -> Response[str]:
    registry = registry_of(request)

    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await plugin_settings.list_plugins(conn, registry, page.city)

    items = await request.app.state.db.read(unit)
    asked = request.query_params.get("plugin")
    chosen = request.query_params.get("variant") or None
    plugins = [
        _view(
            registry,
            item,
            chosen if asked == item["name"] else None,
            refused[1] if refused is not None and refused[0] == item["name"] else None,
        )
        for item in items
    ]
    return await render_admin(
        request,
        page,
        "pages/admin_plugin.html",
        title=TITLE,
        status_code=status_code,
        notice=notice,
        plugins=plugins,
    )


@get("/admin/plugin", cache_control=None, **ADMIN_ROUTE)
async def plugin_list(request: Request[Any, Any, Any]) -> Response[str]:
    page = await admin_page(request)
    if isinstance(page, Response):
        return page
    saved = request.query_params.get("ok")
    notice = f"Plugin {saved[:64]} tersimpan (saved)" if saved else None
    return await _page(request, page, notice=notice)


def _field_errors(
    variant: Variant | None, details: list[dict[str, str | None]]
) -> tuple[dict[str, list[str]], list[str]]:
    """ConfigRejected's details beside their fields; the rest for the whole form."""
    names = {f.name for f in variant.fields} if variant is not None else set()
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for d in details:
        field = d.get("field") or ""
        top = field.split(".")[0].split("[")[0]
        if top in names:
            by_field.setdefault(top, []).append(d.get("message") or "")
        else:
            general.append(f"{field}: {d.get('message')}" if field else str(d.get("message")))
    return by_field, general


@post("/admin/plugin/{name:str}", status_code=303, **ADMIN_ROUTE)
async def plugin_save(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[str]:
    page = await admin_post(request)
    if isinstance(page, Response):
        return page
    fields = await form_fields(request)
    registry = registry_of(request)
    enabled = "enabled" in fields
    form = _form_of(registry, name)
    variant = None if form is None else form.variant(fields.get("variant"))
    config: dict[str, Any] | None = None
    if form is not None and variant is not None and (enabled or typed_anything(variant, fields)):
        config = read_config(form, variant, fields)

    async def unit(conn: Connection) -> dict[str, Any]:
        return await plugin_settings.set_plugin(
            conn,
            registry,
            page.city,
            name,
            enabled=enabled,
            config=config,
            user_id=page.principal.user_id,
        )

    back = page.url("/admin/plugin")
    try:
        await request.app.state.db.write(unit)
    except ConfigRejected as exc:  # its details never carry a secret's value
        errors, general = _field_errors(variant, exc.details)
        refused = {
            "variant": variant,
            "values": posted_values(variant, fields) if variant is not None else {},
            "enabled": enabled,
            "errors": errors,
            "general": general,
        }
        return await _page(request, page, status_code=422, refused=(name, refused))
    except NotFound as exc:
        return await core_error(request, exc, back)
    except RtbookError as exc:
        return await core_error(request, exc, back)
    return redirect(page.url("/admin/plugin", ok=name) + f"#plugin-{name}")


ADMIN_PLUGIN_HANDLERS = (plugin_list, plugin_save)
