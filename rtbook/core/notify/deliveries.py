"""Delivery rows: planning (idempotent inserts), claiming, settling, listing, retrying.

Statuses: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed by a worker
until ``next_attempt_at``, its lease), ``sent``, ``failed`` (due again at
``next_attempt_at``), ``dead`` (the last attempt failed). A claim is a conditional
UPDATE, so two workers never send the same delivery at once, and a ``sent`` row is
never claimed again. A worker that dies while sending leaves a ``sending`` row whose
lease runs out; it is then due again (the send may have reached the provider: such a
crash is the only way a message can arrive twice). ``result`` holds the last
attempt's per-target results (JSON, addresses masked).

All functions are units of work (they await only their connection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from rtbook.core.auth import Principal
from rtbook.core.db import Connection, Row
from rtbook.core.db.paging import Filters, page_by_id
from rtbook.core.dispatch.failures import check_city_access
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.notify.channels import TargetOutcome
from rtbook.core.notify.masking import hide_address, mask_address

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
DEAD = "dead"
DUE_STATUSES = (PENDING, FAILED, SENDING)
LIST_STATUSES = (PENDING, SENT, FAILED, DEAD)

LIST_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 1000


class NotRetryable(RtbookError):
    """The delivery was accepted by the provider: it is never sent again."""


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    event_id: str
    city_code: str
    seq: int
    user_id: int
    channel: str
    address: str
    subject: str | None
    body: str
    language: str
    due_at: datetime


SUBJECT_MAX = 255  # the column's length

INSERT_DELIVERY = (
    "INSERT INTO delivery (event_id, city_code, seq, user_id, channel, address,"
    " status, attempts, next_attempt_at, subject, body, language, created_at,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $12)"
    " ON CONFLICT (event_id, user_id, channel) DO NOTHING"
)
"""One planned delivery; one already there (a replayed event, a notice planned again)
stays as it is."""


def delivery_row(p: PlannedDelivery, status: str, now: datetime) -> tuple[object, ...]:
    """The parameters of :data:`INSERT_DELIVERY`: a ``pending`` row is due at
    ``p.due_at``, any other (``digested``) is never due on its own."""
    return (
        p.event_id,
        p.city_code,
        p.seq,
        p.user_id,
        p.channel,
        p.address,
        status,
        p.due_at if status == PENDING else None,
        None if p.subject is None else p.subject[:SUBJECT_MAX],
        p.body,
        p.language,
        now,
    )


async def insert_deliveries(
    conn: Connection, planned: Sequence[PlannedDelivery], now: datetime
) -> None:
    """Insert planned deliveries (pending) in bulk."""
    if planned:
        await conn.executemany(INSERT_DELIVERY, [delivery_row(p, PENDING, now) for p in planned])


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: int
    city_code: str
    channel: str
    address: str
    subject: str | None
    body: str
    attempts: int
    status: str
    event_id: str = ""  # the feed event id, plugin notice key or digest key


async def due_deliveries(conn: Connection, now: datetime, limit: int) -> list[DueDelivery]:
    rows = await conn.fetch(
        "SELECT id, city_code, channel, address, subject, body, attempts, status, event_id"
        " FROM delivery WHERE status IN ($1, $2, $3) AND next_attempt_at <= $4"
        " ORDER BY next_attempt_at, id LIMIT $5",
        *DUE_STATUSES,
        now,
        limit,
    )
    return [
        DueDelivery(
            int(r["id"]),
            r["city_code"],
            r["channel"],
            r["address"],
            r["subject"],
            r["body"],
            int(r["attempts"]),
            r["status"],
            r["event_id"],
        )
        for r in rows
    ]


async def claim_delivery(
    conn: Connection, due: DueDelivery, now: datetime, lease_until: datetime
) -> bool:
    """Take ``due`` for sending (attempts + 1); False when another worker took it or it
    changed since it was read."""
    changed = await conn.execute(
        "UPDATE delivery SET status = $1, attempts = attempts + 1, next_attempt_at = $2,"
        " updated_at = $3 WHERE id = $4 AND status = $5 AND attempts = $6"
        " AND next_attempt_at <= $3",
        SENDING,
        lease_until,
        now,
        due.id,
        due.status,
        due.attempts,
    )
    return changed > 0


async def claim_deliveries(
    conn: Connection, ids: Sequence[int], now: datetime, lease_until: datetime
) -> dict[int, int]:
    """Take for sending, in one statement, those of ``ids`` that are still due (a
    ``sending`` one only once its lease ran out); id -> attempts after the claim.

    One conditional UPDATE: a delivery another worker claimed in between is no longer
    due, so it is left out. On PostgreSQL the rows are locked with ``FOR UPDATE SKIP
    LOCKED`` first: two workers claiming overlapping batches neither wait for nor
    deadlock on each other (SQLite has a single writer)."""
    if not ids:
        return {}
    marks = ", ".join(f"${i}" for i in range(7, 7 + len(ids)))
    due = f"id IN ({marks}) AND status IN ($4, $5, $6) AND next_attempt_at <= $3"
    if conn.dialect == "postgres":
        due = f"id IN (SELECT id FROM delivery WHERE {due} ORDER BY id FOR UPDATE SKIP LOCKED)"
    rows = await conn.fetch(
        "UPDATE delivery SET status = $1, attempts = attempts + 1, next_attempt_at = $2,"
        f" updated_at = $3 WHERE {due} RETURNING id, attempts",
        SENDING,
        lease_until,
        now,
        *DUE_STATUSES,
        *ids,
    )
    return {int(r["id"]): int(r["attempts"]) for r in rows}


async def postpone_deliveries(
    conn: Connection, ids: Sequence[int], now: datetime, until: datetime
) -> int:
    """Make those of ``ids`` that are still due wait until ``until`` (their channel's
    plugin is off in their city), attempts unchanged: they do not hold up the
    deliveries behind them. How many were postponed."""
    if not ids:
        return 0
    marks = ", ".join(f"${i}" for i in range(6, 6 + len(ids)))
    return await conn.execute(
        "UPDATE delivery SET next_attempt_at = $1, updated_at = $2"
        f" WHERE id IN ({marks}) AND status IN ($3, $4, $5) AND next_attempt_at <= $2",
        until,
        now,
        *DUE_STATUSES,
        *ids,
    )


async def settle_delivery(
    conn: Connection,
    delivery_id: int,
    attempts: int,
    *,
    provider_message_id: str | None,
    error: str | None,
    next_attempt_at: datetime | None,
    now: datetime,
    result: str | None = None,
) -> bool:
    """Record a send: accepted (``error`` None) -> sent; refused -> failed, due at
    ``next_attempt_at``, or dead when that is None. Only for the claim made with
    ``attempts`` (the count after the claim). ``result``: the attempt's per-target
    results as JSON (:func:`results_json`), or None."""
    if error is None:
        changed = await conn.execute(
            "UPDATE delivery SET status = $1, provider_message_id = $2, sent_at = $3,"
            " updated_at = $3, next_attempt_at = NULL, last_error = NULL, result = $7"
            " WHERE id = $4 AND status = $5 AND attempts = $6",
            SENT,
            provider_message_id,
            now,
            delivery_id,
            SENDING,
            attempts,
            result,
        )
    else:
        changed = await conn.execute(
            "UPDATE delivery SET status = $1, last_error = $2, next_attempt_at = $3,"
            " updated_at = $4, result = $8 WHERE id = $5 AND status = $6 AND attempts = $7",
            DEAD if next_attempt_at is None else FAILED,
            error,
            next_attempt_at,
            now,
            delivery_id,
            SENDING,
            attempts,
            result,
        )
    return changed > 0


def results_json(results: Sequence[TargetOutcome]) -> str | None:
    """Per-target results as stored in ``delivery.result`` (None when there are none)."""
    return msgspec.json.encode(list(results)).decode() if results else None


def read_results(text: str | None, address: str | None) -> list[TargetOutcome] | None:
    """``delivery.result`` as a list, the address masked once more (None when empty or
    unreadable)."""
    if not text:
        return None
    try:
        results = msgspec.json.decode(text, type=list[TargetOutcome])
    except msgspec.DecodeError:
        return None
    return [r.cleaned(lambda t: hide_address(t, address)) for r in results]


# -- the admins' side -------------------------------------------------------------------


class DeliveryView(msgspec.Struct):
    """A delivery as admins see it (API and CLI): no message text, a masked address."""

    id: int
    event_id: str
    city: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    provider_message_id: str | None = None
    # the last attempt's per-target results (Apprise 2.x), addresses masked
    results: list[TargetOutcome] | None = None


class DeliveryPage(msgspec.Struct):
    items: list[DeliveryView]
    next_after: int | None


_COLUMNS = (
    "id, event_id, city_code, channel, address, status, attempts, last_error,"
    " next_attempt_at, sent_at, created_at, provider_message_id, result"
)


def _view(row: Row) -> DeliveryView:
    status = row["status"]
    return DeliveryView(
        id=int(row["id"]),
        event_id=row["event_id"],
        city=row["city_code"],
        channel=row["channel"],
        recipient=mask_address(row["address"]),
        status=PENDING if status == SENDING else status,
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
        sent_at=row["sent_at"],
        created_at=row["created_at"],
        provider_message_id=row["provider_message_id"],
        results=read_results(row["result"], row["address"]),
    )


async def list_deliveries(
    conn: Connection,
    *,
    city: str | None = None,
    status: str | None = None,
    after: int | None = None,
    limit: int = LIST_LIMIT_DEFAULT,
) -> DeliveryPage:
    """Deliveries in id order; ``status`` one of pending, sent, failed, dead (None: all)."""
    if status is not None and status not in LIST_STATUSES:
        raise RtbookError(
            f"status harus salah satu dari {', '.join(LIST_STATUSES)} "
            f"(status must be one of {', '.join(LIST_STATUSES)})"
        )
    if isinstance(limit, bool) or not 1 <= limit <= LIST_LIMIT_MAX:
        raise RtbookError(
            f"limit harus 1 sampai {LIST_LIMIT_MAX} (limit must be 1..{LIST_LIMIT_MAX})"
        )
    filters = Filters()
    if city is not None:
        filters.add("city_code = {}", city)
    if status == PENDING:
        filters.add("status IN ({}, {})", PENDING, SENDING)
    elif status is not None:
        filters.add("status = {}", status)
    rows, next_after = await page_by_id(conn, _COLUMNS, "delivery", filters, after, limit)
    return DeliveryPage([_view(r) for r in rows], next_after)


async def get_delivery(conn: Connection, delivery_id: int) -> DeliveryView | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM delivery WHERE id = $1", delivery_id)
    return None if row is None else _view(row)


async def retry_delivery(
    conn: Connection, delivery_id: int, now: datetime, principal: Principal | None = None
) -> DeliveryView:
    """Make a failed or dead delivery due now with ``attempts`` reset to 0.

    NotFound for an unknown id, Forbidden outside the caller's city (``principal``
    None: the CLI), NotRetryable for a sent one. A pending one stays as it is."""
    row = await conn.fetchrow("SELECT city_code, status FROM delivery WHERE id = $1", delivery_id)
    if row is None:
        raise NotFound(f"pengiriman {delivery_id} tidak ada (no delivery {delivery_id})")
    if principal is not None and not principal.can_manage_city(row["city_code"]):
        raise Forbidden("hanya untuk admin kota itu (only for that city's admin)")
    if row["status"] == SENT:
        raise NotRetryable(
            f"pengiriman {delivery_id} sudah terkirim, tidak dikirim ulang "
            f"(delivery {delivery_id} was sent: it is never sent again)"
        )
    if row["status"] in (FAILED, DEAD):
        await conn.execute(
            "UPDATE delivery SET status = $1, attempts = 0, next_attempt_at = $2,"
            " updated_at = $2 WHERE id = $3 AND status IN ($4, $5)",
            FAILED,
            now,
            delivery_id,
            FAILED,
            DEAD,
        )
    view = await get_delivery(conn, delivery_id)
    assert view is not None
    return view


__all__ = [
    "DEAD",
    "FAILED",
    "PENDING",
    "SENDING",
    "SENT",
    "DeliveryPage",
    "DeliveryView",
    "DueDelivery",
    "NotRetryable",
    "PlannedDelivery",
    "check_city_access",
    "claim_deliveries",
    "claim_delivery",
    "due_deliveries",
    "get_delivery",
    "hide_address",
    "insert_deliveries",
    "list_deliveries",
    "mask_address",
    "postpone_deliveries",
    "read_results",
    "results_json",
    "retry_delivery",
    "settle_delivery",
]
