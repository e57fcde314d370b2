"""Privacy and account routes (docs/privacy.md):

- ``GET /api/v1/residents/{nik}/access-report``: everything held on one NIK and its
  processing history (city_admin of the resident's city, admin; audited);
- ``POST /api/v1/users/{username}/password``: a password reset by a city admin (users
  of their city) or admin; the body's ``password``, or one generated and returned once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter

from rtbook.core.auth import Role
from rtbook.core.db import Connection
from rtbook.core.errors import RtbookError
from rtbook.core.passwords import hash_password
from rtbook.core.privacy import access_report, check_nik
from rtbook.core.users import (
    generated_password,
    new_password_problem,
    reset_password,
)
from rtbook.web.auth import require_roles
from rtbook.web.body import decode_json_body
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import ApiError, ErrorDetail, error_responses, error_spec

MANAGERS = require_roles(Role.ADMIN, Role.CITY_ADMIN)
NO_STORE = {"Cache-Control": "no-store"}
PASSWORD_MAX = 1024

PASSWORD_REQUEST_BODY = RequestBody(
    required=False,
    description=(
        "Kata sandi baru; tanpa `password` (atau tanpa isi) dibuatkan dan dikembalikan "
        "sekali (the new password; without one a password is generated and returned once)."
    ),
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                title="PasswordReset",
                additional_properties=False,
                properties={
                    "password": Schema(
                        type=OpenAPIType.STRING, min_length=8, max_length=PASSWORD_MAX
                    )
                },
            )
        )
    },
)


@dataclass
class PasswordOperation(Operation):
    """The operation with its request body documented (the handler reads the raw body)."""

    def __post_init__(self) -> None:
        self.request_body = PASSWORD_REQUEST_BODY


class PasswordResetResult(msgspec.Struct, kw_only=True):
    username: str
    sessions_ended: bool = True
    password: str | None = None  # only when generated: shown this once


def _bad_body(message: str) -> ApiError:
    return ApiError(
        422,
        "isi permintaan tidak sah, tidak ada yang diubah (invalid body, nothing changed)",
        [ErrorDetail("password", message)],
    )


def _given_password(raw: bytes) -> str | None:
    """The ``password`` of the body; None for no body, ``{}`` or ``null``."""
    if not raw.strip():
        return None
    body = decode_json_body(raw)
    if not isinstance(body, dict) or set(body) - {"password"}:
        raise ApiError(
            422,
            'isi harus objek {"password": "..."} (body must be {"password": "..."})',
            [ErrorDetail(None, "hanya kolom password (only the password field)")],
        )
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise _bad_body("harus berupa teks (must be a string)")
    if password is not None and len(password) > PASSWORD_MAX:
        raise _bad_body(f"paling panjang {PASSWORD_MAX} karakter (at most {PASSWORD_MAX} chars)")
    return password


class PrivacyController(Controller):
    tags: ClassVar[list[str]] = ["privasi (privacy)"]
    guards: ClassVar[list[Any]] = [MANAGERS]

    @get(
        "/residents/{nik:str}/access-report",
        summary="Laporan akses data penduduk (resident access report, UU PDP)",
        description=(
            "Semua data yang disimpan tentang satu NIK dan riwayat pemrosesannya dari jejak "
            "audit. city_admin kota penduduk, admin. Dicatat di audit. (Everything held on "
            "one NIK and its processing history; the read is audited.)"
        ),
        responses=error_responses(400, 401, 403, 404),
    )
    async def access_report(
        self,
        db: DB,
        principal: Caller,
        nik: Annotated[str, Parameter(description="NIK penduduk, 16 angka (16 digits)")],
    ) -> Response[Any]:
        try:
            nik = check_nik(nik)
        except RtbookError as exc:
            raise ApiError(400, None, [ErrorDetail("nik", str(exc))]) from None

        async def unit(conn: Connection) -> dict[str, Any]:
            return await access_report(conn, nik, principal)

        report = await db.write(unit)
        return Response(report, headers=NO_STORE)

    @post(
        "/users/{username:str}/password",
        status_code=200,
        operation_class=PasswordOperation,
        summary="Atur ulang kata sandi pengguna (reset a user's password)",
        description=(
            "city_admin untuk pengguna kotanya, admin. Kata sandi dari isi, atau dibuatkan "
            "dan dikembalikan sekali; sesi web pengguna diakhiri. (city_admin for users of "
            "their city, admin; the user's web sessions end.)"
        ),
        responses={
            **error_responses(400, 401, 403, 404),
            422: error_spec("Kata sandi tidak memenuhi kebijakan (password refused)"),
        },
    )
    async def reset_password(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        principal: Caller,
        username: Annotated[str, Parameter(description="Nama pengguna (username)")],
    ) -> Response[PasswordResetResult]:
        given = _given_password(await request.body())
        password = given if given is not None else generated_password()
        problem = new_password_problem(password, username)
        if problem:
            raise _bad_body(problem)
        password_hash = await asyncio.to_thread(hash_password, password)
        now = datetime.now(UTC)

        async def unit(conn: Connection) -> None:
            await reset_password(conn, principal, username, password_hash, now=now)

        await db.write(unit)
        result = PasswordResetResult(
            username=username, password=None if given is not None else password
        )
        return Response(result, headers=NO_STORE)
