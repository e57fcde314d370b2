"""/admin/pengguna: listing, creating (password shown once or typed), resetting a
password, API tokens (shown once, revoked) and deactivating."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from admin_support import PASSWORD, Site, logged_in, login, open_site, post_form
from factories import RT_A, RT_OTHER_CITY
from form_support import csrf_field, sql

from rtbook.core.settings import DatabaseURL

SECRET = re.compile(r'<code class="secret" id="secret">([^<]+)</code>')


@pytest.fixture
def site(db_env: DatabaseURL) -> Iterator[Site]:
    with open_site(db_env) as opened:
        yield opened


def _user(site: Site, username: str) -> dict | None:
    rows = sql(
        site.url,
        "SELECT username, role, city_code, is_active, password_hash FROM rtbook_user"
        " WHERE username = $1",
        username,
    )
    return rows[0] if rows else None


def test_the_list_shows_the_city_users_with_role_scope_and_state(site: Site) -> None:
    page = logged_in(site.client, "siti").get("/admin/pengguna")
    assert page.status_code == 200
    for name in ("siti", "budi", "nurse"):
        assert f'id="user-{name}"' in page.text
    assert 'id="user-ani"' not in page.text and 'id="user-root"' not in page.text
    budi = page.text.split('id="user-budi"', 1)[1].split("</li>", 1)[0]
    assert "Ketua RT (RT head)" in budi and "RT 005/RW 003" in budi and "aktif" in budi
    assert "64.71.06" in page.text.split('id="user-nurse"', 1)[1].split("</li>", 1)[0]
    # a city admin may not give the admin role
    assert '<option value="admin"' not in page.text
    detail = site.client.get("/admin/pengguna/budi")
    assert "+6281234567890" not in detail.text  # contact addresses masked
    assert "7890" in detail.text


def test_creating_a_user_shows_the_generated_password_once(site: Site) -> None:
    client = logged_in(site.client, "siti")
    answer = post_form(
        client,
        "/admin/pengguna",
        "/admin/pengguna",
        {
            "username": "rina",
            "role": "rt_head",
            "rt": RT_A,
            "whatsapp": "0812 9999 8888",
            "email": "rina@example.org",
            "password_mode": "generate",
        },
    )
    assert answer.status_code == 200, re.findall(
        r'class="(?:error|message)"[^>]*>(.*?)</', answer.text
    )
    assert answer.headers["cache-control"] == "no-store"
    password = SECRET.search(answer.text)
    assert password is not None
    assert "hanya ditampilkan sekali" in answer.text
    stored = _user(site, "rina")
    assert stored is not None and stored["role"] == "rt_head" and stored["city_code"] == "64.71"
    assert password.group(1) not in client.get("/admin/pengguna/rina").text
    assert 'id="user-rina"' in client.get("/admin/pengguna").text
    audit = sql(site.url, "SELECT username, target FROM audit_log WHERE action = 'user.create'")
    assert audit == [{"username": "siti", "target": "rina"}]
    assert password.group(1) not in str(sql(site.url, "SELECT detail FROM audit_log"))
    # the new RT head logs in with it and sees their RT
    assert login(site.client, "rina", password.group(1)).status_code == 303


def test_creating_a_user_with_a_typed_password(site: Site) -> None:
    client = logged_in(site.client, "siti")
    answer = post_form(
        client,
        "/admin/pengguna",
        "/admin/pengguna",
        {
            "username": "dewi",
            "role": "health_worker",
            "area": "64.71.06",
            "password_mode": "typed",
            "password": "pohon-mangga-hijau-3",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/pengguna/dewi?ok=created"
    page = client.get(answer.headers["location"])
    assert "Pengguna dibuat (user created)" in page.text and "pohon-mangga" not in page.text
    assert login(site.client, "dewi", "pohon-mangga-hijau-3").status_code == 303


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "X!", "role": "rt_head", "rt": RT_A}, "username", "nama pengguna 3-64"),
        ({"username": "budi", "role": "rt_head", "rt": RT_A}, "username", "sudah dipakai"),
        ({"username": "tono", "role": "rt_head"}, "rt", "wajib punya minimal satu --rt"),
        (
            {"username": "tono", "role": "rt_head", "rt": "64.71.06.1005-009-009"},
            "rt",
            "belum ada",
        ),
        (
            {"username": "tono", "role": "rt_head", "rt": RT_A, "whatsapp": "12"},
            "whatsapp",
            "",
        ),
        (
            {"username": "tono", "role": "rt_head", "rt": RT_A, "email": "bukan-email"},
            "email",
            "",
        ),
        (
            {
                "username": "tono",
                "role": "rt_head",
                "rt": RT_A,
                "password_mode": "typed",
                "password": "pendek",
            },
            "password",
            "minimal",
        ),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(
    site: Site, data: dict[str, str], field: str, message: str
) -> None:
    client = logged_in(site.client, "siti")
    before = sql(site.url, "SELECT username FROM rtbook_user ORDER BY username")
    answer = post_form(client, "/admin/pengguna", "/admin/pengguna", data)
    assert answer.status_code == 422
    assert f'<p class="error" id="{field}-error">' in answer.text
    assert message in answer.text.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert sql(site.url, "SELECT username FROM rtbook_user ORDER BY username") == before
    assert 'value="pendek"' not in answer.text  # a typed password never comes back


def test_a_city_admin_cannot_create_admins_or_users_of_another_city(site: Site) -> None:
    client = logged_in(site.client, "siti")
    before = sql(site.url, "SELECT username FROM rtbook_user ORDER BY username")
    admin = post_form(
        client, "/admin/pengguna", "/admin/pengguna", {"username": "bos", "role": "admin"}
    )
    assert admin.status_code == 403
    elsewhere = post_form(
        client,
        "/admin/pengguna",
        "/admin/pengguna",
        {"username": "tono", "role": "rt_head", "rt": RT_OTHER_CITY},
    )
    assert elsewhere.status_code == 403
    assert "di luar kota 64.71" in elsewhere.text
    assert sql(site.url, "SELECT username FROM rtbook_user ORDER BY username") == before
    # an admin may create an admin
    root = logged_in(site.client, "root")
    made = post_form(
        root, "/admin/pengguna", "/admin/pengguna", {"username": "bos", "role": "admin"}
    )
    assert made.status_code == 200
    assert _user(site, "bos")["role"] == "admin"  # type: ignore[index]


def test_resetting_a_password_ends_the_users_sessions(site: Site) -> None:
    logged_in(site.client, "budi")
    budi_session = site.session_cookie()
    assert budi_session
    client = logged_in(site.client, "siti")
    old_hash = _user(site, "budi")["password_hash"]  # type: ignore[index]
    answer = post_form(
        client, "/admin/pengguna/budi", "/admin/pengguna/budi/sandi", {"password_mode": "generate"}
    )
    assert answer.status_code == 200
    new_password = SECRET.search(answer.text)
    assert new_password is not None
    assert _user(site, "budi")["password_hash"] != old_hash  # type: ignore[index]
    site.use_session(budi_session)
    assert site.client.get("/", follow_redirects=False).status_code == 303  # logged out
    assert login(site.client, "budi", PASSWORD).status_code == 401
    assert login(site.client, "budi", new_password.group(1)).status_code == 303
    audit = sql(site.url, "SELECT username FROM audit_log WHERE action = 'user.password_reset'")
    assert audit == [{"username": "siti"}]


def test_a_typed_password_reset_and_a_refused_one(site: Site) -> None:
    client = logged_in(site.client, "siti")
    old_hash = _user(site, "budi")["password_hash"]  # type: ignore[index]
    refused = post_form(
        client,
        "/admin/pengguna/budi",
        "/admin/pengguna/budi/sandi",
        {"password_mode": "typed", "password": "budi"},
    )
    assert refused.status_code == 422
    assert 'class="error"' in refused.text
    assert _user(site, "budi")["password_hash"] == old_hash  # type: ignore[index]
    done = post_form(
        client,
        "/admin/pengguna/budi",
        "/admin/pengguna/budi/sandi",
        {"password_mode": "typed", "password": "jalan-kenari-merah-5"},
    )
    assert done.status_code == 303
    assert "Kata sandi diganti" in client.get(done.headers["location"]).text
    assert login(site.client, "budi", "jalan-kenari-merah-5").status_code == 303


def test_a_token_is_shown_once_works_and_can_be_revoked(site: Site) -> None:
    client = logged_in(site.client, "siti")
    answer = post_form(client, "/admin/pengguna/budi", "/admin/pengguna/budi/token")
    assert answer.status_code == 200
    token = SECRET.search(answer.text)
    assert token is not None and token.group(1).startswith("rtb_")
    api = site.client.get(
        f"/api/v1/rts/{RT_A}/residents", headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    assert api.status_code == 200
    page = client.get("/admin/pengguna/budi")
    assert token.group(1) not in page.text
    prefix = token.group(1)[:10]
    assert f"<code>{prefix}&hellip;</code>" in page.text
    revoked = client.post(
        "/admin/pengguna/budi/cabut",
        data={"_csrf": csrf_field(page.text), "prefix": prefix},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert "Token dicabut" in client.get(revoked.headers["location"]).text
    api = site.client.get(
        f"/api/v1/rts/{RT_A}/residents", headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    assert api.status_code == 401
    unknown = post_form(
        client, "/admin/pengguna/budi", "/admin/pengguna/budi/cabut", {"prefix": "rtb_zzzzzz"}
    )
    assert unknown.status_code == 404


def test_deactivating_a_user_logs_them_out_and_keeps_them_out(site: Site) -> None:
    logged_in(site.client, "budi")
    budi_session = site.session_cookie()
    client = logged_in(site.client, "siti")
    answer = post_form(
        client, "/admin/pengguna/budi", "/admin/pengguna/budi/aktif", {"active": "0"}
    )
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "dinonaktifkan" in page.text and "nonaktif" in page.text
    assert _user(site, "budi")["is_active"] in (False, 0)  # type: ignore[index]
    site.use_session(budi_session)  # type: ignore[arg-type]
    assert site.client.get("/", follow_redirects=False).status_code == 303
    assert login(site.client, "budi").status_code == 401
    client = logged_in(site.client, "siti")
    back = post_form(client, "/admin/pengguna/budi", "/admin/pengguna/budi/aktif", {"active": "1"})
    assert back.status_code == 303
    assert login(site.client, "budi").status_code == 303
    # nobody deactivates themselves
    client = logged_in(site.client, "siti")
    self_off = client.post(
        "/admin/pengguna/siti/aktif",
        data={"_csrf": csrf_field(client.get("/admin/pengguna").text), "active": "0"},
    )
    assert self_off.status_code == 422
    assert _user(site, "siti")["is_active"] in (True, 1)  # type: ignore[index]
