"""POST /api/v1/services: completed registry services, in batches of 1..1000.

The body is decoded here with msgspec into a struct whose ``services`` is a list of
raw values, so one bad item is that item's rejection (ingest checks it) and not a
failure of the whole batch. A body that is not this shape at all answers 400 (not
JSON) or 422 (wrong shape, 0 or more than 1000 items) and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
from litestar import Controller, Request, post
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)

from rtbook.core.ledger.effects import SERVICE_TYPES
from rtbook.core.ledger.ingest import MAX_BATCH, ingest_services, may_submit_services
from rtbook.web.auth import require
from rtbook.web.body import not_json
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import ApiError, ErrorDetail, error_responses

MAX_ITEMS = MAX_BATCH  # 1000
# 1000 full items (a birth with a whole resident record is ~1 KiB) fit with room.
MAX_BODY_BYTES = 4 * 1024 * 1024

ROLE_REFUSED = (
    "hanya integrator, city_admin atau admin yang boleh mengirim layanan "
    "(only integrator, city_admin or admin may submit services)"
)


class ServicesBody(msgspec.Struct):
    services: list[Any]


class Issue(msgspec.Struct):
    field: str
    message: str


class ServiceResult(msgspec.Struct):
    id: Any  # the item's id as sent (null when it had none)
    status: str  # applied | duplicate | rejected
    errors: list[Issue] = msgspec.field(default_factory=list)
    warnings: list[Issue] = msgspec.field(default_factory=list)


class ServicesAnswer(msgspec.Struct):
    results: list[ServiceResult]


def _text(description: str, **extra: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, **extra)


SERVICE_ITEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="ServiceItem",
    required=["source", "id", "type", "completed_at", "nik"],
    properties={
        "source": _text("Sistem pengirim (sending system), mis. siak-6471"),
        "id": _text("Unik dalam `source`; pasangan keduanya = kunci idempoten"),
        "type": _text("Jenis layanan (service type)", enum=list(SERVICE_TYPES)),
        "completed_at": _text("RFC 3339 dengan offset", format="date-time"),  # type: ignore[arg-type]
        "nik": _text("NIK penduduk (16 digit); untuk kelahiran: NIK anak", pattern="^[0-9]{16}$"),
        "rt": _text(
            "Kode RT tempat tinggal setelah layanan (wajib untuk akta_kelahiran, "
            "pindah_datang, pindah_dalam)"
        ),
        "document_number": _text("Nomor dokumen (opsional)"),
        "data": Schema(
            type=OpenAPIType.OBJECT,
            description="Isi per jenis layanan, lihat CONTRACT.md (per type, see the contract)",
        ),
    },
)

SERVICES_REQUEST_BODY = RequestBody(
    required=True,
    description="Layanan Dukcapil yang selesai, 1..1000 per permintaan",
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["services"],
                properties={
                    "services": Schema(
                        type=OpenAPIType.ARRAY,
                        items=SERVICE_ITEM_SCHEMA,
                        min_items=1,
                        max_items=MAX_ITEMS,
                    )
                },
            )
        )
    },
)


@dataclass
class ServicesOperation(Operation):
    """The operation with its request body documented (the handler reads the raw body)."""

    def __post_init__(self) -> None:
        self.request_body = SERVICES_REQUEST_BODY


def decode_services(body: bytes) -> list[Any]:
    """The raw items of a services body; ApiError 400/422 when it is not that shape."""
    try:
        decoded = msgspec.json.decode(body, type=ServicesBody)
    except msgspec.ValidationError as exc:
        raise ApiError(
            422,
            'isi harus objek {"services": [...]} (body must be {"services": [...]})',
            [ErrorDetail("services", f"bentuk salah ({exc})")],
        ) from None
    except (ValueError, RecursionError):  # malformed JSON, bad UTF-8, nested too deep
        raise not_json() from None
    count = len(decoded.services)
    if not 1 <= count <= MAX_ITEMS:
        raise ApiError(
            422,
            f"jumlah layanan harus 1 sampai {MAX_ITEMS} (1..{MAX_ITEMS} services per request)",
            [ErrorDetail("services", f"berisi {count} item (has {count} items)")],
        )
    return decoded.services


class ServicesController(Controller):
    path = "/services"
    tags: ClassVar[list[str]] = ["layanan (services)"]

    @post(
        "/",
        status_code=200,
        guards=[require(may_submit_services, ROLE_REFUSED)],
        request_max_body_size=MAX_BODY_BYTES,
        operation_class=ServicesOperation,
        summary="Kirim layanan yang selesai (submit completed services)",
        description=(
            "Setiap item berdiri sendiri: ditolak (rejected) tidak mengubah apa pun, "
            "duplikat (source + id sama) menjawab seperti yang pertama. Hasil urut sesuai "
            "kiriman. (Items are independent; results in the order sent.)"
        ),
        responses=error_responses(400, 401, 403, 413, 422),
    )
    async def submit(
        self, request: Request[Any, Any, Any], db: DB, principal: Caller
    ) -> ServicesAnswer:
        items = decode_services(await request.body())
        results = await ingest_services(db, principal, items)
        return ServicesAnswer(results=msgspec.convert(results, list[ServiceResult]))
