"""GET /api/v1/dead-letters and POST /api/v1/dead-letters/{id}/replay.

Failed deliveries of feed events to plugins (see docs/worker.md). Readers: the
city's city_admin (their city only) and admin; anyone else 403. An unknown city or
id answers 404, another city's 403.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from litestar import Controller, get, post
from litestar.params import Parameter

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.db.base import Unit
from rtbook.core.dispatch.failures import (
    DEAD,
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    LIST_STATUSES,
    DeadLetter,
    DeadLetterPage,
    NotReplayable,
    check_city_access,
    list_dead_letters,
    replay_dead_letter,
)
from rtbook.core.errors import NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import ApiError, error_responses, error_spec
from rtbook.web.params import choice_query, int_param, int_query, text_query

_ID_MAX = 2**62


async def _city_exists(conn: Connection, city: str) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM city WHERE code = $1", city))


def _list_unit(
    principal: Principal,
    city: str | None,
    plugin: str | None,
    status: str,
    after: int | None,
    limit: int,
) -> Unit[DeadLetterPage]:
    # The role is checked before anything is read; then an unknown city is 404, and
    # a city_admin naming another city 403.
    scope = check_city_access(principal, None)

    async def unit(conn: Connection) -> DeadLetterPage:
        if city is not None and not await _city_exists(conn, city):
            raise NotFound(f"kota {city[:20]} tidak ada (no such city)")
        visible = check_city_access(principal, city) if city is not None else scope
        return await list_dead_letters(
            conn, city=visible, plugin=plugin, status=status, after=after, limit=limit
        )

    return unit


class DeadLettersController(Controller):
    path = "/dead-letters"
    tags: ClassVar[list[str]] = ["plugin: kiriman gagal (dead letters)"]

    @get(
        "/",
        summary="Kiriman gagal ke plugin (failed plugin deliveries)",
        description=(
            "Panggilan hook `rtbook_service_completed` yang gagal, urut id. `status`: "
            "`dead` (bawaan: gagal di percobaan terakhir), `retrying`, `done`, `all`. "
            "city_admin hanya melihat kotanya. (Failed hook calls in id order; a city "
            "admin sees their own city; pass `next_after` back as `after`.)"
        ),
        responses=error_responses(400, 401, 403, 404),
    )
    async def list_failures(
        self,
        db: DB,
        principal: Caller,
        city: Annotated[str | None, text_query("Kode kota (city code), mis. 64.71")] = None,
        plugin: Annotated[str | None, text_query("Nama plugin (plugin name)")] = None,
        status: Annotated[
            str | None, choice_query("Status (bawaan/default: dead)", LIST_STATUSES)
        ] = None,
        after: Annotated[
            str | None,
            int_query(
                "Id terakhir halaman sebelumnya (last id read)",
                default=0,
                minimum=0,
                maximum=_ID_MAX,
            ),
        ] = None,
        limit: Annotated[
            str | None,
            int_query(
                "Jumlah per halaman (page size)",
                default=LIST_LIMIT_DEFAULT,
                minimum=1,
                maximum=LIST_LIMIT_MAX,
            ),
        ] = None,
    ) -> DeadLetterPage:
        chosen = status or DEAD
        if chosen not in LIST_STATUSES:
            choices = ", ".join(LIST_STATUSES)
            raise InvalidQuery(
                "status", f"harus salah satu dari {choices} (must be one of {choices})"
            )
        start = int_param(after, "after", default=0, minimum=0, maximum=_ID_MAX)
        size = int_param(
            limit, "limit", default=LIST_LIMIT_DEFAULT, minimum=1, maximum=LIST_LIMIT_MAX
        )
        unit = _list_unit(principal, city or None, plugin or None, chosen, start or None, size)
        return await db.read(unit)

    @post(
        "/{failure_id:str}/replay",
        status_code=200,
        summary="Kirim ulang (replay a failed delivery)",
        description=(
            "Menjadikan kiriman gagal (`dead` atau `retrying`) jatuh tempo sekarang dengan "
            "`attempts` kembali 0; worker memanggil hook-nya lagi di putaran berikutnya. "
            "409 bila sudah terkirim (`done`). (Makes it due now with attempts reset to 0; "
            "the worker calls the hook at its next poll.)"
        ),
        responses={
            **error_responses(401, 403, 404),
            409: error_spec("Sudah terkirim oleh percobaan ulang (already delivered by a retry)"),
        },
    )
    async def replay(
        self,
        db: DB,
        principal: Caller,
        failure_id: Annotated[str, Parameter(description="Id kiriman gagal (dead letter id)")],
    ) -> DeadLetter:
        check_city_access(principal, None)  # role first: 403 before any lookup
        text = failure_id.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise NotFound(f"kiriman gagal {failure_id[:40]} tidak ada (no such dead letter)")
        try:
            return await db.write(
                lambda conn: replay_dead_letter(conn, int(text), datetime.now(UTC), principal)
            )
        except NotReplayable as exc:
            raise ApiError(409, str(exc)) from None
