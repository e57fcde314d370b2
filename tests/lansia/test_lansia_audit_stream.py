"""Every list pulled is in the audit trail; exports stream page by page.

The page size is made tiny here (3 rows) so that a list of a few residents spans
several pages, RTs and units of work, as a city-wide export does."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import anyio
import pytest
from factories import CITY, RT_A
from lansia_support import AS_OF, KELURAHAN, XLSX, World, expected_list, fetch
from litestar.testing import TestClient
from openpyxl import load_workbook

import rtbook_lansia.listing as listing

# the plugin's own rows (the seed's plugin.config row is tested in tests/audit)
AUDIT_SQL = (
    "SELECT user_id, username, action, target, scope, detail, at FROM audit_log"
    " WHERE action LIKE 'lansia.%' ORDER BY id"
)


def pull(client: TestClient[Any], world: World, who: str, area: str, **extra: Any) -> Any:
    headers = {**world.auth(who), **extra.pop("headers", {})}
    return client.get(
        "/api/v1/lansia", params={"area": area, "as_of": "2026-11-20", **extra}, headers=headers
    )


def test_each_list_pulled_is_recorded(client: TestClient[Any], world: World) -> None:
    expected = expected_list(world.residents, KELURAHAN, AS_OF)
    assert pull(client, world, "hw_damai", KELURAHAN).status_code == 200
    response = pull(client, world, "head_a", RT_A, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert pull(client, world, "head_a", KELURAHAN).status_code == 403  # refused: no row

    rows = fetch(world.url, AUDIT_SQL)
    assert [(r["username"], r["action"], r["target"], r["scope"]) for r in rows] == [
        ("hw_damai", "lansia.list", KELURAHAN, CITY),
        ("head_a", "lansia.list", RT_A, CITY),
    ]
    assert rows[0]["user_id"] == world.user_ids["hw_damai"]
    first, second = (json.loads(r["detail"]) for r in rows)
    assert first["rows"] == len(expected) and first["format"] == "json"
    assert first["as_of"] == "2026-11-20" and first["min_age"] == 60 and first["complete"]
    assert second["rows"] == len(expected_list(world.residents, RT_A, AS_OF))
    assert second["format"] == "csv"
    assert all(r["at"] is not None for r in rows)


def test_doses_recorded_and_read_are_audited_without_a_full_nik(
    client: TestClient[Any], world: World
) -> None:
    nik = world.nik("AHMAD TUA")
    body = {"nik": nik, "vaccine": "Sinovac", "dose_number": 1, "date": "2021-03-01",
            "place": "Puskesmas"}  # fmt: skip
    assert (
        client.post("/api/v1/lansia/doses", json=body, headers=world.auth("hw_damai")).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/lansia/residents/{nik}/doses", headers=world.auth("head_a")
        ).status_code
        == 200
    )
    rows = fetch(world.url, AUDIT_SQL)
    assert [r["action"] for r in rows] == ["lansia.dose.add", "lansia.doses"]
    assert all(r["target"] == "*" * 12 + nik[-4:] for r in rows)
    dump = json.dumps([{k: str(v) for k, v in r.items()} for r in rows])
    assert not re.search(r"[0-9]{16}", dump)


@pytest.fixture
def tiny_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)
    monkeypatch.setattr(listing, "RT_BATCH", 2)
    return 3


def asgi_get(
    client: TestClient[Any], path: str, query: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], list[bytes]]:
    """One GET straight through the app's ASGI interface, on the test client's event
    loop: the status, the headers and each body message as the app sent it (the
    test client itself would join them into one body)."""
    messages: list[dict[str, Any]] = []

    async def call() -> None:
        received: list[bool] = []
        done = anyio.Event()

        async def receive() -> dict[str, Any]:
            if received:  # the client stays until the whole body is in, as uvicorn does
                await done.wait()
                return {"type": "http.disconnect"}
            received.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "state": {},
        }
        await client.app(scope, receive, send)

    client.blocking_portal.call(call)
    start = next(m for m in messages if m["type"] == "http.response.start")
    answer_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    bodies = [m.get("body", b"") for m in messages if m["type"] == "http.response.body"]
    return start["status"], answer_headers, bodies


def test_the_csv_is_streamed_in_pages(
    client: TestClient[Any], world: World, tiny_pages: int
) -> None:
    expected = expected_list(world.residents, CITY, AS_OF)
    assert len(expected) > 2 * tiny_pages  # three pages, three RTs, two RT batches
    status, headers, chunks = asgi_get(
        client,
        "/api/v1/lansia",
        f"area={CITY}&as_of=2026-11-20",
        {**world.auth("city_admin"), "Accept": "text/csv"},
    )
    assert status == 200
    assert "content-length" not in headers  # a stream, not one body
    body = b"".join(chunks).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows == [{k: str(v) for k, v in e.items()} for e in expected]
    # the header, then one body message per page of at most 3 rows (and the end)
    pages = [c for c in chunks if c and not c.startswith(b"nik,")]
    assert len(pages) == -(-len(expected) // tiny_pages)
    assert all(c.count(b"\r\n") <= tiny_pages for c in pages)
    detail = json.loads(fetch(world.url, AUDIT_SQL)[-1]["detail"])
    assert detail["rows"] == len(expected) and detail["complete"] is True


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
def test_json_and_xlsx_over_many_pages_are_whole(
    client: TestClient[Any], world: World, tiny_pages: int, fmt: str
) -> None:
    expected = expected_list(world.residents, CITY, AS_OF)
    response = pull(client, world, "admin", CITY, format=fmt)
    assert response.status_code == 200, response.text
    if fmt == "json":
        niks = [i["nik"] for i in response.json()["items"]]
    else:
        assert response.headers["content-type"].startswith(XLSX)
        sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
        niks = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert niks == [e["nik"] for e in expected]
