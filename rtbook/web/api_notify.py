"""GET /api/v1/deliveries and POST /api/v1/deliveries/{id}/retry.

Notification deliveries (docs/notifications.md). Readers: the city's city_admin
(their city only) and admin; anyone else 403. Recipients are masked
(``+62812****7890``, ``a***@example.org``); the message text is not shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from litestar import Controller, get, post
from litestar.params import Parameter

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.db.base import Unit
from rtbook.core.errors import NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.notify.deliveries import (
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    LIST_STATUSES,
    DeliveryPage,
    DeliveryView,
    NotRetryable,
    check_city_access,
    list_deliveries,
    retry_delivery,
)
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import ApiError, error_responses, error_spec
from rtbook.web.params import choice_query, int_param, int_query, text_query

_ID_MAX = 2**62


def _list_unit(
    principal: Principal, city: str | None, status: str | None, after: int | None, limit: int
) -> Unit[DeliveryPage]:
    scope = check_city_access(principal, None)  # the role first: 403 before any read

    async def unit(conn: Connection) -> DeliveryPage:
        if city is not None and not await conn.fetchval(
            "SELECT count(*) FROM city WHERE code = $1", city
        ):
            raise NotFound(f"kota {city[:20]} tidak ada (no such city)")
        visible = check_city_access(principal, city) if city is not None else scope
        return await list_deliveries(conn, city=visible, status=status, after=after, limit=limit)

    return unit


class DeliveriesController(Controller):
    path = "/deliveries"
    tags: ClassVar[list[str]] = ["pemberitahuan (notifications)"]

    @get(
        "/",
        summary="Pengiriman pemberitahuan (notification deliveries)",
        description=(
            "Pengiriman pesan ke ketua RT, urut id. `status`: `pending`, `sent`, `failed`, "
            "`dead` (tanpa status: semua). city_admin hanya melihat kotanya. (Deliveries "
            "in id order, recipients masked; pass `next_after` back as `after`.)"
        ),
        responses=error_responses(400, 401, 403, 404),
    )
    async def list_items(
        self,
        db: DB,
        principal: Caller,
        status: Annotated[str | None, choice_query("Status", LIST_STATUSES)] = None,
        city: Annotated[str | None, text_query("Kode kota (city code), mis. 64.71")] = None,
        after: Annotated[
            str | None,
            int_query("Id terakhir (last id read)", default=0, minimum=0, maximum=_ID_MAX),
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
    ) -> DeliveryPage:
        if status and status not in LIST_STATUSES:
            choices = ", ".join(LIST_STATUSES)
            raise InvalidQuery(
                "status", f"harus salah satu dari {choices} (must be one of {choices})"
            )
        start = int_param(after, "after", default=0, minimum=0, maximum=_ID_MAX)
        size = int_param(
            limit, "limit", default=LIST_LIMIT_DEFAULT, minimum=1, maximum=LIST_LIMIT_MAX
        )
        return await db.read(
            _list_unit(principal, city or None, status or None, start or None, size)
        )

    @post(
        "/{delivery_id:str}/retry",
        status_code=200,
        summary="Kirim ulang (resend a delivery)",
        description=(
            "Menjadikan pengiriman `failed` atau `dead` jatuh tempo sekarang dengan "
            "`attempts` kembali 0. 409 bila sudah terkirim (`sent`). (Makes a failed or "
            "dead delivery due now; 409 for a sent one.)"
        ),
        responses={
            **error_responses(401, 403, 404),
            409: error_spec("Sudah terkirim (already sent)"),
        },
    )
    async def retry(
        self,
        db: DB,
        principal: Caller,
        delivery_id: Annotated[str, Parameter(description="Id pengiriman (delivery id)")],
    ) -> DeliveryView:
        check_city_access(principal, None)
        text = delivery_id.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise NotFound(f"pengiriman {delivery_id[:40]} tidak ada (no such delivery)")
        try:
            return await db.write(
                lambda conn: retry_delivery(conn, int(text), datetime.now(UTC), principal)
            )
        except NotRetryable as exc:
            raise ApiError(409, str(exc)) from None
