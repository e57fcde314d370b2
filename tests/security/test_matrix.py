# ruff: noqa: E501  (the table below is wider than code: it reads as one line per route)
"""Who may do what: every route of the app against every role, inside and outside the
role's scope (CONTRACT.md; issue 6, item 7).

The table below is the spec. A route the app serves that has no row fails
``test_every_route_has_a_row``, so a new route cannot be forgotten.

Columns: ``none`` is a request without a token. For each role, ``in`` is its own
scope and ``out`` one of the same kind that is not its own (SCOPES in
security_support): city_admin its city 64.71 / the city 64.72; rt_head its RT 005 /
RT 006 of the same kelurahan; health_worker RT 005 inside its kelurahan / an RT of
another kecamatan of the same city; integrator its city / 64.72. Admin has no
"out" (theirs is 64.72, which they may see too) and a third column ``nf``: what does
not exist (unknown city, RT, NIK or id). The lansia plugin is enabled in both cities,
so its rows test scope, not the plugin gate.

Answers: ``2xx``; ``rej`` = 200 whose service item is rejected (a batch outside the
caller's city is answered per item, CONTRACT.md); an error status by number; ``-`` =
the route has no such target (``/me`` is always the caller's own).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from factories import CITY
from litestar import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient
from security_support import RT_MISSING, SCOPES, Target, World, seed

from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app

ROLES = ("admin", "city_admin", "rt_head", "health_worker", "integrator")

#                                          none | admin      | city_admin | rt_head | health_worker | integrator
#                                               | in  out nf | in  out    | in  out | in  out       | in  out
MATRIX_TEXT = """
GET  /health                               2xx  | 2xx -   -  | 2xx -      | 2xx -   | 2xx -         | 2xx -
POST /api/v1/services                      401  | 2xx 2xx rej| 2xx rej    | 403 403 | 403 403       | 2xx rej
GET  /api/v1/rts/{rt}/residents            401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 403 403       | 403 403
GET  /api/v1/rts/{rt}/households           401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 403 403       | 403 403
GET  /api/v1/rts/{rt}/events               401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 403 403       | 403 403
GET  /api/v1/dead-letters                  401  | 2xx 2xx 404| 2xx 403    | 403 403 | 403 403       | 403 403
POST /api/v1/dead-letters/{failure_id}/replay 401 | 2xx 2xx 404| 2xx 403  | 403 403 | 403 403       | 403 403
GET  /api/v1/deliveries                    401  | 2xx 2xx 404| 2xx 403    | 403 403 | 403 403       | 403 403
POST /api/v1/deliveries/{delivery_id}/retry 401 | 2xx 2xx 404| 2xx 403    | 403 403 | 403 403       | 403 403
GET  /api/v1/cities/{city}/plugins         401  | 2xx 2xx 404| 2xx 403    | 403 403 | 403 403       | 403 403
PUT  /api/v1/cities/{city}/plugins/{name}  401  | 2xx 2xx 404| 2xx 403    | 403 403 | 403 403       | 403 403
GET  /api/v1/me/notification-preferences   401  | 2xx -   -  | 2xx -      | 2xx -   | 2xx -         | 2xx -
PUT  /api/v1/me/notification-preferences   401  | 2xx -   -  | 2xx -      | 2xx -   | 2xx -         | 2xx -
GET  /api/v1/lansia                        401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 2xx 403       | 403 403
POST /api/v1/lansia/doses                  401  | 2xx 2xx 404| 2xx 403    | 403 403 | 2xx 403       | 403 403
GET  /api/v1/lansia/residents/{nik}/doses  401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 2xx 403       | 403 403
GET  /api/v1/reports/rekapitulasi           401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 403 403       | 403 403
GET  /api/v1/reports/induk                 401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 403 403       | 403 403
GET  /api/v1/reports/mutasi                401  | 2xx 2xx 404| 2xx 403    | 2xx 403 | 403 403       | 403 403
GET  /api/v1/audit                         401  | 2xx -   -  | 2xx -      | 403 -   | 403 -         | 403 -
GET  /api/v1/residents/{nik}/access-report 401  | 2xx 2xx 404| 2xx 403    | 403 403 | 403 403       | 403 403
POST /api/v1/users/{username}/password     401  | 2xx 2xx 404| 2xx 403    | 403 403 | 403 403       | 403 403
"""

# Pages and public documents: a bearer token means nothing to them, the answer is
# the same for everyone without a session. Pages that show personal data send such a
# visitor to the login page (3xx); /schema serves only the JSON document (the HTML
# viewers are off, see docs/security.md), other paths 404. A login without the
# form's CSRF token is refused; a logout without a session goes back to the login
# page. (What each role's session may see is tested in tests/sessions and
# tests/pages.)
PUBLIC_TEXT = """
GET  /                                     3xx
GET  /tentang                              2xx
POST /bahasa                               3xx
GET  /login                                2xx
POST /login                                403
POST /logout                               3xx
GET  /schema                               2xx
GET  /schema/openapi.json                  2xx
GET  /schema/{path}                        404
GET  /lansia                               3xx
GET  /lansia/unduh.csv                     3xx
GET  /lansia/unduh.xlsx                    3xx
GET  /lansia/warga/{rt}/{ref}              3xx
POST /lansia/warga/{rt}/{ref}              3xx
GET  /laporan                              3xx
GET  /laporan/unduh                        3xx
GET  /laporan/cetak                        3xx
GET  /admin/rt                             3xx
POST /admin/rt                             3xx
GET  /admin/pengguna                       3xx
POST /admin/pengguna                       3xx
GET  /admin/pengguna/{username}            3xx
POST /admin/pengguna/{username}/sandi      3xx
POST /admin/pengguna/{username}/token      3xx
POST /admin/pengguna/{username}/cabut      3xx
POST /admin/pengguna/{username}/aktif      3xx
GET  /admin/plugin                         3xx
POST /admin/plugin/{name}                  3xx
GET  /admin/pengiriman                     3xx
POST /admin/pengiriman/{delivery_id}/kirim-ulang 3xx
GET  /admin/dead-letters                   3xx
POST /admin/dead-letters/{failure_id}/replay 3xx
GET  /admin/audit                          3xx
GET  /admin/akses                          3xx
POST /admin/akses                          3xx
GET  /rt/{rt}                               3xx
GET  /rt/{rt}/warga/{ref}                  3xx
GET  /rt/{rt}/kabar                        3xx
GET  /rt/{rt}/kabar/baru                   3xx
GET  /pengaturan                           3xx
POST /pengaturan                           3xx
"""


def _parse(text: str) -> dict[str, dict[tuple[str, str], str]]:
    """{"METHOD /path": {(role, scope): answer}} from the table."""
    rows: dict[str, dict[tuple[str, str], str]] = {}
    for line in text.strip().splitlines():
        head, *groups = line.split("|")
        method, path, none = head.split()
        cells: dict[tuple[str, str], str] = {("none", "in"): none}
        for role, group in zip(ROLES, groups, strict=True):
            scopes = ("in", "out", "nf") if role == "admin" else ("in", "out")
            for scope, answer in zip(scopes, group.split(), strict=True):
                if answer != "-":
                    cells[(role, scope)] = answer
        rows[f"{method} {path}"] = cells
    return rows


MATRIX = _parse(MATRIX_TEXT)
PUBLIC = {" ".join(line.split()[:2]): line.split()[2] for line in PUBLIC_TEXT.strip().splitlines()}


# -- how each route is called about a target --------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None


_serial = itertools.count(1)


def _service(t: Target) -> Call:
    item = {
        "source": "siak-test",
        "id": f"matrix-{next(_serial)}",
        "type": "ktp_el",
        "completed_at": "2026-11-20T09:30:00+08:00",
        "nik": t.nik,
        "data": {},
    }
    return Call("POST", "/api/v1/services", json={"services": [item]})


def _dose(t: Target) -> Call:
    body = {
        "nik": t.nik,
        "vaccine": f"VAKSIN {next(_serial)}",
        "dose_number": 1,
        "date": "2026-11-01",
        "place": "PUSKESMAS DAMAI",
    }
    # the plugin gate finds the city in ?city= (admins have none of their own)
    return Call("POST", "/api/v1/lansia/doses", params={"city": t.city}, json=body)


REQUESTS: dict[str, Callable[[Target], Call]] = {
    "GET /health": lambda t: Call("GET", "/health"),
    "POST /api/v1/services": _service,
    "GET /api/v1/rts/{rt}/residents": lambda t: Call("GET", f"/api/v1/rts/{t.rt}/residents"),
    "GET /api/v1/rts/{rt}/households": lambda t: Call("GET", f"/api/v1/rts/{t.rt}/households"),
    "GET /api/v1/rts/{rt}/events": lambda t: Call("GET", f"/api/v1/rts/{t.rt}/events"),
    "GET /api/v1/dead-letters": lambda t: Call(
        "GET", "/api/v1/dead-letters", params={"city": t.city}
    ),
    "POST /api/v1/dead-letters/{failure_id}/replay": lambda t: Call(
        "POST", f"/api/v1/dead-letters/{t.dead_letter}/replay"
    ),
    "GET /api/v1/deliveries": lambda t: Call("GET", "/api/v1/deliveries", params={"city": t.city}),
    "POST /api/v1/deliveries/{delivery_id}/retry": lambda t: Call(
        "POST", f"/api/v1/deliveries/{t.delivery}/retry"
    ),
    "GET /api/v1/cities/{city}/plugins": lambda t: Call("GET", f"/api/v1/cities/{t.city}/plugins"),
    "PUT /api/v1/cities/{city}/plugins/{name}": lambda t: Call(
        "PUT",
        f"/api/v1/cities/{t.city}/plugins/lansia",
        json={"enabled": True, "config": {"min_age": 60}},
    ),
    "GET /api/v1/me/notification-preferences": lambda t: Call(
        "GET", "/api/v1/me/notification-preferences"
    ),
    "PUT /api/v1/me/notification-preferences": lambda t: Call(
        "PUT", "/api/v1/me/notification-preferences", json={"daily_digest": False}
    ),
    "GET /api/v1/audit": lambda t: Call("GET", "/api/v1/audit"),
    "GET /api/v1/residents/{nik}/access-report": lambda t: Call(
        "GET", f"/api/v1/residents/{t.nik}/access-report"
    ),
    "POST /api/v1/users/{username}/password": lambda t: Call(
        "POST", f"/api/v1/users/{t.account}/password", json={"password": "kunci-rahasia-9731"}
    ),
    "GET /api/v1/lansia": lambda t: Call("GET", "/api/v1/lansia", params={"area": t.rt}),
    "POST /api/v1/lansia/doses": _dose,
    "GET /api/v1/reports/rekapitulasi": lambda t: Call(
        "GET", "/api/v1/reports/rekapitulasi", params={"area": t.rt, "month": "2026-10"}
    ),
    "GET /api/v1/reports/induk": lambda t: Call(
        "GET", "/api/v1/reports/induk", params={"area": t.rt, "month": "2026-10"}
    ),
    "GET /api/v1/reports/mutasi": lambda t: Call(
        "GET", "/api/v1/reports/mutasi", params={"area": t.rt, "month": "2026-10"}
    ),
    "GET /api/v1/lansia/residents/{nik}/doses": lambda t: Call(
        "GET", f"/api/v1/lansia/residents/{t.nik}/doses", params={"city": t.city}
    ),
}

# Rows a call may change back to where the next call expects them.
RESETS = [
    "UPDATE dispatch_failure SET status = 'dead'",
    "UPDATE delivery SET status = 'dead'",
]


def served_routes(app: Any) -> dict[str, bool]:
    """{"METHOD /path": is_html_or_document} for every route the app serves."""
    served: dict[str, bool] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for method in handler.http_methods:
                if method == "OPTIONS":  # CORS preflight, answered by Litestar itself
                    continue
                public = (
                    handler.media_type == MediaType.HTML
                    or handler.include_in_schema is False  # pages' downloads, assets
                    or route.path.startswith("/schema")
                )
                served[f"{method} {route.path_format}"] = public
    return served


def _outcome(response: Any) -> str:
    """The answer in the table's words."""
    status = response.status_code
    if 200 <= status < 300:
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            results = body.get("results") if isinstance(body, dict) else None
            if results and all(r["status"] == "rejected" for r in results):
                return "rej"
        return "2xx"
    if 300 <= status < 400:
        return "3xx"
    return str(status)


