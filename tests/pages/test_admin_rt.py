"""/admin/rt: the city's RTs with counts and heads, and adding RTs like `rtbook rt add`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from admin_support import Site, logged_in, open_site, post_form
from factories import RT_A, RT_B
from form_support import sql

from rtbook.core.settings import DatabaseURL

NEW_RT = "64.71.06.1005-004-001"


@pytest.fixture
def site(db_env: DatabaseURL) -> Iterator[Site]:
    with open_site(db_env) as opened:
        yield opened


def _codes(site: Site) -> list[str]:
    return [r["code"] for r in sql(site.url, "SELECT code FROM rt ORDER BY code")]


def test_the_city_admin_sees_each_rt_with_residents_and_heads(site: Site) -> None:
    page = logged_in(site.client, "siti").get("/admin/rt")
    assert page.status_code == 200
    section = page.text.split(f'id="rt-{RT_A}"', 1)[1].split("</li>", 1)[0]
    assert f'href="/rt/{RT_A}"' in section
    assert "RT 005/RW 003" in section
    assert '<dd class="residents">2</dd>' in section
    assert "budi" in section
    empty = page.text.split(f'id="rt-{RT_B}"', 1)[1].split("</li>", 1)[0]
    assert '<dd class="residents">0</dd>' in empty
    assert "belum ada" in empty  # no head yet
    assert "64.72.01.1001-001-001" not in page.text


def test_adding_rts_shows_them_and_audits_it(site: Site) -> None:
    client = logged_in(site.client, "siti")
    second = "64.71.06.1005-004-002"
    answer = post_form(client, "/admin/rt", "/admin/rt", {"rt_codes": f"{NEW_RT}\n{second}"})
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "2 RT ditambahkan (RTs added)" in page.text
    assert f'id="rt-{NEW_RT}"' in page.text and f'id="rt-{second}"' in page.text
    assert NEW_RT in _codes(site) and second in _codes(site)
    rows = sql(site.url, "SELECT username, target, scope FROM audit_log WHERE action = 'rt.add'")
    assert rows == [{"username": "siti", "target": "64.71", "scope": "64.71"}]


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ("64.71.06.1005-4-1", "code format)"),
        (f"{NEW_RT} 64.71.06.1005-000-001", "mulai dari 001"),
        (RT_A, "sudah ada (already added)"),
        ("64.72.01.1001-002-001", "RT di luar kota 64.71"),
        ("64.71.06.9999-001-001", "kelurahan 64.71.06.9999 tidak ada"),
        ("", "tidak ada kode RT"),
    ],
)
def test_bad_codes_are_refused_and_nothing_is_added(site: Site, codes: str, message: str) -> None:
    client = logged_in(site.client, "siti")
    before = _codes(site)
    answer = post_form(client, "/admin/rt", "/admin/rt", {"rt_codes": codes})
    assert answer.status_code == 422
    assert message in answer.text
    assert 'class="error"' in answer.text
    assert f">{codes}</textarea>" in answer.text  # what was typed stays in the form
    assert _codes(site) == before


def test_an_admin_adds_rts_to_the_chosen_city(site: Site) -> None:
    client = logged_in(site.client, "root")
    other = "64.72.01.1001-002-003"
    answer = post_form(
        client,
        "/admin/rt?city=64.72",
        "/admin/rt?city=64.72",
        {"rt_codes": other},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/rt?city=64.72&ok=1"
    assert other in client.get(answer.headers["location"]).text
    assert other in _codes(site)
