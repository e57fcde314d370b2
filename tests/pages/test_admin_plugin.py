"""/admin/plugin: on/off and the config form generated from each plugin's schema,
saved through set_plugin (the API's validation and audit), secrets write-only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from admin_support import Site, logged_in, open_site
from form_support import csrf_field, sql

from rtbook.core.settings import DatabaseURL

API_KEY = "kunci-gateway-RAHASIA-42"
TOKEN = "EAAGrahasiaTOKEN123"
MENU_LINK = '<a href="/contoh?city=64.71">Contoh uji'  # the test plugin's menu entry


@pytest.fixture
def site(db_env: DatabaseURL) -> Iterator[Site]:
    with open_site(db_env) as opened:
        yield opened


def _section(html: str, name: str) -> str:
    start = html.index(f'<section class="plugin card" id="plugin-{name}">')
    return html[start : html.index("</section>", start)]


def _setting(site: Site, name: str) -> dict[str, Any] | None:
    rows = sql(
        site.url,
        "SELECT enabled, config FROM plugin_setting WHERE city_code = '64.71' AND plugin = $1",
        name,
    )
    if not rows:
        return None
    return {"enabled": bool(rows[0]["enabled"]), "config": msgspec.json.decode(rows[0]["config"])}


def _save(site: Site, name: str, data: dict[str, str], page: str = "/admin/plugin") -> Any:
    html = site.client.get(page).text
    return site.client.post(
        f"/admin/plugin/{name}", data={"_csrf": csrf_field(html), **data}, follow_redirects=False
    )


def test_every_installed_plugin_has_its_section_and_form(site: Site) -> None:
    page = logged_in(site.client, "siti").get("/admin/plugin")
    assert page.status_code == 200
    for name in ("contoh", "email", "lansia", "reports", "whatsapp"):
        section = _section(page.text, name)
        assert 'name="enabled"' in section and "Aktif (enabled)" in section
        assert "Simpan (save)" in section
    sample = _section(page.text, "contoh")
    assert 'type="text" id="contoh-cfg-greeting" name="cfg.greeting"' in sample
    assert '<select id="contoh-cfg-level" name="cfg.level">' in sample
    assert 'type="checkbox" id="contoh-cfg-loud" name="cfg.loud"' in sample
    assert (
        'type="number" id="contoh-cfg-repeat" name="cfg.repeat" value="1" step="1" min="1" max="5"'
        in sample
    )
    assert 'type="password" id="contoh-cfg-api_key" name="cfg.api_key" value=""' in sample
    assert 'name="cfg.security"' in _section(page.text, "email")
    # a tagged union: the provider is chosen first
    whatsapp = _section(page.text, "whatsapp")
    assert 'name="variant"' in whatsapp and "Pilih provider dulu" in whatsapp
    assert "cfg.token" not in whatsapp and "cfg.base_url" not in whatsapp


def test_enabling_a_plugin_adds_its_menu_entry_at_once(site: Site) -> None:
    logged_in(site.client, "siti")
    assert MENU_LINK not in site.client.get("/admin/plugin").text
    answer = _save(
        site,
        "contoh",
        {
            "enabled": "1",
            "cfg.greeting": "Halo",
            "cfg.level": "high",
            "cfg.loud": "1",
            "cfg.repeat": "3",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/plugin?ok=contoh#plugin-contoh"
    page = site.client.get(answer.headers["location"])
    assert MENU_LINK in page.text
    assert "Plugin contoh tersimpan (saved)" in page.text
    section = _section(page.text, "contoh")
    assert 'name="enabled" value="1" checked' in section
    assert 'value="Halo"' in section and '<option value="high" selected>' in section
    assert 'name="cfg.loud" value="1" checked' in section
    assert _setting(site, "contoh") == {
        "enabled": True,
        "config": {"greeting": "Halo", "level": "high", "loud": True, "repeat": 3, "api_key": None},
    }
    # the same audit row as the API's PUT
    rows = sql(
        site.url,
        "SELECT username, target, scope, detail FROM audit_log WHERE action = 'plugin.config'",
    )
    assert len(rows) == 1 and rows[0]["username"] == "siti" and rows[0]["scope"] == "64.71"
    assert msgspec.json.decode(rows[0]["detail"]) == {
        "plugin": "contoh",
        "enabled": True,
        "config_fields": ["api_key", "greeting", "level", "loud", "repeat"],
    }
    # switched off: the menu entry goes, the config stays
    off = _save(site, "contoh", {"cfg.greeting": "Halo", "cfg.repeat": "3"})
    assert off.status_code == 303
    assert MENU_LINK not in site.client.get("/admin/plugin").text
    assert _setting(site, "contoh")["enabled"] is False  # type: ignore[index]


def test_a_plugin_without_required_fields_is_enabled_with_its_defaults(site: Site) -> None:
    logged_in(site.client, "siti")
    assert _save(site, "lansia", {"enabled": "1", "cfg.min_age": "60"}).status_code == 303
    assert _setting(site, "lansia") == {"enabled": True, "config": {"min_age": 60}}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"cfg.greeting": "Halo", "cfg.repeat": "abc"}, "repeat", "harus bilangan bulat"),
        ({"cfg.greeting": "Halo", "cfg.repeat": "9"}, "repeat", "di luar batas"),
        ({"cfg.greeting": "x" * 30}, "greeting", "panjang tidak sesuai"),
        ({"cfg.greeting": "Halo", "cfg.level": "loud"}, "level", "nilai tidak dikenal"),
        ({"cfg.repeat": "2"}, "greeting", "wajib diisi"),
    ],
)
def test_a_refused_config_shows_each_problem_beside_its_field(
    site: Site, data: dict[str, str], field: str, message: str
) -> None:
    logged_in(site.client, "siti")
    answer = _save(site, "contoh", {"enabled": "1", "cfg.api_key": API_KEY, **data})
    assert answer.status_code == 422
    section = _section(answer.text, "contoh")
    block = section.split(f'id="contoh-cfg-{field}"', 1)[1].split("</div>", 1)[0]
    assert '<p class="error" role="alert">' in block and message in block
    assert API_KEY not in answer.text
    assert _setting(site, "contoh") is None  # nothing stored
    assert sql(site.url, "SELECT id FROM audit_log WHERE action = 'plugin.config'") == []


def test_whatsapp_provider_first_then_its_fields_secrets_write_only(site: Site) -> None:
    logged_in(site.client, "siti")
    chooser = site.client.get(
        "/admin/plugin", params={"plugin": "whatsapp", "variant": "evolution"}
    )
    section = _section(chooser.text, "whatsapp")
    assert '<option value="evolution" selected>' in section
    assert 'name="variant" value="evolution"' in section
    assert (
        'name="cfg.base_url"' in section and 'type="password" id="whatsapp-cfg-api_key"' in section
    )
    assert "cfg.token" not in section  # the cloud variant's fields are not shown
    page = "/admin/plugin?plugin=whatsapp&variant=evolution"
    bad = _save(
        site,
        "whatsapp",
        {
            "enabled": "1",
            "variant": "evolution",
            "cfg.base_url": "ftp://gateway",
            "cfg.api_key": API_KEY,
            "cfg.instance": "rt-balikpapan",
        },
        page,
    )
    assert bad.status_code == 422
    assert API_KEY not in bad.text
    block = _section(bad.text, "whatsapp").split('id="whatsapp-cfg-base_url"', 1)[1]
    assert '<p class="error" role="alert">' in block.split("</div>", 1)[0]
    assert "matching regex" in block.split("</div>", 1)[0]
    assert 'value="rt-balikpapan"' in bad.text  # what was typed stays, except the secret
    assert _setting(site, "whatsapp") is None
    good = _save(
        site,
        "whatsapp",
        {
            "enabled": "1",
            "variant": "evolution",
            "cfg.base_url": "http://10.0.0.5:8080",
            "cfg.api_key": API_KEY,
            "cfg.instance": "rt-balikpapan",
        },
        page,
    )
    assert good.status_code == 303
    shown = site.client.get("/admin/plugin")
    assert API_KEY not in shown.text and "***" not in _section(shown.text, "whatsapp")
    assert "Tersimpan; kosongkan untuk tetap" in _section(shown.text, "whatsapp")
    assert _setting(site, "whatsapp")["config"]["api_key"] == API_KEY  # type: ignore[index]
    # saved again with the secret left empty: the stored one stays
    again = _save(
        site,
        "whatsapp",
        {
            "enabled": "1",
            "variant": "evolution",
            "cfg.base_url": "http://10.0.0.6:8080",
            "cfg.api_key": "",
            "cfg.instance": "rt-balikpapan",
        },
    )
    assert again.status_code == 303
    stored = _setting(site, "whatsapp")["config"]  # type: ignore[index]
    assert stored["api_key"] == API_KEY and stored["base_url"] == "http://10.0.0.6:8080"
    # switching to the cloud provider keeps nothing of the other's secrets
    cloud = _save(
        site,
        "whatsapp",
        {
            "enabled": "1",
            "variant": "cloud",
            "cfg.token": TOKEN,
            "cfg.phone_number_id": "1234567",
            "cfg.template": "kabar_rt",
        },
        "/admin/plugin?plugin=whatsapp&variant=cloud",
    )
    assert cloud.status_code == 303
    stored = _setting(site, "whatsapp")["config"]  # type: ignore[index]
    assert stored["provider"] == "cloud" and stored["token"] == TOKEN and "api_key" not in stored
    assert TOKEN not in site.client.get("/admin/plugin").text


def test_an_optional_secret_can_be_cleared(site: Site) -> None:
    logged_in(site.client, "siti")
    base = {"enabled": "1", "cfg.greeting": "Halo"}
    assert _save(site, "contoh", {**base, "cfg.api_key": API_KEY}).status_code == 303
    assert API_KEY not in site.client.get("/admin/plugin").text
    assert _save(site, "contoh", {**base, "cfg.api_key.clear": "1"}).status_code == 303
    assert _setting(site, "contoh")["config"]["api_key"] is None  # type: ignore[index]


def test_an_unknown_plugin_is_not_found(site: Site) -> None:
    logged_in(site.client, "siti")
    assert _save(site, "tidakada", {"enabled": "1"}).status_code == 404
