"""``GET/POST /pengaturan``: the logged-in user's own notification settings.

The same rules as ``/api/v1/me/notification-preferences`` (rtbook.core.notify
.preferences reads, checks and saves): a user with neither a WhatsApp number nor an
e-mail address gets no notifications, so the page says so and has no form (a POST
is refused, 403). A channel is offered only where the user has an address (shown
masked); a channel without one keeps what is stored. Every service type ticked is
stored as "all", so types added later are included. Bad input: 422, the form again
with the reason at each field, nothing saved. Success: 303 to ``/pengaturan?ok=1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response, get, post

from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden
from rtbook.core.ledger.effects import SERVICE_TYPES
from rtbook.core.ledger.feed import SERVICE_LABELS
from rtbook.core.notify.preferences import (
    CHANNELS,
    InvalidPreferences,
    Preferences,
    PreferencesInput,
    read_preferences,
    require_address,
    save_preferences,
)
from rtbook.web.login import check_csrf, now_for, page_session, require_login
from rtbook.web.pages.layout import render_error, render_page

CHANNEL_LABELS = {"whatsapp": "WhatsApp", "email": "Email"}
MSG_INVALID = "Isian tidak sah, tidak ada yang disimpan (invalid input, nothing saved)"
MSG_NO_ADDRESS = (
    "Anda belum punya nomor WhatsApp atau alamat email, jadi tidak menerima pemberitahuan; "
    "minta admin kota menambahkannya (you have no WhatsApp number or e-mail address, so "
    "you get no notifications; ask your city admin to add one)"
)


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    checked: bool
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Values:
    """What the form shows: the stored preferences, or what was just sent."""

    channels: list[str]
    service_types: list[str]
    quiet_start: str
    quiet_end: str
    daily_digest: bool
    language: str


def _addresses(prefs: Preferences) -> dict[str, str]:
    found = {"whatsapp": prefs.addresses.whatsapp, "email": prefs.addresses.email}
    return {k: v for k, v in found.items() if v}


def _values(prefs: Preferences) -> Values:
    return Values(
        channels=list(prefs.channels),
        service_types=list(prefs.service_types),
        quiet_start=prefs.quiet_start or "",
        quiet_end=prefs.quiet_end or "",
        daily_digest=prefs.daily_digest,
        language=prefs.language,
    )


async def _show(
    request: Request[Any, Any, Any],
    prefs: Preferences,
    values: Values,
    *,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response[str]:
    addresses = _addresses(prefs)
    channels = [
        Choice(c, CHANNEL_LABELS[c], c in values.channels, addresses[c])
        for c in CHANNELS
        if c in addresses
    ]
    services = [
        Choice(t, SERVICE_LABELS.get(t, t), t in values.service_types) for t in SERVICE_TYPES
    ]
    return await render_page(
        request,
        "pages/settings.html",
        title="Pengaturan pemberitahuan (notification settings)",
        status_code=status_code,
        notice=notice,
        has_address=bool(addresses),
        no_address=MSG_NO_ADDRESS,
        channels=channels,
        services=services,
        values=values,
        errors=dict(errors or {}),
        message=MSG_INVALID if errors else None,
    )


async def _read(request: Request[Any, Any, Any], user_id: int) -> Preferences:
    async def unit(conn: Connection) -> Preferences:
        return await read_preferences(conn, user_id)

    return await request.app.state.db.read(unit)


@get(
    "/pengaturan",
    guards=[require_login],
    media_type=MediaType.HTML,
    include_in_schema=False,
    cache_control=None,
)
async def settings_form(request: Request[Any, Any, Any]) -> Response[str]:
    session = await page_session(request)
    assert session is not None  # require_login
    prefs = await _read(request, session.principal.user_id)
    notice = "Tersimpan (saved)" if request.query_params.get("ok") == "1" else None
    return await _show(request, prefs, _values(prefs), notice=notice)


def _texts(form: Any, key: str) -> list[str]:
    return [v for v in form.getall(key, []) if isinstance(v, str)]


def _text(form: Any, key: str) -> str:
    values = _texts(form, key)
    return values[0].strip() if values else ""


@post(
    "/pengaturan",
    guards=[require_login],
    media_type=MediaType.HTML,
    include_in_schema=False,
    status_code=303,
)
async def settings_save(request: Request[Any, Any, Any]) -> Response[str]:
    session = await page_session(request)
    assert session is not None  # require_login
    await check_csrf(request, session)
    user_id = session.principal.user_id
    prefs = await _read(request, user_id)
    addresses = _addresses(prefs)
    if not addresses:
        return await render_error(request, 403, MSG_NO_ADDRESS, back="/pengaturan")
    form = await request.form()
    ticked = _texts(form, "channels")
    # a channel the form did not offer (no address) keeps what is stored
    kept = [c for c in prefs.channels if c not in addresses]
    services = _texts(form, "service_types")
    values = Values(
        channels=ticked,
        service_types=services,
        quiet_start=_text(form, "quiet_start"),
        quiet_end=_text(form, "quiet_end"),
        daily_digest=_text(form, "daily_digest") == "1",
        language=_text(form, "language"),
    )
    all_services = set(services) == set(SERVICE_TYPES)
    change = PreferencesInput(
        channels=[*kept, *ticked],
        service_types=None if all_services else services,
        quiet_start=values.quiet_start or None,
        quiet_end=values.quiet_end or None,
        daily_digest=values.daily_digest,
        language=values.language,
    )
    at = now_for(request)

    async def unit(conn: Connection) -> Preferences:
        await require_address(conn, user_id)
        return await save_preferences(conn, user_id, change, at)

    try:
        await request.app.state.db.write(unit)
    except InvalidPreferences as exc:
        errors: dict[str, str] = {}
        for issue in exc.details:
            errors.setdefault(issue.field or "form", issue.message)
        return await _show(request, prefs, values, errors=errors, status_code=422)
    except Forbidden as exc:
        return await render_error(request, 403, str(exc), back="/pengaturan")
    return Response(
        content="",
        status_code=303,
        media_type=MediaType.HTML,
        headers={"Location": "/pengaturan?ok=1"},
    )


SETTINGS_HANDLERS = (settings_form, settings_save)