def _error_shape_problem(response: Any) -> str | None:
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return "error body is not JSON"
    if not (isinstance(body, dict) and set(body) == {"error", "details"}):
        return f"error body not in the contract's shape: {body!r}"
    return None


@pytest.fixture
def sec_world(db_env: DatabaseURL) -> World:
    return seed(db_env)


@pytest.fixture
def sec_client(sec_world: World) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(sec_world.url)) as client:
        yield client


def _reset(client: TestClient[Any]) -> None:
    async def unit(conn: Any) -> None:
        for sql in RESETS:
            await conn.execute(sql)

    client.blocking_portal.call(client.app.state.db.write, unit)


def test_every_route_has_a_row(sec_client: TestClient[Any]) -> None:
    served = served_routes(sec_client.app)
    api = {route for route, public in served.items() if not public}
    pages = {route for route, public in served.items() if public}
    assert api - set(MATRIX) == set(), "routes without a row in MATRIX_TEXT"
    assert pages - set(PUBLIC) == set(), "pages without a row in PUBLIC_TEXT"
    assert set(MATRIX) - api == set(), "rows for routes the app does not serve"
    assert set(PUBLIC) - pages == set(), "rows for pages the app does not serve"
    assert set(REQUESTS) == set(MATRIX)


def test_role_scope_matrix(sec_client: TestClient[Any], sec_world: World) -> None:
    wrong: list[str] = []
    for route, cells in MATRIX.items():
        for (role, scope), expected in cells.items():
            if role == "none":
                target, who = sec_world.target(SCOPES["city_admin"][0]), "nobody"
            elif scope == "nf":
                target, who = sec_world.target(RT_MISSING), role
            else:
                rt = SCOPES[role][0 if scope == "in" else 1]
                target, who = sec_world.target(rt), role
            call = REQUESTS[route](target)
            _reset(sec_client)
            response = sec_client.request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                headers=sec_world.auth(who),
                follow_redirects=False,
            )
            got = _outcome(response)
            shape = _error_shape_problem(response)
            if got != expected or shape:
                wrong.append(
                    f"{route} as {role}/{scope}: expected {expected}, got {got}"
                    f" {shape or ''} {response.text[:200]}"
                )
    assert wrong == [], "\n".join(wrong)


