"""Applying a batch of completed registry services (POST /api/v1/services).

Items are independent: each is checked without the database first, then applied in
one database session for the whole batch (on SQLite one thread hop for the batch).
A rejected item changes nothing and does not stop the others; an item whose
(source, id) was applied before is a duplicate and changes nothing either.

The batch normally commits once (see ``unit`` in :func:`ingest_services` for why
that keeps every item all-or-nothing); when anything unexpected fails, it is rolled
back and redone with one transaction per item. Nothing an integrator sends can make
this raise: an unexpected error on one item (a database error included) rejects that
item with a generic message and is logged without personal data.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection, Database
from rtbook.core.ledger.apply import (
    BatchCache,
    Duplicate,
    PendingWrites,
    Rejected,
    apply_service,
)
from rtbook.core.ledger.items import ITEM_FIELD, ParsedItem, parse_item, safe_key
from rtbook.core.validation import FieldIssue, Issues, mask_nik

__all__ = [
    "MAX_BATCH",
    "SUBMITTING_ROLES",
    "ingest_services",
    "may_submit_services",
]

log = logging.getLogger("rtbook.ledger")

MAX_BATCH = 1000
SUBMITTING_ROLES = frozenset({Role.INTEGRATOR, Role.CITY_ADMIN, Role.ADMIN})

_GENERIC_FAILURE = (
    "layanan gagal disimpan karena kesalahan sistem; kirim ulang nanti "
    "(could not be stored because of a system error; send it again later)"
)
_ROLE_REFUSED = "peran Anda tidak boleh mengirim layanan (your role may not submit services)"
_OVER_LIMIT = (
    f"melebihi {MAX_BATCH} layanan per permintaan (more than {MAX_BATCH} services in one request)"
)
_ID_TAKEN = (
    "source dan id ini sudah dipakai layanan lain yang bukan wewenang Anda "
    "(this source and id are already used by a service outside your city)"
)
_PAYLOAD_DIFFERS = (
    "isi layanan berbeda dengan kiriman pertama dengan source dan id yang sama; "
    "kiriman pertama yang berlaku (the payload differs from the first one with this "
    "source and id; the first one stands)"
)
_LONG_DIGITS = re.compile(r"[0-9]{16,}")


def may_submit_services(principal: Principal) -> bool:
    """Whether the caller may post completed services at all (the web layer answers
    403 for the whole request otherwise): integrators and city admins of a city, and
    admins. Each item is then checked against the caller's city."""
    if principal.role is Role.ADMIN:
        return True
    return principal.role in SUBMITTING_ROLES and principal.city_code is not None


def _result(
    echo_id: str | None,
    status: str,
    errors: list[FieldIssue],
    warnings: list[FieldIssue] | list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "id": echo_id,
        "status": status,
        "errors": [e.as_dict() for e in errors],
        "warnings": [w if isinstance(w, dict) else w.as_dict() for w in warnings],
    }


def _scrub(text: str) -> str:
    text = _LONG_DIGITS.sub(lambda m: mask_nik(m.group(0)) or "", text)
    return text if len(text) <= 300 else text[:299] + "…"


def _parse(raw: Any, now: datetime) -> ParsedItem:
    try:
        return parse_item(raw, now=now)
    except Exception as exc:  # a shape parse_item did not foresee: reject, never raise
        log.error("service item could not be checked: %s", type(exc).__name__)
        issues = Issues()
        issues.error(ITEM_FIELD, _GENERIC_FAILURE)
        return ParsedItem(issues)


async def _first(conn: Connection, key: tuple[str, str]) -> Any:
    return await conn.fetchrow(
        "SELECT city_code, payload_hash, warnings FROM service_record"
        " WHERE source = $1 AND external_id = $2",
        key[0],
        key[1],
    )


def _duplicate_answer(principal: Principal, parsed: ParsedItem, first: Any) -> dict[str, Any]:
    """Answer as the first did: its warnings, and a note when this payload differs."""
    if not principal.can_submit_services(first["city_code"]):
        return _result(parsed.echo_id, "rejected", [FieldIssue("id", _ID_TAKEN)], [])
    try:
        warnings = msgspec.json.decode(first["warnings"] or "[]")
    except msgspec.DecodeError:
        warnings = []
    if first["payload_hash"] != parsed.payload_hash:
        warnings.append(FieldIssue("id", _PAYLOAD_DIFFERS).as_dict())
    return _result(parsed.echo_id, "duplicate", [], warnings)


