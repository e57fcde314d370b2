"""Notification settings (GET/POST /pengaturan) on both backends: the form shows the
user's own masked addresses and stored choices, saves through the core's checks,
refuses bad input with the reason (nothing saved) and a missing CSRF token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from form_support import csrf_field, sql
from litestar.testing import TestClient
from rt_support import World, login, make_client, seed

from rtbook.core.ledger.effects import SERVICE_TYPES
from rtbook.core.settings import DatabaseURL


@pytest.fixture
def world(db_env: DatabaseURL) -> World:
    return seed(db_env)


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with make_client(world) as test_client:
        yield test_client


def stored(world: World) -> list[dict[str, Any]]:
    return sql(
        world.url,
        "SELECT user_id, channels, service_types, quiet_start, quiet_end, daily_digest,"
        " language FROM notification_preference ORDER BY user_id",
    )


def form_of(page: str, **fields: Any) -> dict[str, Any]:
    """What a browser sends: every service type and the shown channels ticked, as
    the defaults show them, then ``fields``."""
    data: dict[str, Any] = {
        "_csrf": csrf_field(page),
        "channels": [c for c in ("whatsapp", "email") if f'value="{c}"' in page],
        "service_types": list(SERVICE_TYPES),
        "quiet_start": "",
        "quiet_end": "",
        "language": "id",
    }
    data.update(fields)
    return data


def test_anonymous_is_sent_to_login(client: TestClient[Any], world: World) -> None:
    assert client.get("/pengaturan", follow_redirects=False).status_code == 303
    response = client.post("/pengaturan", data={"language": "en"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert stored(world) == []


def test_form_shows_masked_addresses_and_defaults(client: TestClient[Any]) -> None:
    login(client, "head_a")  # WhatsApp only
    page = client.get("/pengaturan").text
    assert "<h1>Pengaturan pemberitahuan" in page
    assert 'name="channels" value="whatsapp" checked' in page
    assert 'value="email"' not in page  # no e-mail address: not offered
    assert "+62812****7890" in page and "+6281234567890" not in page
    for service in SERVICE_TYPES:
        assert f'name="service_types" value="{service}" checked' in page
    assert 'id="quiet_start" name="quiet_start" value=""' in page
    assert '<option value="id" selected>' in page
    assert '<label for="quiet_start">' in page and '<label for="language">' in page

    login(client, "city_admin")  # e-mail only
    page = client.get("/pengaturan").text
    assert 'value="whatsapp"' not in page and "s***@example.org" in page
    assert "siti.admin@example.org" not in page


def test_user_without_an_address_has_no_form(client: TestClient[Any], world: World) -> None:
    login(client, "head_b")
    page = client.get("/pengaturan")
    assert page.status_code == 200
    assert "tidak menerima pemberitahuan" in page.text and 'action="/pengaturan"' not in page.text
    token = csrf_field(page.text)  # the logout form's: the session's token
    response = client.post("/pengaturan", data={"_csrf": token, "language": "en"})
    assert response.status_code == 403
    assert stored(world) == []


def test_saving_stores_the_choices(client: TestClient[Any], world: World) -> None:
    login(client, "head_a")
    page = client.get("/pengaturan").text
    data = form_of(
        page,
        channels=[],
        service_types=["akta_kelahiran", "akta_kematian"],
        quiet_start="22:00",
        quiet_end="06:00",
        daily_digest="1",
        language="en",
    )
    response = client.post("/pengaturan", data=data, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/pengaturan?ok=1"
    assert stored(world) == [
        {
            "user_id": world.user_ids["head_a"],
            "channels": '["email"]',  # no address, not offered: kept as it was (all)
            "service_types": '["akta_kelahiran","akta_kematian"]',
            "quiet_start": "22:00",
            "quiet_end": "06:00",
            "daily_digest": True,
            "language": "en",
        }
    ]
    shown = client.get("/pengaturan?ok=1").text
    assert "Tersimpan (saved)" in shown
    assert 'name="channels" value="whatsapp">' in shown  # now unticked
    assert 'value="akta_kematian" checked' in shown and 'value="ktp_el">' in shown
    assert 'value="22:00"' in shown and 'name="daily_digest" value="1" checked' in shown
    assert '<option value="en" selected>' in shown

    # every type ticked is stored as "all"; a channel without an address is kept
    again = client.post("/pengaturan", data=form_of(shown), follow_redirects=False)
    assert again.status_code == 303
    row = stored(world)[0]
    assert row["service_types"] is None
    assert json.loads(row["channels"]) == ["whatsapp", "email"]
    assert row["quiet_start"] is None and row["daily_digest"] is False


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"quiet_start": "22:00"}, "quiet_end", "jam tenang perlu awal dan akhir"),
        ({"quiet_start": "25:00", "quiet_end": "06:00"}, "quiet_start", "harus JJ:MM"),
        ({"quiet_start": "06:00", "quiet_end": "06:00"}, "quiet_end", "akhir harus berbeda"),
        ({"language": "jv"}, "language", "harus id atau en"),
        ({"channels": ["sms"]}, "channels", "tidak dikenal"),
        ({"service_types": ["ktp_el", "paspor"]}, "service_types", "tidak dikenal"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(
    client: TestClient[Any], world: World, fields: dict[str, Any], field: str, words: str
) -> None:
    login(client, "head_a")
    page = client.get("/pengaturan").text
    response = client.post("/pengaturan", data=form_of(page, **fields))
    assert response.status_code == 422
    assert "Isian tidak sah, tidak ada yang disimpan" in response.text
    assert f'<p class="error" id="{field}-error">' in response.text
    assert words in response.text
    assert stored(world) == []


def test_missing_or_wrong_csrf_is_refused(client: TestClient[Any], world: World) -> None:
    login(client, "head_a")
    page = client.get("/pengaturan").text
    data = form_of(page, language="en")
    del data["_csrf"]
    assert client.post("/pengaturan", data=data).status_code == 403
    data["_csrf"] = "x" * 40
    response = client.post("/pengaturan", data=data)
    assert response.status_code == 403 and "Token formulir" in response.text
    assert stored(world) == []