def test_public_pages_need_no_token(sec_client: TestClient[Any], sec_world: World) -> None:
    wrong = []
    for route, expected in PUBLIC.items():
        method, path = route.split()
        path = path.replace("{path}", "nowhere")
        for headers in ({}, sec_world.auth("rt_head")):
            response = sec_client.request(method, path, headers=headers, follow_redirects=False)
            got = _outcome(response)
            if got != expected:
                wrong.append(f"{route} {'with' if headers else 'without'} token: {got}")
    assert wrong == []


def test_lansia_routes_answer_404_where_the_plugin_is_off(
    sec_client: TestClient[Any], sec_world: World
) -> None:
    """The gate in front of a plugin's routes: off in the city, 404 for every role,
    even the city's own admin (the rows above test scope with the plugin on)."""
    response = sec_client.put(
        f"/api/v1/cities/{CITY}/plugins/lansia",
        json={"enabled": False},
        headers=sec_world.auth("admin"),
    )
    assert response.status_code == 200, response.text
    target = sec_world.target(SCOPES["city_admin"][0])
    for route in ("GET /api/v1/lansia", "GET /api/v1/lansia/residents/{nik}/doses"):
        call = REQUESTS[route](target)
        for role in ROLES:
            response = sec_client.request(
                call.method, call.path, params=call.params, headers=sec_world.auth(role)
            )
            assert response.status_code == 404, (route, role, response.text)
