"""/admin/audit (the trail, filtered and paged) and /admin/akses (the resident
access report, asked by POST so the NIK never is in an address, and audited)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from admin_support import HEAD_NIK, OTHER_NIK, Site, logged_in, open_site, post_form
from form_support import sql, write_sql

from rtbook.core.settings import DatabaseURL


@pytest.fixture
def site(db_env: DatabaseURL) -> Iterator[Site]:
    with open_site(db_env) as opened:
        yield opened


def _add_rows(site: Site, count: int, city: str, action: str, day: int = 1) -> None:
    for number in range(count):
        write_sql(
            site.url,
            "INSERT INTO audit_log (at, user_id, username, action, target, scope, detail)"
            " VALUES ($1, NULL, $2, $3, $4, $5, '{}')",
            datetime(2026, 10, day, 8, number % 60, tzinfo=UTC),
            "budi",
            action,
            f"target-{number}",
            city,
        )


def test_the_trail_of_the_city_filtered_and_paged(site: Site) -> None:
    _add_rows(site, 60, "64.71", "residents.list", day=1)
    _add_rows(site, 3, "64.71", "lansia.list", day=5)
    _add_rows(site, 4, "64.72", "residents.list", day=1)
    client = logged_in(site.client, "siti")
    first = client.get("/admin/audit", params={"action": "residents.list"})
    assert first.status_code == 200
    assert first.text.count("<code>residents.list</code>") == 50
    assert "target-0<" in first.text
    next_link = first.text.split('<nav class="pager"', 1)[1].split('href="', 2)[1].split('"', 1)[0]
    second = client.get(next_link.replace("&amp;", "&"))
    assert second.text.count("<code>residents.list</code>") == 10
    assert "target-59<" in second.text and "Berikutnya" not in second.text
    dated = client.get("/admin/audit", params={"since": "2026-10-05", "until": "2026-10-05"})
    assert dated.text.count("<code>lansia.list</code>") == 3
    assert "<code>residents.list</code>" not in dated.text
    by_user = client.get("/admin/audit", params={"user": "tidakada"})
    assert "Tidak ada catatan" in by_user.text
    bad = client.get("/admin/audit", params={"since": "kemarin"})
    assert bad.status_code == 422
    assert '<p class="error" role="alert">harus tanggal YYYY-MM-DD' in bad.text
    # the other city's rows stay with its admin
    theirs = logged_in(site.client, "ani").get("/admin/audit", params={"action": "residents."})
    assert theirs.text.count("<code>residents.list</code>") == 4


def test_the_access_report_is_asked_by_post_and_audited(site: Site) -> None:
    client = logged_in(site.client, "siti")
    form = client.get("/admin/akses")
    assert '<form method="post" action="/admin/akses"' in form.text
    answer = post_form(client, "/admin/akses", "/admin/akses", {"nik": HEAD_NIK})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "AHMAD KEPALA" in answer.text and "Riwayat pemrosesan" in answer.text
    assert HEAD_NIK not in str(answer.url)
    rows = sql(
        site.url,
        "SELECT username, target, scope FROM audit_log WHERE action = 'privacy.access_report'",
    )
    assert rows == [
        {"username": "siti", "target": "************" + HEAD_NIK[-4:], "scope": "64.71"}
    ]


@pytest.mark.parametrize(
    ("nik", "status", "message"),
    [
        ("12345", 422, "NIK harus 16 angka"),
        ("6471999999990001", 404, "NIK tidak terdaftar"),
        (OTHER_NIK, 403, "di luar kota Anda"),
    ],
)
def test_a_bad_unknown_or_foreign_nik_gives_no_report(
    site: Site, nik: str, status: int, message: str
) -> None:
    client = logged_in(site.client, "siti")
    answer = post_form(client, "/admin/akses", "/admin/akses", {"nik": nik})
    assert answer.status_code == status
    assert message in answer.text
    assert "ORANG LAIN" not in answer.text
    assert sql(site.url, "SELECT id FROM audit_log WHERE action = 'privacy.access_report'") == []
