"""Who may open the city admin's pages: anonymous -> login, RT heads and health
workers -> 403, a city admin only their own city, a POST without CSRF -> 403."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from admin_support import OTHER_CITY, Site, logged_in, open_site
from factories import CITY, RT_A
from form_support import sql

from rtbook.core.settings import DatabaseURL

PAGES = (
    "/admin/rt",
    "/admin/pengguna",
    "/admin/pengguna/budi",
    "/admin/plugin",
    "/admin/pengiriman",
    "/admin/dead-letters",
    "/admin/audit",
    "/admin/akses",
)
POSTS = (
    ("/admin/rt", {"rt_codes": "64.71.06.1005-009-009"}),
    ("/admin/pengguna", {"username": "baru", "role": "rt_head", "rt": RT_A}),
    ("/admin/pengguna/budi/sandi", {}),
    ("/admin/pengguna/budi/token", {}),
    ("/admin/pengguna/budi/cabut", {}),
    ("/admin/pengguna/budi/aktif", {"active": "0"}),
    ("/admin/plugin/lansia", {"enabled": "1"}),
    ("/admin/pengiriman/1/kirim-ulang", {}),
    ("/admin/dead-letters/1/replay", {}),
    ("/admin/akses", {"nik": "6471060403700011"}),
)


@pytest.fixture
def site(db_env: DatabaseURL) -> Iterator[Site]:
    with open_site(db_env) as opened:
        yield opened


def _unchanged(site: Site) -> dict[str, Any]:
    """What the POSTs above would change."""
    return {
        "rts": sql(site.url, "SELECT code FROM rt ORDER BY code"),
        "users": sql(site.url, "SELECT username, is_active, password_hash FROM rtbook_user"),
        "tokens": sql(site.url, "SELECT id, revoked_at FROM api_token ORDER BY id"),
        "plugins": sql(site.url, "SELECT plugin, enabled FROM plugin_setting"),
        "deliveries": sql(site.url, "SELECT id, status, attempts FROM delivery ORDER BY id"),
        "failures": sql(site.url, "SELECT id, status FROM dispatch_failure ORDER BY id"),
        "reports": sql(
            site.url, "SELECT id FROM audit_log WHERE action = $1", "privacy.access_report"
        ),
    }


def test_anonymous_visitors_go_to_the_login_page(site: Site) -> None:
    for path in PAGES:
        answer = site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/login?next={path}"
    before = _unchanged(site)
    for path, data in POSTS:
        answer = site.client.post(path, data=data, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login")
    assert _unchanged(site) == before


@pytest.mark.parametrize("username", ["budi", "nurse"])
def test_rt_heads_and_health_workers_are_refused(site: Site, username: str) -> None:
    client = logged_in(site.client, username)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Ditolak (forbidden)" in answer.text
        assert "admin kota" in answer.text
    home = client.get("/")
    assert "/admin/rt" not in home.text  # no admin entries in their menu
    before = _unchanged(site)
    csrf = home.text.split('name="_csrf" value="', 1)[1].split('"', 1)[0]
    for path, data in POSTS:
        answer = client.post(path, data={"_csrf": csrf, **data}, follow_redirects=False)
        assert answer.status_code == 403, path
    assert _unchanged(site) == before


def test_a_city_admin_never_reaches_another_city(site: Site) -> None:
    client = logged_in(site.client, "ani")  # city admin of 64.72
    for path in PAGES:
        answer = client.get(path, params={"city": CITY})
        assert answer.status_code == 403, path
        assert "Di luar kota Anda (outside your city)" in answer.text or path.startswith(
            "/admin/pengguna/"
        )
    # their own pages show their city only
    rts = client.get("/admin/rt")
    assert rts.status_code == 200
    assert "64.72.01.1001-001-001" in rts.text and RT_A not in rts.text
    assert 'name="city"' not in rts.text  # no city chooser for a city admin
    users = client.get("/admin/pengguna")
    assert (
        "user-ani" in users.text and "user-budi" not in users.text and "user-siti" not in users.text
    )
    # budi belongs to 64.71: his page and actions are refused
    assert client.get("/admin/pengguna/budi").status_code == 403
    before = _unchanged(site)
    csrf = users.text.split('name="_csrf" value="', 1)[1].split('"', 1)[0]
    for path, data in POSTS:
        answer = client.post(
            path, params={"city": CITY}, data={"_csrf": csrf, **data}, follow_redirects=False
        )
        assert answer.status_code == 403, path
    # the same actions aimed at 64.71's objects from their own city's pages
    for path in (
        "/admin/pengguna/budi/sandi",
        "/admin/pengguna/budi/token",
        "/admin/pengguna/budi/aktif",
        f"/admin/pengiriman/{site.ids[f'delivery:{CITY}:dead']}/kirim-ulang",
        f"/admin/dead-letters/{site.ids[f'failure:{CITY}']}/replay",
    ):
        answer = client.post(path, data={"_csrf": csrf, "active": "0"}, follow_redirects=False)
        assert answer.status_code == 403, path
    assert _unchanged(site) == before
    assert OTHER_CITY in users.text


def test_posts_without_the_form_token_are_refused(site: Site) -> None:
    client = logged_in(site.client, "root")
    before = _unchanged(site)
    for path, data in POSTS:
        answer = client.post(path, data=data, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "Token formulir" in answer.text
        wrong = client.post(path, data={"_csrf": "x" * 40, **data}, follow_redirects=False)
        assert wrong.status_code == 403, path
    assert _unchanged(site) == before


def test_an_admin_chooses_the_city(site: Site) -> None:
    client = logged_in(site.client, "root")
    first = client.get("/admin/rt")
    assert first.status_code == 200
    assert '<select id="city-choice" name="city">' in first.text
    assert RT_A in first.text  # the first city by default
    other = client.get("/admin/rt", params={"city": OTHER_CITY})
    assert "64.72.01.1001-001-001" in other.text and RT_A not in other.text
    assert f'<option value="{OTHER_CITY}" selected>' in other.text
    missing = client.get("/admin/rt", params={"city": "99.99"})
    assert missing.status_code == 404
    assert "Kota tidak ditemukan" in missing.text
