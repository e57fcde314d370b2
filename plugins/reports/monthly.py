"""The monthly send: in the first days of each month (city time, from
``rtbook_daily``), every RT head gets the previous month's B.3 of their RT through the
notification hub: a short text (WhatsApp, and the e-mail's body) and, by e-mail, the
B.3 workbook attached (``B3-rekapitulasi-<RT code>-<YYYY-MM>.xlsx``).

One notice per RT, key ``reports:<RT code>:<YYYY-MM>``, to the RT's active heads: the
hub never plans the same key, user and channel twice, so a retried or repeated call
sends nothing twice. The text carries only counts (no names, no NIK) and names the
XLSX download (the API path, on the city's rtbook address); the workbook holds the
same counts. The send is tried on each of days 1 to :data:`CATCH_UP_DAYS`: an RT
whose recap has no delivery yet (the worker was down on the 1st, or the RT got its
first head since) gets it on the first of those days the worker runs; an RT already
sent is skipped before any book is computed (docs/reports.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date

from rtbook.core import audit
from rtbook.core.db import Connection, Database
from rtbook.core.notify.notices import Attachment, Notice, Notifier
from rtbook_reports.areas import Area, resolve_area
from rtbook_reports.exports import XLSX_TYPE, rekap_xlsx
from rtbook_reports.months import Month
from rtbook_reports.rekap import Rekap, Tally, compute_rekap

log = logging.getLogger("rtbook_reports")
ACTION_SEND = "reports.monthly_send"
WORKER_NAME = "rtbook-worker"
# Up to this many RTs with heads, each RT's book is computed alone; above, the city's.
PER_RT_LIMIT = 20
# the previous month's recap is sent on the first of days 1..CATCH_UP_DAYS the worker runs
CATCH_UP_DAYS = 7


def notice_key(rt_code: str, month: Month) -> str:
    return f"reports:{rt_code}:{month}"


def xlsx_filename(rt_code: str, month: Month) -> str:
    """e.g. ``B3-rekapitulasi-64.71.06.1005-003-005-2026-11.xlsx`` (the RT code's dots
    and dashes kept)."""
    return f"B3-rekapitulasi-{rt_code}-{month}.xlsx"


def summary_texts(
    name: str, month: Month, tally: Tally, link: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(subject, body) by language, counts only."""
    start, end = tally.counts("start"), tally.counts("end")
    births, arrivals = tally.get("births"), tally.get("arrivals")
    deaths, departures = tally.get("deaths"), tally.get("departures")
    subject = {
        "id": f"Rekap penduduk {name} {month.label()}",
        "en": f"Population recap {name} {month.label('en')}",
    }
    body = {
        "id": (
            f"Rekap penduduk {name} bulan {month.label()}:\n"
            f"Awal bulan {start['total']} jiwa (L {start['L']}, P {start['P']}), "
            f"{start['kk']} KK.\n"
            f"Lahir {births}, datang {arrivals}, meninggal {deaths}, pindah {departures}.\n"
            f"Akhir bulan {end['total']} jiwa (L {end['L']}, P {end['P']}), {end['kk']} KK.\n"
            f"Buku B.3 (XLSX): {link}"
        ),
        "en": (
            f"Population recap {name}, {month.label('en')}:\n"
            f"Start of month {start['total']} residents (men {start['L']}, women "
            f"{start['P']}), {start['kk']} households.\n"
            f"Births {births}, arrivals {arrivals}, deaths {deaths}, departures {departures}.\n"
            f"End of month {end['total']} residents (men {end['L']}, women {end['P']}), "
            f"{end['kk']} households.\n"
            f"Book B.3 (XLSX): {link}"
        ),
    }
    return subject, body


def download_path(rt_code: str, month: Month) -> str:
    return f"/api/v1/reports/rekapitulasi?area={rt_code}&month={month}&format=xlsx"


async def _heads_by_rt(conn: Connection, city: str) -> dict[str, list[int]]:
    rows = await conn.fetch(
        "SELECT ur.rt_code, u.id FROM user_rt ur JOIN rtbook_user u ON u.id = ur.user_id"
        " JOIN rt ON rt.code = ur.rt_code"
        " WHERE rt.city_code = $1 AND u.role = $2 AND u.is_active = $3"
        " ORDER BY ur.rt_code, u.id",
        city,
        "rt_head",
        True,
    )
    heads: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        heads[row["rt_code"]].append(int(row["id"]))
    return dict(heads)


async def _sent_keys(conn: Connection, city: str, keys: list[str]) -> set[str]:
    """Those of ``keys`` that have deliveries in ``city`` already."""
    if not keys:
        return set()
    marks = ", ".join(f"${i}" for i in range(2, len(keys) + 2))
    rows = await conn.fetch(
        f"SELECT DISTINCT event_id FROM delivery WHERE city_code = $1 AND event_id IN ({marks})",
        city,
        *keys,
    )
    return {r["event_id"] for r in rows}


async def _books(conn: Connection, city: str, rts: list[str], month: Month) -> dict[str, Rekap]:
    """RT code -> the RT's B.3 for the RTs with heads."""
    out: dict[str, Rekap] = {}
    if len(rts) <= PER_RT_LIMIT:
        for rt in rts:
            area: Area = await resolve_area(conn, rt, "rt")
            out[rt] = await compute_rekap(conn, area, month)
        return out
    rekap = await compute_rekap(conn, await resolve_area(conn, city, "city"), month)
    for part in rekap.rts:
        if part.code in rts:
            # an RT's book is its one row: the same as compute_rekap for the RT
            area = await resolve_area(conn, part.code, "rt")
            out[part.code] = Rekap(area=area, month=month, total=part.tally, rts=[part])
    return out


async def monthly_send(city: str, db: Database, notifier: Notifier, day: date) -> int:
    """On days 1..CATCH_UP_DAYS: plan last month's recap for every RT with a head whose
    recap has no delivery yet; the number of deliveries planned now (0 on other days
    and when all were planned before)."""
    if not 1 <= day.day <= CATCH_UP_DAYS:
        return 0
    month = Month.of(day).previous()

    async def read(conn: Connection) -> tuple[dict[str, list[int]], dict[str, Rekap]]:
        heads = await _heads_by_rt(conn, city)
        sent = await _sent_keys(conn, city, [notice_key(rt, month) for rt in heads])
        heads = {rt: ids for rt, ids in heads.items() if notice_key(rt, month) not in sent}
        return heads, (await _books(conn, city, sorted(heads), month) if heads else {})

    heads, books = await db.read(read)
    notices = []
    for rt, user_ids in sorted(heads.items()):
        if rt not in books:
            continue
        rekap = books[rt]
        subject, body = summary_texts(rekap.area.name, month, rekap.total, download_path(rt, month))
        workbook = await asyncio.to_thread(rekap_xlsx, rekap)
        notices.append(
            Notice(
                key=notice_key(rt, month),
                user_ids=user_ids,
                subject=subject,
                body=body,
                attachments=(Attachment(xlsx_filename(rt, month), XLSX_TYPE, workbook),),
            )
        )
    planned = await notifier.notify(notices) if notices else 0
    if planned:
        await db.write(
            lambda conn: audit.record(
                conn,
                None,
                ACTION_SEND,
                city,
                city,
                {"month": str(month), "rts": len(notices), "planned": planned},
                username=WORKER_NAME,
            )
        )
    if notices:
        log.info(
            "reports: %s recaps of %s planned in %s (%d deliveries)",
            len(notices),
            month,
            city,
            planned,
        )
    return planned
