"""What the RT head's pages (buku induk, warga, kabar) share: the opaque reference of a
resident in an address, running a scoped read with its errors as pages, and the
words a resident's fields are shown in.

A resident's address is ``/rt/{rt}/warga/{ref}``: ``ref`` is the first 16 hex digits
of HMAC-SHA256(RTBOOK_SECRET_KEY, NIK) written with the letters a-p (0-9 -> g-p), so no
NIK is ever in a URL (access logs, browser history), a ref cannot be turned back into
a NIK without the key, and a ref is never a run of digits that NIK scrubbers (logs,
audit) or a reader would take for a NIK.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.params import PathParameter

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.web.login import now_for
from rtbook.web.pages.layout import render_error

T = TypeVar("T")
RtPath = Annotated[str, PathParameter(description="Kode RT (RT code)")]
RefPath = Annotated[str, PathParameter(description="Rujukan warga (resident ref)")]

MSG_FORBIDDEN = "Di luar wilayah Anda (outside your area)"
MSG_NO_RT = "RT tidak ditemukan (RT not found)"

STATUS_WORDS: dict[str, tuple[str, str, str]] = {
    # status: (Bahasa Indonesia, English, badge class)
    "active": ("Aktif", "active", "ok"),
    "deceased": ("Meninggal", "deceased", "bad"),
    "moved_out": ("Pindah", "moved out", ""),
}
SEX_WORDS = {"L": "Laki-laki", "P": "Perempuan"}
SHDK_WORDS = {
    "kepala_keluarga": "Kepala keluarga",
    "suami": "Suami",
    "istri": "Istri",
    "anak": "Anak",
    "menantu": "Menantu",
    "cucu": "Cucu",
    "orang_tua": "Orang tua",
    "mertua": "Mertua",
    "famili_lain": "Famili lain",
    "pembantu": "Pembantu",
    "lainnya": "Lainnya",
}


def words(mapping: dict[str, str], value: str | None) -> str:
    if not value:
        return "-"
    return mapping.get(value, value.replace("_", " "))


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def city_today(request: Request[Any, Any, Any], timezone: str) -> date:
    return now_for(request).astimezone(ZoneInfo(timezone)).date()


def city_time(moment: datetime, timezone: str) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone))


def masked_tail(nik: str | None) -> str:
    """``****1234``: the last 4 digits, what lists show."""
    return f"****{nik[-4:]}" if nik and len(nik) >= 4 else "-"


async def city_timezone(conn: Connection, city: str) -> str:
    return await conn.fetchval("SELECT timezone FROM city WHERE code = $1", city) or "Asia/Jakarta"


async def scoped(
    request: Request[Any, Any, Any],
    principal: Principal,
    rt: str,
    unit: Callable[[Connection], Awaitable[T]],
    *,
    back: str = "/",
) -> T | Response[str]:
    """Run a read unit (a write unit: it records its audit row) and turn the core's
    refusals into pages: 403 (recorded), 404, 400 for a bad parameter."""
    try:
        return await request.app.state.db.write(unit)
    except Forbidden:  # render_error records the refusal
        return await render_error(request, 403, MSG_FORBIDDEN, back=back)
    except NotFound as exc:
        return await render_error(request, 404, str(exc) or MSG_NO_RT, back=back)
    except InvalidQuery as exc:
        return await render_error(request, 400, f"{exc.field}: {exc.message}", back=back)
