"""GET /api/v1/rts/{rt}/residents | households | events: an RT's book and feed.

Readers: the RT's heads, the city's city_admin, admin (checked in the read itself,
see rtbook.core.ledger.reads); anyone else 403, an unknown RT 404. Each read served
writes its audit row in the same unit of work (rtbook.core.audit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, ClassVar

import msgspec
from litestar import Controller, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from rtbook.core import audit
from rtbook.core.db import Connection
from rtbook.core.ledger import reads
from rtbook.core.validation import RESIDENT_STATUS
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import error_responses
from rtbook.web.params import choice_query, int_param, int_query, text_query

RT_PATH = Parameter(
    description="Kode RT (RT code), mis. 64.71.06.1005-003-005",
    examples=None,
)

READ_ERRORS = error_responses(400, 401, 403, 404)


def _city_of(rt: str) -> Callable[[Connection], Awaitable[str | None]]:
    """The audit row's scope: the RT's city (the read has just found the RT)."""

    async def scope(conn: Connection) -> str | None:
        return await reads.rt_city(conn, rt)

    return scope


# The shape of a feed event, for the OpenAPI document. The handler serves what
# rtbook.core.ledger.feed.cloud_event builds; tests check the two agree.
class EventResident(msgspec.Struct):
    name: str
    nik_masked: str  # only the last 4 digits


class CloudEventData(msgspec.Struct):
    service_type: str
    service_id: str
    effect: str
    resident: EventResident
    summary: str


class CloudEvent(msgspec.Struct):
    """A CloudEvents 1.0 object (``type`` rtbook.service.completed)."""

    specversion: str
    id: str
    source: str
    type: str
    time: str
    subject: str  # the RT code
    sequence: str  # decimal, increasing within the city's feed
    datacontenttype: str
    data: CloudEventData


class EventsFeed(msgspec.Struct):
    items: list[CloudEvent]
    next_after: str


EVENTS_RESPONSES = {
    200: ResponseSpec(
        data_container=EventsFeed,
        description="Peristiwa dan `next_after` (events and the next `after`)",
        generate_examples=False,
    ),
    **READ_ERRORS,
}


class RTLedgerController(Controller):
    path = "/rts/{rt:str}"
    tags: ClassVar[list[str]] = ["buku induk RT (ledger)"]

    @get(
        "/residents",
        summary="Penduduk satu RT (residents of an RT)",
        description=(
            "Halaman penduduk urut nama lalu NIK. `q` berisi angka saja mencari bagian NIK, "
            "selain itu bagian nama (tanpa beda huruf besar/kecil). `next_cursor` dikirim "
            "kembali sebagai `cursor` untuk halaman berikutnya; null di halaman terakhir. "
            "(Residents in name, NIK order; digits in `q` match part of the NIK, other text "
            "part of the name, case-insensitive; pass `next_cursor` back as `cursor`.)"
        ),
        responses=READ_ERRORS,
    )
    async def residents(
        self,
        db: DB,
        principal: Caller,
        rt: Annotated[str, RT_PATH],
        status: Annotated[
            str | None,
            choice_query("Saring status (filter by status); kosong = semua", RESIDENT_STATUS),
        ] = None,
        q: Annotated[
            str | None,
            text_query(
                "Cari nama atau bagian NIK (search name or part of the NIK)",
                max_length=reads.QUERY_MAX_LEN,
            ),
        ] = None,
        cursor: Annotated[
            str | None, text_query("Dari `next_cursor` halaman sebelumnya (from the previous page)")
        ] = None,
        limit: Annotated[
            str | None,
            int_query(
                "Jumlah per halaman (page size)",
                default=reads.RESIDENTS_LIMIT_DEFAULT,
                minimum=1,
                maximum=reads.RESIDENTS_LIMIT_MAX,
            ),
        ] = None,
    ) -> reads.ResidentsPage:
        size = int_param(
            limit,
            "limit",
            default=reads.RESIDENTS_LIMIT_DEFAULT,
            minimum=1,
            maximum=reads.RESIDENTS_LIMIT_MAX,
        )
        unit = reads.residents_page(
            principal, rt, status=status or None, q=q or None, cursor=cursor or None, limit=size
        )
        filters = {
            "status": status or None,
            "q": audit.mask_search(q or None),
            "page": "next" if cursor else "first",
        }
        return await db.write(
            audit.recorded(
                unit,
                principal,
                "residents.list",
                rt,
                _city_of(rt),
                lambda page: {"rows": len(page.items), **filters},
            )
        )

    @get(
        "/households",
        summary="Keluarga (KK) satu RT (households of an RT)",
        description=(
            "KK yang tercatat di RT ini dengan anggota aktifnya, kepala keluarga lebih dulu "
            "lalu urut tanggal lahir; KK tanpa anggota aktif tidak ditampilkan. "
            "(Households with their active members, head first then by birth date.)"
        ),
        responses=READ_ERRORS,
    )
    async def households(
        self, db: DB, principal: Caller, rt: Annotated[str, RT_PATH]
    ) -> reads.HouseholdsPage:
        return await db.write(
            audit.recorded(
                reads.households(principal, rt),
                principal,
                "households.list",
                rt,
                _city_of(rt),
                lambda page: {"rows": len(page.items)},
            )
        )

    @get(
        "/events",
        summary="Umpan peristiwa satu RT (the RT's feed)",
        description=(
            "Peristiwa CloudEvents 1.0 dengan `sequence` > `after`, urut sequence. Kirim "
            "`next_after` sebagai `after` untuk melanjutkan. (CloudEvents with sequence > "
            "`after`, in order; pass `next_after` back as `after`.)"
        ),
        responses=EVENTS_RESPONSES,
    )
    async def events(
        self,
        db: DB,
        principal: Caller,
        rt: Annotated[str, RT_PATH],
        after: Annotated[
            str | None,
            int_query(
                "Sequence terakhir yang sudah dibaca (last sequence already read)",
                default=0,
                minimum=0,
                maximum=reads.AFTER_MAX,
            ),
        ] = None,
        limit: Annotated[
            str | None,
            int_query(
                "Jumlah peristiwa maksimal (page size)",
                default=reads.EVENTS_LIMIT_DEFAULT,
                minimum=1,
                maximum=reads.EVENTS_LIMIT_MAX,
            ),
        ] = None,
    ) -> reads.EventsPage:
        start = int_param(after, "after", default=0, minimum=0, maximum=reads.AFTER_MAX)
        size = int_param(
            limit,
            "limit",
            default=reads.EVENTS_LIMIT_DEFAULT,
            minimum=1,
            maximum=reads.EVENTS_LIMIT_MAX,
        )
        return await db.write(
            audit.recorded(
                reads.events_page(principal, rt, after=start, limit=size),
                principal,
                "events.list",
                rt,
                _city_of(rt),
                lambda page: {"rows": len(page.items), "after": start},
            )
        )
