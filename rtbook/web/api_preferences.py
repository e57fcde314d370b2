"""GET and PUT /api/v1/me/notification-preferences: the caller's own notification
preferences (docs/notifications.md, Preferences).

Any authenticated user with a WhatsApp number or an e-mail address (others get no
notifications: 403). PUT names the fields it changes; a change that is not valid is
refused whole with 422 and every problem in ``details``, and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from litestar import Controller, Request, get, put
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from rtbook.core.db import Connection
from rtbook.core.ledger.effects import SERVICE_TYPES
from rtbook.core.notify.preferences import (
    CHANNELS,
    LANGUAGES,
    InvalidPreferences,
    Preferences,
    parse_input,
    read_preferences,
    require_address,
    save_preferences,
)
from rtbook.web.body import decode_json_body
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import ApiError, ErrorDetail, error_responses, error_spec


def _list_of(description: str, choices: tuple[str, ...]) -> Schema:
    return Schema(
        one_of=[
            Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(type=OpenAPIType.STRING, enum=list(choices)),
            ),
            Schema(type=OpenAPIType.NULL),
        ],
        description=description,
    )


def _hhmm(description: str) -> Schema:
    return Schema(
        one_of=[
            Schema(type=OpenAPIType.STRING, pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$"),
            Schema(type=OpenAPIType.NULL),
        ],
        description=description,
    )


PREFERENCES_REQUEST_BODY = RequestBody(
    required=True,
    description=(
        "Hanya kolom yang dikirim yang berubah (only the fields sent change). "
        "null untuk channels/service_types: semua (all); quiet_start dan quiet_end null: "
        "tanpa jam tenang (no quiet hours)."
    ),
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                title="NotificationPreferencesChange",
                additional_properties=False,
                properties={
                    "channels": _list_of("Saluran (channels)", CHANNELS),
                    "service_types": _list_of("Jenis layanan (service types)", SERVICE_TYPES),
                    "quiet_start": _hhmm("Awal jam tenang, waktu kota (quiet hours start)"),
                    "quiet_end": _hhmm("Akhir jam tenang, waktu kota (quiet hours end)"),
                    "daily_digest": Schema(
                        type=OpenAPIType.BOOLEAN,
                        description="Satu ringkasan sehari (one digest a day, 07:00)",
                    ),
                    "language": Schema(type=OpenAPIType.STRING, enum=list(LANGUAGES)),
                },
            )
        )
    },
)


@dataclass
class PreferencesOperation(Operation):
    """The operation with its request body documented (the handler reads the raw body)."""

    def __post_init__(self) -> None:
        self.request_body = PREFERENCES_REQUEST_BODY


def _refused(exc: InvalidPreferences) -> ApiError:
    return ApiError(
        422,
        "preferensi tidak sah, tidak ada yang diubah (invalid preferences, nothing changed)",
        [ErrorDetail(d.field, d.message) for d in exc.details],
    )


class MyPreferencesController(Controller):
    path = "/me/notification-preferences"
    tags: ClassVar[list[str]] = ["pemberitahuan (notifications)"]

    @get(
        "/",
        summary="Preferensi pemberitahuan saya (my notification preferences)",
        description=(
            "Saluran, jenis layanan, jam tenang, ringkasan harian dan bahasa yang berlaku, "
            "serta alamat (disamarkan). 403 untuk pengguna tanpa WhatsApp atau email. "
            "(The preferences in effect and the caller's masked addresses.)"
        ),
        responses=error_responses(401, 403),
    )
    async def show(self, db: DB, principal: Caller) -> Preferences:
        async def unit(conn: Connection) -> Preferences:
            await require_address(conn, principal.user_id)
            return await read_preferences(conn, principal.user_id)

        return await db.read(unit)

    @put(
        "/",
        status_code=200,
        operation_class=PreferencesOperation,
        summary="Ubah preferensi pemberitahuan saya (change my notification preferences)",
        description=(
            "Hanya kolom yang dikirim yang berubah. 422 dengan rincian per kolom bila tidak "
            "sah; tidak ada yang disimpan. (Only the fields sent change; 422 with details "
            "per field when invalid, nothing stored.)"
        ),
        responses={
            **error_responses(400, 401, 403),
            422: error_spec("Preferensi tidak sah (invalid preferences), rincian per kolom"),
        },
    )
    async def update(
        self, request: Request[Any, Any, Any], db: DB, principal: Caller
    ) -> Preferences:
        raw = decode_json_body(await request.body())
        try:
            change = parse_input(raw)
        except InvalidPreferences as exc:
            raise _refused(exc) from None

        async def unit(conn: Connection) -> Preferences:
            await require_address(conn, principal.user_id)
            return await save_preferences(conn, principal.user_id, change, datetime.now(UTC))

        try:
            return await db.write(unit)
        except InvalidPreferences as exc:
            raise _refused(exc) from None
