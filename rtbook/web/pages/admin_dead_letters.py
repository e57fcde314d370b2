"""/admin/dead-letters: feed events a plugin failed to take (rtbook.core.dispatch
.failures, like GET /api/v1/dead-letters), by status (default dead), with replay
(POST, like POST /api/v1/dead-letters/{id}/replay)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from rtbook.core.db import Connection
from rtbook.core.dispatch.failures import (
    DEAD,
    DONE,
    LIST_STATUSES,
    DeadLetter,
    NotReplayable,
    check_city_access,
    list_dead_letters,
    replay_dead_letter,
)
from rtbook.web.pages.admin_common import ADMIN_ROUTE, AdminPage
from rtbook.web.pages.admin_queue import PAGE_SIZE, queue_list, retry_row

TITLE = "Kejadian gagal (dead letters)"
LABELS = {
    DEAD: "Mati (dead)",
    "retrying": "Dicoba lagi (retrying)",
    DONE: "Terkirim ulang (done)",
    "all": "Semua (all)",
}


async def _read(
    conn: Connection, page: AdminPage, chosen: str, after: int | None
) -> tuple[list[DeadLetter], int | None]:
    city = check_city_access(page.principal, page.city)
    found = await list_dead_letters(conn, city=city, status=chosen, after=after, limit=PAGE_SIZE)
    return found.items, found.next_after


@get("/admin/dead-letters", cache_control=None, **ADMIN_ROUTE)
async def dead_letter_list(request: Request[Any, Any, Any]) -> Response[str]:
    return await queue_list(
        request,
        path="/admin/dead-letters",
        template="pages/admin_dead_letters.html",
        title=TITLE,
        filters=[(s, LABELS[s]) for s in LIST_STATUSES],
        default=DEAD,
        read=_read,
        notice=lambda done: f"Kejadian {done} dikirim ulang ke plugin (replayed)",
    )


@post("/admin/dead-letters/{failure_id:str}/replay", status_code=303, **ADMIN_ROUTE)
async def dead_letter_replay(
    request: Request[Any, Any, Any], failure_id: FromPath[str]
) -> Response[str]:
    return await retry_row(
        request,
        failure_id,
        path="/admin/dead-letters",
        missing="kiriman gagal tidak ada (no such dead letter)",
        refused=NotReplayable,
        retry=replay_dead_letter,
    )


ADMIN_DEAD_LETTER_HANDLERS = (dead_letter_list, dead_letter_replay)
