"""/admin/pengiriman and /admin/dead-letters: what failed, by status, resend/replay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from admin_support import OTHER_CITY, Site, logged_in, open_site, post_form
from factories import CITY
from form_support import csrf_field, sql

from rtbook.core.settings import DatabaseURL


@pytest.fixture
def site(db_env: DatabaseURL) -> Iterator[Site]:
    with open_site(db_env) as opened:
        yield opened


def _delivery(site: Site, key: str) -> dict:
    return sql(
        site.url, "SELECT status, attempts FROM delivery WHERE id = $1", site.ids[f"delivery:{key}"]
    )[0]


def test_deliveries_default_to_failed_and_dead_with_recipients_masked(site: Site) -> None:
    page = logged_in(site.client, "siti").get("/admin/pengiriman")
    assert page.status_code == 200
    ids = site.ids
    assert f'id="delivery-{ids[f"delivery:{CITY}:failed"]}"' in page.text
    assert f'id="delivery-{ids[f"delivery:{CITY}:dead"]}"' in page.text
    assert f'id="delivery-{ids[f"delivery:{CITY}:sent"]}"' not in page.text
    assert f'id="delivery-{ids[f"delivery:{OTHER_CITY}:dead"]}"' not in page.text
    assert "budi@example.org" not in page.text and "+6281234567890" not in page.text
    assert "smtp down" in page.text
    sent = site.client.get("/admin/pengiriman", params={"status": "sent"})
    assert f'id="delivery-{ids[f"delivery:{CITY}:sent"]}"' in sent.text
    assert "sent-one@example.org" not in sent.text
    assert "Kirim ulang" not in sent.text  # nothing to resend
    bad = site.client.get("/admin/pengiriman", params={"status": "hilang"})
    assert bad.status_code == 422


def test_resending_a_dead_delivery_makes_it_due_again(site: Site) -> None:
    client = logged_in(site.client, "siti")
    dead = site.ids[f"delivery:{CITY}:dead"]
    answer = post_form(client, "/admin/pengiriman", f"/admin/pengiriman/{dead}/kirim-ulang")
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert f"Pengiriman {dead} dijadwalkan ulang" in page.text
    assert _delivery(site, f"{CITY}:dead") == {"status": "failed", "attempts": 0}
    sent = site.ids[f"delivery:{CITY}:sent"]
    again = post_form(client, "/admin/pengiriman", f"/admin/pengiriman/{sent}/kirim-ulang")
    assert again.status_code == 409
    assert "sudah terkirim" in again.text
    assert _delivery(site, f"{CITY}:sent") == {"status": "sent", "attempts": 3}
    missing = post_form(client, "/admin/pengiriman", "/admin/pengiriman/999999/kirim-ulang")
    assert missing.status_code == 404
    other = site.ids[f"delivery:{OTHER_CITY}:dead"]
    refused = post_form(client, "/admin/pengiriman", f"/admin/pengiriman/{other}/kirim-ulang")
    assert refused.status_code == 403
    assert _delivery(site, f"{OTHER_CITY}:dead") == {"status": "dead", "attempts": 3}


def test_an_admin_pages_through_deliveries_of_a_chosen_city(site: Site) -> None:
    client = logged_in(site.client, "root")
    page = client.get("/admin/pengiriman", params={"city": OTHER_CITY})
    assert f'id="delivery-{site.ids[f"delivery:{OTHER_CITY}:dead"]}"' in page.text
    assert f'id="delivery-{site.ids[f"delivery:{CITY}:dead"]}"' not in page.text
    every = client.get("/admin/pengiriman", params={"city": CITY, "status": "semua"})
    assert every.text.count('<li id="delivery-') == 3


def test_dead_letters_are_listed_and_replayed(site: Site) -> None:
    client = logged_in(site.client, "siti")
    page = client.get("/admin/dead-letters")
    mine, theirs = site.ids[f"failure:{CITY}"], site.ids[f"failure:{OTHER_CITY}"]
    assert f'id="dead-letter-{mine}"' in page.text and f'id="dead-letter-{theirs}"' not in page.text
    assert "lansia" in page.text and "boom" in page.text
    answer = client.post(
        f"/admin/dead-letters/{mine}/replay",
        data={"_csrf": csrf_field(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    after = client.get(answer.headers["location"])
    assert "dikirim ulang ke plugin" in after.text
    assert f'id="dead-letter-{mine}"' not in after.text  # no longer dead
    retrying = client.get("/admin/dead-letters", params={"status": "retrying"})
    assert f'id="dead-letter-{mine}"' in retrying.text
    row = sql(site.url, "SELECT status, attempts FROM dispatch_failure WHERE id = $1", mine)
    assert row == [{"status": "retrying", "attempts": 0}]
    refused = post_form(client, "/admin/dead-letters", f"/admin/dead-letters/{theirs}/replay")
    assert refused.status_code == 403
    assert sql(site.url, "SELECT status FROM dispatch_failure WHERE id = $1", theirs) == [
        {"status": "dead"}
    ]
