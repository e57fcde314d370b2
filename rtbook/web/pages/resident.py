"""``GET /rt/{rt}/warga/{ref}``: one resident of an RT (facts, KK, history).

Readers as for the RT's book (its heads, the city's admin, admin; checked by
rtbook.core.ledger.reads.authorize_rt_read). Every read served is audited
(``resident.read``, target: the masked NIK, so it shows in the resident's access
report).

NIK and No. KK: the RT's own heads keep the buku induk of their RT and see them in
full on this page; a city admin or admin sees the last 4 digits (they can ask for a
resident's full record through the access report, which is audited on its own).
Lists and the feed only ever show the last 4 digits. The audit row says which was
shown (``detail.nik``: full or masked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from litestar import MediaType, Request, Response, get

from rtbook.core import audit
from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection
from rtbook.core.errors import NotFound
from rtbook.core.ledger import effects
from rtbook.core.ledger.feed import SERVICE_LABELS
from rtbook.core.ledger.reads import authorize_rt_read
from rtbook.core.notify.compose import day_in_words
from rtbook.core.notify.masking import mask_address
from rtbook.core.validation import mask_nik
from rtbook.web.login import page_key, page_session, require_login
from rtbook.web.pages.layout import render_page, rt_short
from rtbook.web.pages.refs import REF_PATTERN, nik_of_ref, resident_ref
from rtbook.web.pages.rt_common import (
    SEX_WORDS,
    SHDK_WORDS,
    STATUS_WORDS,
    RefPath,
    RtPath,
    age_on,
    city_time,
    city_timezone,
    city_today,
    masked_tail,
    scoped,
    words,
)

MSG_NO_RESIDENT = "Warga tidak ditemukan di RT ini (resident not found in this RT)"

KIND_WORDS: dict[str, tuple[str, str]] = {
    effects.RESIDENT_ADDED: ("Tercatat sebagai warga baru", "added to the book"),
    effects.RESIDENT_DECEASED: ("Meninggal dunia", "died"),
    effects.RESIDENT_MOVED_OUT: ("Pindah keluar dari RT", "moved out of the RT"),
    effects.RESIDENT_MOVED_IN: ("Pindah masuk ke RT", "moved into the RT"),
    effects.HOUSEHOLD_CHANGED: ("Kartu Keluarga berubah", "family card changed"),
    effects.STATUS_CHANGED: ("Status perkawinan berubah", "marital status changed"),
    effects.DOCUMENT_ISSUED: ("Dokumen diterbitkan", "document issued"),
}
MARITAL_WORDS = {
    "belum_kawin": "Belum kawin",
    "kawin": "Kawin",
    "cerai_hidup": "Cerai hidup",
    "cerai_mati": "Cerai mati",
}

_FIELDS = (
    "nik, name, sex, birth_place, birth_date, religion, education, occupation,"
    " marital_status, shdk, citizenship, no_kk, address, rt_code, city_code, father_name,"
    " mother_name, phone, blood_type, status, date_of_death"
)
_MEMBERS = (
    "SELECT r.nik, r.name, r.sex, r.shdk, r.birth_date, r.status, r.rt_code"
    " FROM resident r LEFT JOIN household h ON h.no_kk = r.no_kk"
    " WHERE r.no_kk = $1 AND r.nik <> $2"
    " ORDER BY CASE WHEN r.nik = h.head_nik THEN 0 WHEN r.shdk = 'kepala_keluarga' THEN 1"
    " ELSE 2 END, r.birth_date, r.nik"
)
_HISTORY = (
    "SELECT c.kind, c.event_date, c.reported_at, c.rt_code, s.type FROM resident_change c"
    " LEFT JOIN service_record s ON s.id = c.service_record_id"
    " WHERE c.nik = $1 ORDER BY c.event_date DESC, c.id DESC"
)


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    href: str | None  # a link when they live in the same RT
    shdk: str
    sex: str
    age: int
    status: str
    status_en: str
    badge: str


@dataclass(frozen=True, slots=True)
class Change:
    what: str
    what_en: str
    service: str | None
    happened: str
    reported: str
    where: str | None


@dataclass(frozen=True, slots=True)
class ResidentView:
    name: str
    facts: list[tuple[str, str]]
    status: str
    status_en: str
    badge: str
    kk: str
    members: list[Member]
    history: list[Change]
    full_nik: bool


def shows_full_nik(principal: Principal, rt: str) -> bool:
    """Only the RT's own heads see a resident's full NIK and No. KK."""
    return principal.role is Role.RT_HEAD and rt in principal.rt_codes


def _day(value: date | None) -> str:
    return day_in_words(value) if value else "-"


def _view(
    request: Request[Any, Any, Any],
    rt: str,
    row: Any,
    members: list[Any],
    history: list[Any],
    timezone: str,
    full: bool,
) -> ResidentView:
    today = city_today(request, timezone)
    status, status_en, badge = STATUS_WORDS.get(row["status"], (row["status"], "", ""))
    nik, no_kk = row["nik"], row["no_kk"]
    shown_nik = nik if full else masked_tail(nik)
    shown_kk = (no_kk if full else masked_tail(no_kk)) if no_kk else "-"
    phone = row["phone"] if full else mask_address(row["phone"])
    facts = [
        ("NIK", shown_nik),
        ("No. KK", shown_kk),
        ("Jenis kelamin", words(SEX_WORDS, row["sex"])),
        (
            "Tempat, tanggal lahir",
            f"{row['birth_place'] or '-'}, {_day(row['birth_date'])}"
            f" ({age_on(row['birth_date'], today)} th)",
        ),
        ("Hubungan dalam KK (SHDK)", words(SHDK_WORDS, row["shdk"])),
        ("Agama", (row["religion"] or "-").capitalize()),
        ("Status perkawinan", words(MARITAL_WORDS, row["marital_status"])),
        ("Pendidikan", row["education"] or "-"),
        ("Pekerjaan", row["occupation"] or "-"),
        ("Warga negara", row["citizenship"] or "-"),
        ("Alamat", row["address"] or "-"),
        ("Nama ayah", row["father_name"] or "-"),
        ("Nama ibu", row["mother_name"] or "-"),
        ("Telepon", phone or "-"),
        ("Golongan darah", row["blood_type"] or "-"),
    ]
    if row["date_of_death"]:
        facts.append(("Tanggal meninggal", _day(row["date_of_death"])))
    family = []
    for m in members:
        m_status, m_status_en, m_badge = STATUS_WORDS.get(m["status"], (m["status"], "", ""))
        family.append(
            Member(
                name=m["name"],
                href=(
                    f"/rt/{rt}/warga/{resident_ref(request, m['nik'])}"
                    if m["rt_code"] == rt
                    else None
                ),
                shdk=words(SHDK_WORDS, m["shdk"]),
                sex=words(SEX_WORDS, m["sex"]),
                age=age_on(m["birth_date"], today),
                status=m_status,
                status_en=m_status_en,
                badge=m_badge,
            )
        )
    changes = []
    for c in history:
        what, what_en = KIND_WORDS.get(c["kind"], (c["kind"].replace("_", " "), c["kind"]))
        reported: datetime = c["reported_at"]
        changes.append(
            Change(
                what=what,
                what_en=what_en,
                service=SERVICE_LABELS.get(c["type"], c["type"]) if c["type"] else None,
                happened=_day(c["event_date"]),
                reported=day_in_words(city_time(reported, timezone).date()),
                where=rt_short(c["rt_code"]) if c["rt_code"] else None,
            )
        )
    return ResidentView(
        name=row["name"],
        facts=facts,
        status=status,
        status_en=status_en,
        badge=badge,
        kk=shown_kk,
        members=family,
        history=changes,
        full_nik=full,
    )


def _unit(request: Request[Any, Any, Any], principal: Principal, rt: str, ref: str) -> Any:
    async def unit(conn: Connection) -> ResidentView:
        city = await authorize_rt_read(conn, principal, rt)
        nik = None
        if REF_PATTERN.fullmatch(ref):
            rows = await conn.fetch("SELECT nik FROM resident WHERE rt_code = $1", rt)
            nik = nik_of_ref(page_key(request), (r[0] for r in rows), ref)
        if nik is None:
            raise NotFound(MSG_NO_RESIDENT)
        row = await conn.fetchrow(f"SELECT {_FIELDS} FROM resident WHERE nik = $1", nik)
        members = await conn.fetch(_MEMBERS, row["no_kk"], nik) if row["no_kk"] else []
        history = await conn.fetch(_HISTORY, nik)
        full = shows_full_nik(principal, rt)
        await audit.record(
            conn,
            principal,
            "resident.read",
            mask_nik(nik),
            city,
            {"rt": rt, "nik": "full" if full else "masked"},
        )
        return _view(
            request, rt, row, list(members), list(history), await city_timezone(conn, city), full
        )

    return unit


@get(
    "/rt/{rt:str}/warga/{ref:str}",
    guards=[require_login],
    media_type=MediaType.HTML,
    include_in_schema=False,
    cache_control=None,
)
async def resident_page(request: Request[Any, Any, Any], rt: RtPath, ref: RefPath) -> Response[str]:
    session = await page_session(request)
    assert session is not None  # require_login
    principal = session.principal
    view = await scoped(
        request, principal, rt, _unit(request, principal, rt, ref), back=f"/rt/{rt}"
    )
    if isinstance(view, Response):
        return view
    return await render_page(
        request,
        "pages/resident.html",
        title=view.name,
        resident=view,
        rt=rt,
        rt_label=rt_short(rt),
    )


RESIDENT_HANDLERS = (resident_page,)
