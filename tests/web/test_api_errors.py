"""Errors in the contract's shape, hostile input that must never reach a 500, the
health check and the OpenAPI document."""

from __future__ import annotations

import base64
import logging
from typing import Any

from factories import RT_A
from litestar import MediaType, get
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient
from web_support import World, run_sql

from rtbook.web.app import create_app

RESIDENTS_A = f"/api/v1/rts/{RT_A}/residents"
EVENTS_A = f"/api/v1/rts/{RT_A}/events"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "details"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["details"], list)
    return body


def test_hostile_resident_queries(client: TestClient[Any], world: World) -> None:
    nik = world.residents[0]["nik"]
    cases: list[tuple[dict[str, str], int]] = [
        ({"q": "' OR 1=1 --"}, 200),
        ({"q": "'; DROP TABLE resident; --"}, 200),
        ({"q": '") OR ("1"="1'}, 200),
        ({"q": "\\"}, 200),
        ({"q": "%%"}, 200),
        ({"q": "😀"}, 200),
        ({"q": "a" * 100}, 200),
        ({"q": "a" * 101}, 400),
        ({"q": "BUDI\x00"}, 400),
        ({"q": "\x1b[31m"}, 400),
        ({"limit": "0"}, 400),
        ({"limit": "-1"}, 400),
        ({"limit": "201"}, 400),
        ({"limit": "abc"}, 400),
        ({"limit": "1e3"}, 400),
        ({"limit": "1.5"}, 400),
        ({"limit": "٣"}, 400),  # an Arabic-Indic digit: str.isdigit() says yes
        ({"limit": "9" * 40}, 400),
        ({"limit": "200"}, 200),
        ({"status": "ACTIVE"}, 400),
        ({"status": "active' --"}, 400),
        ({"cursor": "garbage!!"}, 400),
        ({"cursor": "é"}, 400),
        ({"cursor": "A" * 5000}, 400),
        ({"cursor": b64(b'["a"]')}, 400),
        ({"cursor": b64(b'["a", 1]')}, 400),
        ({"cursor": b64(b'["a", "123"]')}, 400),
        ({"cursor": b64(b'{"name": "a"}')}, 400),
        ({"cursor": b64(b'["\\u0000", "' + nik.encode() + b'"]')}, 400),
        ({"cursor": b64(b'["\\ud800", "' + nik.encode() + b'"]')}, 400),
        ({"cursor": b64(b'["BUDI", "' + nik.encode() + b'"]')}, 200),
    ]
    for params, status in cases:
        response = client.get(RESIDENTS_A, headers=world.auth("head_a"), params=params)
        assert response.status_code == status, (params, response.text)
        if status == 400:
            body = assert_error(response, 400)
            assert body["details"][0]["field"] in params, params
    # Still all there.
    assert run_sql(world.url, "SELECT count(*) FROM resident") == len(world.residents) + 2


def test_hostile_query_strings(client: TestClient[Any], world: World) -> None:
    raw = [
        "q=%ED%A0%80",  # a lone surrogate, percent-encoded
        "q=%FF%FE",
        "q=%00",
        "limit=1&limit=2",
        "cursor=%00",
        "status=%00",
    ]
    for query in raw:
        response = client.get(f"{RESIDENTS_A}?{query}", headers=world.auth("head_a"))
        assert response.status_code in (200, 400), (query, response.text)


def test_hostile_event_queries(client: TestClient[Any], world: World) -> None:
    cases: list[tuple[dict[str, str], int]] = [
        ({"after": "99999999999999999999999"}, 400),
        ({"after": str(2**62 + 1)}, 400),
        ({"after": "-1"}, 400),
        ({"after": "abc"}, 400),
        ({"after": str(2**62)}, 200),
        ({"limit": "501"}, 400),
        ({"limit": "0"}, 400),
        ({"limit": "500"}, 200),
    ]
    for params, status in cases:
        response = client.get(EVENTS_A, headers=world.auth("head_a"), params=params)
        assert response.status_code == status, (params, response.text)
        if status == 400:
            body = assert_error(response, 400)
            assert body["details"] == [
                {"field": next(iter(params)), "message": body["details"][0]["message"]}
            ]
            assert "(" in body["details"][0]["message"]  # Indonesian first, English in ()


def test_hostile_rt_codes(client: TestClient[Any], world: World) -> None:
    for rt in [
        "%00",
        "64.71.06.1005-003-005%00",
        "'%20OR%201=1",
        "..%2F..",
        "%ED%A0%80",
        "a" * 500,
    ]:
        response = client.get(f"/api/v1/rts/{rt}/residents", headers=world.auth("admin"))
        assert response.status_code == 404, (rt, response.text)
        assert_error(response, 404)