async def _reject(
    conn: Connection, principal: Principal, parsed: ParsedItem, errors: list[FieldIssue]
) -> dict[str, Any]:
    """Rejected, unless the same (source, id) was applied before: then a duplicate
    (a resent death is not "already deceased", it is the same service again)."""
    if parsed.key is not None and may_submit_services(principal):
        first = await _first(conn, parsed.key)
        if first is not None:
            return _duplicate_answer(principal, parsed, first)
    return _result(parsed.echo_id, "rejected", errors, parsed.issues.warnings)


async def _settle(
    conn: Connection,
    principal: Principal,
    parsed: ParsedItem,
    now: datetime,
    cache: BatchCache,
    pending: PendingWrites | None,
) -> dict[str, Any]:
    """The answer for one item, applying it when it is good. With ``pending`` (inside
    a batch transaction) an unexpected error goes out, and the batch is redone."""
    item = parsed.item
    try:
        if item is None:
            return await _reject(conn, principal, parsed, parsed.issues.errors)
        try:
            await apply_service(conn, principal, item, parsed.issues, now, cache, pending)
        except Rejected as refused:
            return await _reject(conn, principal, parsed, [refused.issue])
        except Duplicate:
            first = await _first(conn, parsed.key) if parsed.key else None
            if first is None:  # removed since the conflict: let the sender try again
                return _result(
                    parsed.echo_id, "rejected", [FieldIssue(ITEM_FIELD, _GENERIC_FAILURE)], []
                )
            return _duplicate_answer(principal, parsed, first)
        return _result(parsed.echo_id, "applied", [], parsed.issues.warnings)
    except Exception as exc:
        if pending is not None:
            raise
        source, ext_id = parsed.key or ("?", "?")
        log.error(
            "service %s/%s (%s) could not be applied: %s: %s",
            safe_key(source),
            safe_key(ext_id),
            item.type if item else "?",
            type(exc).__name__,
            _scrub(str(exc)),
        )
        return _result(
            parsed.echo_id,
            "rejected",
            [FieldIssue(ITEM_FIELD, _GENERIC_FAILURE)],
            parsed.issues.warnings,
        )


async def ingest_services(
    db: Database, principal: Principal, items: list[Any], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Apply a batch of completed services; one result per item in the order sent:
    {"id": <item id or None>, "status": "applied"|"duplicate"|"rejected",
     "errors": [{"field","message"}], "warnings": [{"field","message"}]}"""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    batch = list(items) if isinstance(items, list | tuple) else []

    allowed = may_submit_services(principal)
    parsed: list[ParsedItem] = []
    for index, raw in enumerate(batch):
        one = _parse(raw, now)
        if not allowed:
            one.item = None
            one.issues.error(ITEM_FIELD, _ROLE_REFUSED)
        elif index >= MAX_BATCH:
            one.item = None
            one.issues.error(ITEM_FIELD, _OVER_LIMIT)
        parsed.append(one)
    if not parsed:
        return []

    async def settle_all(conn: Connection, pending: PendingWrites | None) -> list[dict[str, Any]]:
        cache = BatchCache()
        return [await _settle(conn, principal, one, now, cache, pending) for one in parsed]

    async def unit(conn: Connection) -> list[dict[str, Any]]:
        # The batch is one transaction: a commit costs more than all of one item's
        # statements (a WAL append on SQLite, a WAL flush on PostgreSQL). Items stay
        # all-or-nothing, as every refusal comes before an item's first write; the rows
        # no later item reads (documents, history, feed events) are written together at
        # the end, so the city's feed sequence is locked only for the flush and the
        # commit. Should anything unexpected fail (a deadlock with a concurrent batch,
        # the commit itself), the whole batch is rolled back and done again with one
        # transaction per item, so that the failure costs only its own item.
        try:
            async with conn.transaction():
                pending = PendingWrites()
                results = await settle_all(conn, pending)
                await pending.flush(conn, now)
                return results
        except Exception as exc:
            log.warning(
                "services batch redone item by item after %s: %s",
                type(exc).__name__,
                _scrub(str(exc)),
            )
        return await settle_all(conn, None)

    return await db.session(unit)
