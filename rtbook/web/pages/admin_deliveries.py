"""/admin/pengiriman: the city's notification deliveries (recipients masked, as in
GET /api/v1/deliveries), by status (default: failed and dead), with "send again"
(rtbook.core.notify.deliveries.retry_delivery, like POST .../retry)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from rtbook.core.db import Connection
from rtbook.core.notify.deliveries import (
    DEAD,
    FAILED,
    DeliveryPage,
    DeliveryView,
    NotRetryable,
    check_city_access,
    list_deliveries,
    retry_delivery,
)
from rtbook.web.pages.admin_common import ADMIN_ROUTE, AdminPage
from rtbook.web.pages.admin_queue import PAGE_SIZE, queue_list, retry_row

TITLE = "Pengiriman pesan (deliveries)"
PROBLEMS = "gagal"  # failed + dead: what needs an admin
ALL = "semua"
FILTERS = (
    (PROBLEMS, "Gagal & mati (failed and dead)"),
    ("failed", "Gagal, dicoba lagi (failed)"),
    ("dead", "Mati (dead)"),
    ("pending", "Menunggu (pending)"),
    ("sent", "Terkirim (sent)"),
    (ALL, "Semua (all)"),
)


async def _read(
    conn: Connection, page: AdminPage, chosen: str, after: int | None
) -> tuple[list[DeliveryView], int | None]:
    """One page of the chosen filter. "gagal" reads failed and dead and keeps the
    first PAGE_SIZE by id of the two: exactly the first page of their union."""
    city = check_city_access(page.principal, page.city)
    assert city is not None
    statuses = [FAILED, DEAD] if chosen == PROBLEMS else [None if chosen == ALL else chosen]
    pages: list[DeliveryPage] = [
        await list_deliveries(conn, city=city, status=s, after=after, limit=PAGE_SIZE)
        for s in statuses
    ]
    items = sorted((i for p in pages for i in p.items), key=lambda i: i.id)
    more = len(items) > PAGE_SIZE or any(p.next_after is not None for p in pages)
    items = items[:PAGE_SIZE]
    return items, items[-1].id if more and items else None


@get("/admin/pengiriman", cache_control=None, **ADMIN_ROUTE)
async def delivery_list(request: Request[Any, Any, Any]) -> Response[str]:
    return await queue_list(
        request,
        path="/admin/pengiriman",
        template="pages/admin_deliveries.html",
        title=TITLE,
        filters=FILTERS,
        default=PROBLEMS,
        read=_read,
        notice=lambda done: f"Pengiriman {done} dijadwalkan ulang (scheduled again)",
    )


@post("/admin/pengiriman/{delivery_id:str}/kirim-ulang", status_code=303, **ADMIN_ROUTE)
async def delivery_resend(
    request: Request[Any, Any, Any], delivery_id: FromPath[str]
) -> Response[str]:
    return await retry_row(
        request,
        delivery_id,
        path="/admin/pengiriman",
        missing="pengiriman tidak ada (no such delivery)",
        refused=NotRetryable,
        retry=retry_delivery,
    )


ADMIN_DELIVERY_HANDLERS = (delivery_list, delivery_resend)