def test_unknown_path_and_wrong_method(client: TestClient[Any], world: World) -> None:
    assert_error(client.get("/nowhere"), 404)
    assert_error(client.get("/api/v1/nowhere", headers=world.auth("admin")), 404)
    response = client.get("/api/v1/services", headers=world.auth("admin"))
    assert_error(response, 405)
    assert "POST" in response.headers["allow"]
    assert_error(client.delete(RESIDENTS_A, headers=world.auth("admin")), 405)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_unexpected_error_is_a_bare_500_and_logged_masked(world: World) -> None:
    nik = world.residents[0]["nik"]

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError(f"internal detail for {nik}")

    records = _Records()
    logger = logging.getLogger("rtbook.web")
    with TestClient(create_app(world.url, extra_handlers=[boom])) as client:
        logger.addHandler(records)  # after startup: the app configures logging then
        try:
            response = client.get("/boom")
        finally:
            logger.removeHandler(records)
    body = assert_error(response, 500)
    assert body["details"] == []
    assert "internal detail" not in response.text and "RuntimeError" not in response.text
    logged = "\n".join(records.lines)
    assert "RuntimeError: internal detail for" in logged
    assert nik not in logged and nik[-4:] in logged


def test_health(client: TestClient[Any]) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_says_503_when_database_is_gone(world: World) -> None:
    with TestClient(create_app(world.url)) as client:
        client.blocking_portal.call(client.app.state.db.close)
        assert_error(client.get("/health"), 503)


def test_schema_and_health_need_no_token(client: TestClient[Any]) -> None:
    assert client.get("/schema/openapi.json").status_code == 200
    assert client.get("/health").status_code == 200


# -- OpenAPI ------------------------------------------------------------------------------

EXPECTED_ERRORS = {
    ("post", "/api/v1/services"): {"400", "401", "403", "413", "422"},
    ("get", "/api/v1/rts/{rt}/residents"): {"400", "401", "403", "404"},
    ("get", "/api/v1/rts/{rt}/households"): {"400", "401", "403", "404"},
    ("get", "/api/v1/rts/{rt}/events"): {"400", "401", "403", "404"},
    ("get", "/health"): {"503"},
    ("get", "/api/v1/cities/{city}/plugins"): {"401", "403", "404"},
    ("put", "/api/v1/cities/{city}/plugins/{name}"): {"400", "401", "403", "404", "422"},
    ("get", "/api/v1/dead-letters"): {"400", "401", "403", "404"},
    ("post", "/api/v1/dead-letters/{failure_id}/replay"): {"401", "403", "404", "409"},
    ("get", "/api/v1/deliveries"): {"400", "401", "403", "404"},
    ("post", "/api/v1/deliveries/{delivery_id}/retry"): {"401", "403", "404", "409"},
    # the built-in lansia plugin (entry point), mounted behind its per-city gate
    ("get", "/api/v1/lansia"): {"400", "401", "403", "404"},
    ("post", "/api/v1/lansia/doses"): {"400", "401", "403", "404", "409", "422"},
    ("get", "/api/v1/lansia/residents/{nik}/doses"): {"400", "401", "403", "404"},
    # the built-in reports plugin (entry point), behind its per-city gate
    ("get", "/api/v1/reports/rekapitulasi"): {"400", "401", "403", "404"},
    ("get", "/api/v1/reports/induk"): {"400", "401", "403", "404"},
    ("get", "/api/v1/reports/mutasi"): {"400", "401", "403", "404"},
    ("get", "/api/v1/me/notification-preferences"): {"401", "403"},
    ("put", "/api/v1/me/notification-preferences"): {"400", "401", "403", "422"},
    ("get", "/api/v1/audit"): {"400", "401", "403"},
    ("get", "/api/v1/residents/{nik}/access-report"): {"400", "401", "403", "404"},
    ("post", "/api/v1/users/{username}/password"): {"400", "401", "403", "404", "422"},
}


def test_openapi_lists_every_route_with_its_errors(client: TestClient[Any]) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    paths = doc["paths"]

    served = set()
    for route in client.app.routes:
        if route.path.startswith("/schema"):
            continue
        for handler in getattr(route, "route_handlers", []):
            # pages (HTML, and their downloads) are for browsers, not part of the API
            # document: they are left out of the schema
            if (
                isinstance(handler, HTTPRouteHandler)
                and handler.media_type != MediaType.HTML
                and handler.include_in_schema is not False
            ):
                for method in handler.http_methods:
                    if method != "OPTIONS":
                        path = route.path_format
                        served.add((method.lower(), path))
    assert served == set(EXPECTED_ERRORS)

    for (method, path), errors in EXPECTED_ERRORS.items():
        operation = paths[path][method]
        responses = operation["responses"]
        assert "200" in responses, path
        assert errors <= set(responses), (path, set(responses))
        for code in errors:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, code)
        if path.startswith("/api/"):
            assert operation["security"] == [{"BearerToken": []}]

    error_body = doc["components"]["schemas"]["ErrorBody"]
    assert set(error_body["properties"]) == {"error", "details"}
    residents = doc["components"]["schemas"]["ResidentItem"]["properties"]
    assert {"nik", "name", "birth_date", "rt", "status", "blood_type"} <= set(residents)
    body = paths["/api/v1/services"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["services"]["maxItems"] == 1000
    events = paths["/api/v1/rts/{rt}/events"]["get"]["responses"]["200"]["content"]
    assert events["application/json"]["schema"] == {"$ref": "#/components/schemas/EventsFeed"}
    assert doc["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
