"""Fuzzing: schemathesis over the app's own OpenAPI document, and hypothesis over the
validators every service and resident record goes through (issue 6, item 7).

The API fuzz runs on SQLite only: what it looks for is the web layer's handling of
odd input (parameters, bodies, paths), which is the same code on both backends; the
storage of good input is tested on both backends everywhere else, and one run over
both would double a minute of CI for no new path. It runs in-process (ASGI, no
network), derandomized, with a bounded number of examples per operation, against a
migrated database that holds a city, residents, the lansia plugin and a dead letter
and a delivery per city, as an admin and as a city admin.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from factories import CITY, RT_A, nik_for
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from security_support import ACCOUNTS, World, seed

from rtbook.core.ledger.effects import SERVICE_TYPES
from rtbook.core.ledger.items import parse_item
from rtbook.core.settings import DatabaseURL
from rtbook.core.validation import (
    BLOOD_TYPE,
    CITIZENSHIP,
    MARITAL_STATUS,
    RELIGION,
    SEX,
    SHDK,
    Issues,
    ResidentInput,
    check_nik,
    validate_resident,
)
from rtbook.web.app import create_app

EXAMPLES_PER_OPERATION = 20
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is stable
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def fuzz_client(db_env: DatabaseURL, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # The general API limit (600 a minute per token) would answer 429 long before the
    # fuzz is done; it has its own tests (tests/security/test_limits.py).
    monkeypatch.setenv("RTBOOK_API_RATE_PER_MINUTE", "0")
    world = seed(db_env)
    with TestClient(create_app(world.url)) as client:
        yield client, world


def _not_a_server_error(response: Any, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("who", ["admin", "city_admin"])
def test_api_fuzz_finds_no_server_error(fuzz_client: Any, who: str) -> None:
    client, world = fuzz_client
    document = client.get("/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # every operation of the document is fuzzed
    seen: dict[str, set[int]] = {}

    for operation in operations:
        _fuzz_operation(client, operation, world.auth(who), _known_values(world), seen)
    # Reached the handlers: not everything was refused at the door.
    assert any(any(s < 300 for s in statuses) for statuses in seen.values()), seen


def _known_values(world: World) -> dict[str, str]:
    """Path parameters that name stored rows, so some cases get past the 404."""
    return {
        "rt": RT_A,
        "city": CITY,
        "nik": world.niks[RT_A],
        "name": "lansia",
        "failure_id": str(world.dead_letters[CITY]),
        "delivery_id": str(world.deliveries[CITY]),
        "username": ACCOUNTS[CITY],
    }


def _fuzz_operation(
    client: TestClient[Any],
    operation: Any,
    auth: dict[str, str],
    known: dict[str, str],
    seen: dict[str, set[int]],
) -> None:
    """Schema-valid cases, invalid ones, and valid ones about stored rows."""
    label = f"{operation.method.upper()} {operation.path}"
    stored = {k: v for k, v in known.items() if f"{{{k}}}" in operation.path}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if stored:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=stored))

    @FUZZ_SETTINGS
    @given(case=st.one_of(strategies))
    def fuzz(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver.local")
        headers = {
            k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "user-agent"
        }
        headers.update(auth)
        response = client.request(
            kwargs["method"],
            kwargs["url"],
            params=kwargs.get("params"),
            headers=headers,
            content=_body(kwargs),
            follow_redirects=False,
        )
        _not_a_server_error(response, f"{label} {case.as_curl_command()}")
        seen.setdefault(label, set()).add(response.status_code)
        # The answer conforms where the document is exact: the documented content
        # type and, for JSON, the documented body schema.
        case.validate_response(
            response, checks=[content_type_conformance, response_schema_conformance]
        )

    fuzz()


def _body(kwargs: dict[str, Any]) -> bytes | None:
    if "json" in kwargs:
        import json

        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if isinstance(data, str):
        return data.encode()
    return data


# -- the validators --------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "nik",
        "name",
        "sex",
        "birth_date",
        "no_kk",
        "rt",
        "religion",
        "phone",
        "blood_type",
        "address",
        "source",
        "id",
        "type",
        "completed_at",
        "data",
        "child",
        "members",
        "from_rt",
    ]
) | st.text(max_size=12)
records = st.dictionaries(field_names, json_values, max_size=12)
digits16 = st.text(alphabet="0123456789", min_size=16, max_size=16)
clean_text = st.text(alphabet=string.ascii_uppercase + " .'-", min_size=1, max_size=60).filter(
    lambda t: t.strip()
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(raw=records | json_values)
def test_resident_validator_takes_anything(raw: Any) -> None:
    """Any JSON value: either a ResidentInput or field errors, never an exception."""
    issues = Issues()
    result = validate_resident(raw, issues, today=TODAY)
    assert (result is None) == bool(issues.errors)
    assert result is None or isinstance(result, ResidentInput)
    for issue in issues.errors + issues.warnings:
        assert isinstance(issue.field, str) and issue.message


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    raw=records
    | json_values
    | st.fixed_dictionaries(
        {"type": st.sampled_from(SERVICE_TYPES), "data": records | json_values},
        optional={"nik": digits16 | json_values, "rt": st.just(RT_A) | json_values},
    )
)
def test_service_validator_takes_anything(raw: Any) -> None:
    """Any JSON value as a service item: a parsed item or field errors, never raised;
    no message echoes a full NIK."""
    parsed = parse_item(raw, now=NOW)
    assert (parsed.item is None) == bool(parsed.issues.errors)
    for issue in parsed.issues.errors + parsed.issues.warnings:
        assert isinstance(issue.field, str) and issue.message
        for text in (issue.field, issue.message):
            assert not any(
                len(run) >= 16 for run in "".join(c if c.isdigit() else " " for c in text).split()
            ), text


@st.composite
def residents(draw: st.DrawFn) -> dict[str, Any]:
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sex = draw(st.sampled_from(SEX))
    record: dict[str, Any] = {
        "nik": nik_for(birth, sex, draw(st.integers(1, 9999))),
        "name": draw(clean_text),
        "sex": sex,
        "birth_date": birth.isoformat(),
        "no_kk": draw(digits16),
        "rt": RT_A,
    }
    optional = {
        "religion": st.sampled_from(RELIGION),
        "marital_status": st.sampled_from(MARITAL_STATUS),
        "shdk": st.sampled_from(SHDK),
        "citizenship": st.sampled_from(CITIZENSHIP),
        "blood_type": st.sampled_from(BLOOD_TYPE),
        "birth_place": clean_text,
        "address": clean_text,
        "father_name": clean_text,
        "mother_name": clean_text,
        "phone": st.sampled_from(["081234567890", "6281234567890", "+6281234567890"]),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            record[name] = draw(strategy)
    return record


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(record=residents())
def test_valid_residents_pass(record: dict[str, Any]) -> None:
    """A resident built by the contract's rules is accepted as sent, and its NIK agrees
    with its birth date and sex (no warning)."""
    issues = Issues()
    result = validate_resident(record, issues, today=TODAY)
    assert issues.errors == [], issues.errors
    assert issues.warnings == [], issues.warnings
    assert result is not None
    assert result.nik == record["nik"] and result.birth_date.isoformat() == record["birth_date"]
    assert result.name == record["name"].strip() and result.rt == RT_A
    if "phone" in record:
        assert result.phone == "+6281234567890"


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(record=residents())
def test_valid_birth_service_passes(record: dict[str, Any]) -> None:
    """The same resident as the child of a birth service: applied-ready, the item's
    nik and rt standing for the ones the child leaves out."""
    child = {k: v for k, v in record.items() if k not in ("nik", "rt")}
    item = {
        "source": "siak-6471",
        "id": "lahir-1",
        "type": "akta_kelahiran",
        "completed_at": "2026-11-20T09:30:00+08:00",
        "nik": record["nik"],
        "rt": RT_A,
        "data": {"child": child},
    }
    parsed = parse_item(item, now=NOW)
    assert parsed.issues.errors == []
    assert parsed.item is not None and parsed.item.resident is not None
    assert parsed.item.resident.nik == record["nik"] and parsed.item.resident.rt == RT_A


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(value=st.text(max_size=20) | json_values)
def test_nik_is_exactly_sixteen_ascii_digits(value: Any) -> None:
    issues = Issues()
    result = check_nik(value, "nik", issues)
    ok = isinstance(value, str) and len(value) == 16 and all(c in "0123456789" for c in value)
    assert (result == value) if ok else (result is None and issues.errors)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(nik=digits16, position=st.integers(0, 15), digit=st.sampled_from("٣۳०１"))
def test_nik_refuses_other_scripts_digits(nik: str, position: int, digit: str) -> None:
    """Arabic-Indic, Devanagari and full-width digits are digits to str.isdigit(),
    not to a NIK."""
    issues = Issues()
    assert check_nik(nik[:position] + digit + nik[position + 1 :], "nik", issues) is None
    assert issues.errors
