"""Applying one checked service to the ledger.

Every handler follows the same order, so that a refusal comes before the first write
and the service record carries every warning:

1. read and check what the service needs (the resident, the RTs and their city);
   a problem raises :class:`Rejected`;
2. :meth:`ServiceWriter.begin` inserts the service record (the idempotency key; a
   conflict raises :class:`Duplicate`);
3. write the ledger change (resident, household, kk_history) and queue the document,
   the history rows and the feed events in :class:`PendingWrites`;
4. :meth:`PendingWrites.flush` writes the queued rows, and last the feed events with
   their sequence numbers, taken right before commit.

:func:`apply_service` does this in a transaction of its own, or (``pending`` given)
inside the caller's batch transaction, where the queued rows of many services are
flushed together.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from rtbook.core.auth import Principal
from rtbook.core.db import Connection, Row
from rtbook.core.ledger import effects as fx
from rtbook.core.ledger.feed import event_data, service_summary
from rtbook.core.ledger.items import ServiceItem
from rtbook.core.validation import (
    RESIDENT_FIELDS,
    FieldIssue,
    Issues,
    ResidentInput,
    mask_nik,
)

log = logging.getLogger("rtbook.ledger")

DEFAULT_TIMEZONE = "Asia/Jakarta"

SUBJECT_COLUMNS = (
    "nik, name, sex, birth_date, marital_status, shdk, no_kk, rt_code, city_code, status"
)
# The resident columns a RESIDENT record sets besides its key (nik) and place (rt).
RESIDENT_DATA_COLUMNS = tuple(f for f in RESIDENT_FIELDS if f not in ("nik", "rt"))
_INSERT_RESIDENT = (
    "INSERT INTO resident (nik, "
    + ", ".join(RESIDENT_DATA_COLUMNS)
    + ", rt_code, city_code, status, origin, registered_at, updated_at) VALUES ("
    + ", ".join(f"${i}" for i in range(1, len(RESIDENT_DATA_COLUMNS) + 8))
    + ")"
)
_INSERT_RECORD = (
    "INSERT INTO service_record (source, external_id, type, city_code, nik, rt_code,"
    " document_number, completed_at, received_at, payload_hash, warnings, submitted_by)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    " ON CONFLICT (source, external_id) DO NOTHING RETURNING id"
)
_INSERT_DOCUMENT = (
    "INSERT INTO document (nik, type, number, issued_at, service_record_id)"
    " VALUES ($1, $2, $3, $4, $5)"
)
_INSERT_CHANGE = (
    "INSERT INTO resident_change (nik, city_code, rt_code, kind, event_date, reported_at,"
    " service_record_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
_TAKE_SEQ = "UPDATE city SET event_seq = event_seq + $2 WHERE code = $1 RETURNING event_seq"
_INSERT_EVENT = (
    "INSERT INTO event (city_code, seq, rt_code, service_record_id, effect, time, data,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
_INSERT_KK_HISTORY = (
    "INSERT INTO kk_history (nik, no_kk, shdk, left_on, service_record_id)"
    " VALUES ($1, $2, $3, $4, $5)"
)
_NEW_HOUSEHOLD = (
    "INSERT INTO household (no_kk, rt_code, city_code, head_nik, updated_at)"
    " VALUES ($1, $2, $3, NULL, $4) ON CONFLICT (no_kk) DO NOTHING"
)

_STATUS_LABEL = {
    "deceased": "meninggal (deceased)",
    "moved_out": "pindah keluar (moved out)",
}

_encode = msgspec.json.Encoder().encode


def to_json(value: Any) -> str:
    return _encode(value).decode("utf-8")


class Rejected(Exception):
    """The service cannot be applied; nothing it did is kept."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.issue = FieldIssue(field_name, message)


class Duplicate(Exception):
    """A service with the same source and id was applied before."""


@dataclass(slots=True)
class BatchCache:
    """Lookups that stay true for a whole batch: RT -> city, city -> timezone."""

    rt_city: dict[str, str | None] = field(default_factory=dict)
    city_tz: dict[str, ZoneInfo] = field(default_factory=dict)


@dataclass(slots=True)
class _Event:
    city_code: str
    rt_code: str
    record_id: int | None
    effect: str
    time: datetime
    data: dict[str, Any]


@dataclass(slots=True)
class PendingWrites:
    """Rows that nothing later in a batch reads: the documents, the history rows and
    the feed events, written together by :meth:`flush`."""

    documents: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[_Event] = field(default_factory=list)

    async def flush(self, conn: Connection, now: datetime) -> None:
        """Write the queued rows; the feed events last, with sequence numbers taken
        from the city rows. The row lock taken on each city is held until commit, so
        sequence order is commit order."""
        await _insert_many(conn, _INSERT_DOCUMENT, self.documents)
        await _insert_many(conn, _INSERT_CHANGE, self.changes)
        by_city: dict[str, list[_Event]] = {}
        for ev in self.events:
            by_city.setdefault(ev.city_code, []).append(ev)
        rows: list[tuple[Any, ...]] = []
        for city_code in sorted(by_city):  # one lock order for every writer
            events = by_city[city_code]
            last = await conn.fetchval(_TAKE_SEQ, city_code, len(events))
            if last is None:
                raise RuntimeError("an RT's city has no city row: no feed sequence")
            first = int(last) - len(events) + 1
            rows.extend(
                (
                    city_code,
                    first + offset,
                    ev.rt_code,
                    ev.record_id,
                    ev.effect,
                    ev.time,
                    to_json(ev.data),
                    now,
                )
                for offset, ev in enumerate(events)
            )
        await _insert_many(conn, _INSERT_EVENT, rows)
        self.documents.clear()
        self.changes.clear()
        self.events.clear()


async def _insert_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if len(rows) == 1:
        await conn.execute(sql, *rows[0])
    elif rows:
        await conn.executemany(sql, rows)


class ServiceWriter:
    """The state of applying one service (see the module docstring)."""

    def __init__(
        self,
        conn: Connection,
        principal: Principal,
        item: ServiceItem,
        issues: Issues,
        now: datetime,
        cache: BatchCache,
    ) -> None:
        self.conn = conn
        self.principal = principal
        self.item = item
        self.issues = issues
        self.now = now
        self.cache = cache
        self.record_id: int | None = None
        self.document_nik = item.nik
        self.document_number = item.document_number
        self.pending = PendingWrites()

    # -- lookups ----------------------------------------------------------------------

    async def rt_city(self, rt_code: str) -> str | None:
        """The city of a registered RT (cached for the batch), None when unknown."""
        cache = self.cache.rt_city
        if rt_code not in cache:
            row = await self.conn.fetchrow(
                "SELECT rt.city_code, city.timezone FROM rt"
                " JOIN city ON city.code = rt.city_code WHERE rt.code = $1",
                rt_code,
            )
            if row is None:
                cache[rt_code] = None
            else:
                cache[rt_code] = row[0]
                self._remember_tz(row[0], row[1])
        return cache[rt_code]

    def _remember_tz(self, city_code: str, name: str) -> None:
        if city_code in self.cache.city_tz:
            return
        try:
            tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning(
                "city %s has an unknown timezone %r; using %s", city_code, name, DEFAULT_TIMEZONE
            )
            tz = ZoneInfo(DEFAULT_TIMEZONE)
        self.cache.city_tz[city_code] = tz

    async def local_date(self, city_code: str) -> date:
        """The calendar date of completed_at in the city's timezone."""
        tz = self.cache.city_tz.get(city_code)
        if tz is None:
            name = await self.conn.fetchval("SELECT timezone FROM city WHERE code = $1", city_code)
            self._remember_tz(city_code, name or DEFAULT_TIMEZONE)
            tz = self.cache.city_tz[city_code]
        return self.item.completed_at.astimezone(tz).date()

    async def check_rt(self, rt_code: str, field_name: str) -> str:
        """The RT must exist and be in the caller's city; returns that city."""
        city = await self.rt_city(rt_code)
        if city is None:
            raise Rejected(
                field_name, f"RT {rt_code} tidak terdaftar (RT is not registered in rtbook)"
            )
        if not self.principal.can_submit_services(city):
            raise Rejected(
                field_name,
                f"RT {rt_code} di luar kota Anda (RT is outside the city you may submit for)",
            )
        return city

    def in_scope(self, city_code: str | None) -> bool:
        return city_code is not None and self.principal.can_submit_services(city_code)

    async def resident(self, nik: str, columns: str = SUBJECT_COLUMNS) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(f"SELECT {columns} FROM resident WHERE nik = $1", nik)
        return None if row is None else _as_dict(row)

    async def subject(self) -> tuple[dict[str, Any], str, str]:
        """The existing, active resident a non-moving service is about, with their RT
        and its city, after the scope checks. Returns (resident, rt_code, city_code)."""
        item = self.item
        if item.rt is not None:
            await self.check_rt(item.rt, "rt")
        resident = await self.resident(item.nik)
        if resident is None or not self.in_scope(resident["city_code"]):
            raise unknown_nik("nik", item.nik)
        ensure_active(resident, "nik")
        rt_code = resident["rt_code"]
        if rt_code is None:
            raise Rejected(
                "nik",
                "penduduk belum tercatat di RT mana pun di buku induk "
                "(the resident has no RT in the ledger)",
            )
        if item.rt is not None and item.rt != rt_code:
            raise Rejected(
                "rt",
                "rt berbeda dengan RT penduduk di buku induk; untuk pindah RT kirim "
                "pindah_dalam (rt differs from the resident's current RT)",
            )
        city = await self.check_rt(rt_code, "nik")
        return resident, rt_code, city

    # -- writes -----------------------------------------------------------------------

    async def begin(self, city_code: str, rt_code: str | None) -> int:
        """Insert the service record; every warning must be known by now."""
        item = self.item
        record_id = await self.conn.fetchval(
            _INSERT_RECORD,
            item.source,
            item.id,
            item.type,
            city_code,
            item.nik,
            rt_code,
            item.document_number,
            item.completed_at,
            self.now,
            item.payload_hash,
            to_json([w.as_dict() for w in self.issues.warnings]),
            self.principal.user_id,
        )
        if record_id is None:
            raise Duplicate
        self.record_id = record_id
        return record_id

    def change(
        self,
        nik: str,
        city_code: str,
        rt_code: str | None,
        kind: str,
        event_date: date,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Queue a history row (resident_change); after :meth:`begin`."""
        assert self.record_id is not None, "begin() first"
        self.pending.changes.append(
            (
                nik,
                city_code,
                rt_code,
                kind,
                event_date,
                self.now,
                self.record_id,
                None if before is None else to_json(before),
                None if after is None else to_json(after),
            )
        )

    def event(
        self,
        city_code: str,
        rt_code: str,
        effect: str,
        name: str,
        nik: str,
        /,
        **summary_args: Any,
    ) -> None:
        """Queue a feed event for an RT; after :meth:`begin`."""
        assert self.record_id is not None, "begin() first"
        summary = service_summary(self.item.type, effect, name, **summary_args)
        data = event_data(
            service_type=self.item.type,
            service_id=self.item.id,
            effect=effect,
            name=name,
            nik=nik,
            summary=summary,
        )
        self.pending.events.append(
            _Event(city_code, rt_code, self.record_id, effect, self.item.completed_at, data)
        )

    def queue_document(self, into: PendingWrites) -> None:
        """Queue the document row and move this service's queued rows ``into``."""
        item = self.item
        into.documents.append(
            (
                self.document_nik,
                item.type,
                self.document_number,
                item.completed_at,
                self.record_id,
            )
        )
        if into is not self.pending:
            into.changes.extend(self.pending.changes)
            into.events.extend(self.pending.events)

    async def ensure_household(self, no_kk: str, field_name: str) -> bool:
        """True when the KK has a household row; warns when it has none (call before
        :meth:`begin`; :meth:`create_household` writes it after)."""
        exists = await self.conn.fetchval("SELECT 1 FROM household WHERE no_kk = $1", no_kk)
        if exists:
            return True
        self.issues.warn(
            field_name,
            "No. KK belum tercatat; rumah tangga dibuat tanpa kepala keluarga sampai "
            "layanan kk diterima (the KK was not in the ledger; household created "
            "without a head)",
        )
        return False

    async def create_household(self, no_kk: str, rt_code: str, city_code: str) -> None:
        await self.conn.execute(_NEW_HOUSEHOLD, no_kk, rt_code, city_code, self.now)


# -- shared checks ---------------------------------------------------------------------


def _as_dict(row: Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row)


def unknown_nik(field_name: str, nik: str) -> Rejected:
    # Same answer for a NIK outside the caller's city: no one learns who lives elsewhere.
    return Rejected(
        field_name,
        f"NIK {mask_nik(nik)} tidak terdaftar di buku induk kota Anda "
        "(NIK is not in your city's ledger)",
    )


def ensure_active(resident: dict[str, Any], field_name: str) -> None:
    status = resident["status"]
    if status != "active":
        label = _STATUS_LABEL.get(status, status)
        raise Rejected(
            field_name,
            f"penduduk {mask_nik(resident['nik'])} berstatus {label}, bukan aktif "
            "(the resident is not active)",
        )


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# -- handlers, one per service type ----------------------------------------------------


async def _document(w: ServiceWriter) -> None:
    """ktp_el, kia: a document recorded."""
    resident, rt_code, city = await w.subject()
    event_date = await w.local_date(city)
    age = age_on(resident["birth_date"], event_date)
    if (
        w.item.type == fx.KTP_EL
        and age < 17
        and resident["marital_status"] in (None, "belum_kawin")
    ):
        w.issues.warn(
            "nik",
            f"KTP-el untuk penduduk berumur {age} tahun (KTP-el for a resident under 17)",
        )
    if w.item.type == fx.KIA and age >= 17:
        w.issues.warn(
            "nik", f"KIA untuk penduduk berumur {age} tahun (KIA is for children under 17)"
        )
    await w.begin(city, rt_code)
    after = {"document": w.item.type, "number": w.item.document_number}
    w.change(resident["nik"], city, rt_code, fx.DOCUMENT_ISSUED, event_date, None, after)
    w.event(city, rt_code, fx.DOCUMENT_ISSUED, resident["name"], resident["nik"])


async def _marital(w: ServiceWriter) -> None:
    """akta_perkawinan, akta_perceraian: marital status kawin / cerai_hidup."""
    resident, rt_code, city = await w.subject()
    status = "kawin" if w.item.type == fx.AKTA_PERKAWINAN else "cerai_hidup"
    if resident["marital_status"] == status:
        w.issues.warn(
            "nik",
            f"status perkawinan sudah {status} (marital status was already {status})",
        )
    event_date = await w.local_date(city)
    await w.begin(city, rt_code)
    await w.conn.execute(
        "UPDATE resident SET marital_status = $1, updated_at = $2 WHERE nik = $3",
        status,
        w.now,
        resident["nik"],
    )
    w.change(
        resident["nik"],
        city,
        rt_code,
        fx.STATUS_CHANGED,
        event_date,
        {"marital_status": resident["marital_status"]},
        {"marital_status": status},
    )
    w.event(city, rt_code, fx.STATUS_CHANGED, resident["name"], resident["nik"])


async def _death(w: ServiceWriter) -> None:
    """akta_kematian: status deceased, date of death set."""
    resident, rt_code, city = await w.subject()
    died = w.item.date_of_death
    assert died is not None
    if died > await w.local_date(city):
        raise Rejected(
            "data.date_of_death",
            "tanggal kematian sesudah waktu selesai layanan (date_of_death is after completed_at)",
        )
    if died < resident["birth_date"]:
        raise Rejected(
            "data.date_of_death",
            "tanggal kematian sebelum tanggal lahir (date_of_death is before the birth date)",
        )
    await w.begin(city, rt_code)
    await w.conn.execute(
        "UPDATE resident SET status = $1, date_of_death = $2, updated_at = $3 WHERE nik = $4",
        "deceased",
        died,
        w.now,
        resident["nik"],
    )
    w.change(
        resident["nik"],
        city,
        rt_code,
        fx.RESIDENT_DECEASED,
        died,
        {"status": "active", "date_of_death": None},
        {"status": "deceased", "date_of_death": died},
    )
    w.event(city, rt_code, fx.RESIDENT_DECEASED, resident["name"], resident["nik"])


async def _move_out(w: ServiceWriter) -> None:
    """pindah_keluar: status moved_out (the last RT stays on the row for history)."""
    resident, rt_code, city = await w.subject()
    event_date = await w.local_date(city)
    await w.begin(city, rt_code)
    await w.conn.execute(
        "UPDATE resident SET status = $1, updated_at = $2 WHERE nik = $3",
        "moved_out",
        w.now,
        resident["nik"],
    )
    w.change(
        resident["nik"],
        city,
        rt_code,
        fx.RESIDENT_MOVED_OUT,
        event_date,
        {"status": "active"},
        {"status": "moved_out", "destination": w.item.destination},
    )
    w.event(
        city,
        rt_code,
        fx.RESIDENT_MOVED_OUT,
        resident["name"],
        resident["nik"],
        destination=w.item.destination,
    )


async def _move_within(w: ServiceWriter) -> None:
    """pindah_dalam: from from_rt to rt inside one city; an event in each RT."""
    item = w.item
    assert item.rt is not None and item.from_rt is not None
    to_city = await w.check_rt(item.rt, "rt")
    from_city = await w.check_rt(item.from_rt, "data.from_rt")
    if from_city != to_city:
        raise Rejected(
            "data.from_rt",
            "RT asal dan RT tujuan harus di kota yang sama; pindah antarkota memakai "
            "pindah_keluar dan pindah_datang (both RTs must be in one city)",
        )
    resident = await w.resident(item.nik)
    if resident is None or not w.in_scope(resident["city_code"]):
        raise unknown_nik("nik", item.nik)
    ensure_active(resident, "nik")
    if resident["rt_code"] != item.from_rt:
        raise Rejected(
            "data.from_rt",
            f"penduduk tidak tercatat di RT asal {item.from_rt} (the resident is not in from_rt)",
        )
    city = to_city
    event_date = await w.local_date(city)
    await w.begin(city, item.rt)
    nik = resident["nik"]
    await w.conn.execute(
        "UPDATE resident SET rt_code = $1, city_code = $2, updated_at = $3 WHERE nik = $4",
        item.rt,
        city,
        w.now,
        nik,
    )
    if resident["no_kk"] is not None:
        # A household lives where its head lives.
        await w.conn.execute(
            "UPDATE household SET rt_code = $1, updated_at = $2 WHERE no_kk = $3 AND head_nik = $4",
            item.rt,
            w.now,
            resident["no_kk"],
            nik,
        )
    before, after = {"rt": item.from_rt}, {"rt": item.rt}
    w.change(nik, city, item.from_rt, fx.RESIDENT_MOVED_OUT, event_date, before, after)
    w.change(nik, city, item.rt, fx.RESIDENT_MOVED_IN, event_date, before, after)
    name = resident["name"]
    w.event(city, item.from_rt, fx.RESIDENT_MOVED_OUT, name, nik, to_rt=item.rt)
    w.event(city, item.rt, fx.RESIDENT_MOVED_IN, name, nik, to_rt=item.rt, from_rt=item.from_rt)


def _resident_values(person: ResidentInput) -> dict[str, Any]:
    return {column: getattr(person, column) for column in RESIDENT_DATA_COLUMNS}


async def _birth(w: ServiceWriter) -> None:
    """akta_kelahiran: the child is added to the item's RT."""
    item = w.item
    child = item.resident
    assert child is not None and item.rt is not None
    city = await w.check_rt(item.rt, "rt")
    existing = await w.conn.fetchval("SELECT status FROM resident WHERE nik = $1", item.nik)
    if existing is not None:
        raise Rejected(
            "nik",
            f"NIK {mask_nik(item.nik)} sudah terdaftar; kelahiran harus NIK baru "
            "(the NIK is already in the ledger)",
        )
    if child.birth_date > await w.local_date(city):
        raise Rejected(
            "data.child.birth_date",
            "tanggal lahir sesudah waktu selesai layanan (birth_date is after completed_at)",
        )
    values = _resident_values(child)
    if values["marital_status"] is None:
        values["marital_status"] = "belum_kawin"
    has_household = await w.ensure_household(child.no_kk, "data.child.no_kk")
    await w.begin(city, item.rt)
    await _insert_resident(w, item.nik, values, item.rt, city)
    if not has_household:
        await w.create_household(child.no_kk, item.rt, city)
    after = dict(values, rt=item.rt, status="active")
    w.change(item.nik, city, item.rt, fx.RESIDENT_ADDED, child.birth_date, None, after)
    w.event(city, item.rt, fx.RESIDENT_ADDED, child.name, item.nik)


async def _insert_resident(
    w: ServiceWriter, nik: str, values: dict[str, Any], rt_code: str, city: str
) -> None:
    await w.conn.execute(
        _INSERT_RESIDENT,
        nik,
        *(values[c] for c in RESIDENT_DATA_COLUMNS),
        rt_code,
        city,
        "active",
        "service",
        w.now,
        w.now,
    )


async def _move_in(w: ServiceWriter) -> None:
    """pindah_datang: added, or a moved-out resident re-activated, in the item's RT."""
    item = w.item
    person = item.resident
    assert person is not None and item.rt is not None
    city = await w.check_rt(item.rt, "rt")
    full = "nik, " + ", ".join(RESIDENT_DATA_COLUMNS) + ", rt_code, city_code, status"
    existing = await w.resident(item.nik, full)
    if existing is not None and existing["status"] != "moved_out":
        if existing["status"] == "active":
            message = (
                f"NIK {mask_nik(item.nik)} masih aktif di buku induk; kirim pindah_keluar "
                "atau pindah_dalam (the resident is still active)"
            )
        else:
            message = f"NIK {mask_nik(item.nik)} tercatat meninggal (the resident is deceased)"
        raise Rejected("nik", message)
    event_date = await w.local_date(city)
    values = _resident_values(person)
    if existing is not None:
        # Fields the new record leaves out keep what the ledger knew.
        values = {c: (values[c] if values[c] is not None else existing[c]) for c in values}
    has_household = await w.ensure_household(person.no_kk, "data.resident.no_kk")
    await w.begin(city, item.rt)
    if existing is None:
        await _insert_resident(w, item.nik, values, item.rt, city)
        before = None
        after: dict[str, Any] = dict(values, rt=item.rt, status="active")
    else:
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(RESIDENT_DATA_COLUMNS, 1))
        n = len(RESIDENT_DATA_COLUMNS)
        await w.conn.execute(
            f"UPDATE resident SET {assignments}, rt_code = ${n + 1}, city_code = ${n + 2},"
            f" status = ${n + 3}, date_of_death = NULL, updated_at = ${n + 4}"
            f" WHERE nik = ${n + 5}",
            *(values[c] for c in RESIDENT_DATA_COLUMNS),
            item.rt,
            city,
            "active",
            w.now,
            item.nik,
        )
        new = dict(values, rt_code=item.rt, city_code=city, status="active")
        changed = [c for c in new if new[c] != existing[c]]
        before = {c: existing[c] for c in changed}
        after = {c: new[c] for c in changed}
        old_kk = existing["no_kk"]
        if old_kk is not None and old_kk != values["no_kk"]:
            await w.conn.execute(
                _INSERT_KK_HISTORY, item.nik, old_kk, existing["shdk"], event_date, w.record_id
            )
    if not has_household:
        await w.create_household(person.no_kk, item.rt, city)
    after["origin"] = item.origin
    w.change(item.nik, city, item.rt, fx.RESIDENT_MOVED_IN, event_date, before, after)
    w.event(
        city,
        item.rt,
        fx.RESIDENT_MOVED_IN,
        person.name,
        item.nik,
        to_rt=item.rt,
        origin=item.origin,
    )


async def _kk(w: ServiceWriter) -> None:
    """kk: the household is set to exactly the listed members; the item's nik heads it."""
    item = w.item
    no_kk = item.no_kk
    assert no_kk is not None
    head, head_rt, head_city = await w.subject()
    member_niks = [nik for nik, _ in item.members]
    marks = ", ".join(f"${i}" for i in range(1, len(member_niks) + 1))
    rows = await w.conn.fetch(
        f"SELECT nik, name, shdk, no_kk, rt_code, city_code, status FROM resident"
        f" WHERE nik IN ({marks})",
        *member_niks,
    )
    found = {row["nik"]: _as_dict(row) for row in rows}
    for index, (nik, _) in enumerate(item.members):
        member = found.get(nik)
        field_name = f"data.members[{index}].nik"
        if member is None or not w.in_scope(member["city_code"]):
            raise Rejected(
                field_name,
                f"anggota {mask_nik(nik)} tidak terdaftar di buku induk kota Anda (unknown member)",
            )
        if member["status"] != "active":
            ensure_active(member, field_name)
    current = await w.conn.fetch(
        "SELECT nik, shdk, rt_code, city_code FROM resident WHERE no_kk = $1", no_kk
    )
    leaving = sorted(
        (_as_dict(r) for r in current if r["nik"] not in found), key=lambda r: r["nik"]
    )
    for resident in leaving:
        if not w.in_scope(resident["city_code"]):
            raise Rejected(
                "data.no_kk",
                "KK ini memuat penduduk di luar kota Anda (this KK holds residents "
                "outside your city)",
            )
    event_date = await w.local_date(head_city)
    record_id = await w.begin(head_city, head_rt)
    conn, now = w.conn, w.now
    touched_rts: dict[str, str] = {}  # rt -> city, in first-seen order
    for nik, shdk in sorted(item.members):
        member = found[nik]
        old_kk, old_shdk = member["no_kk"], member["shdk"]
        if member["rt_code"] is not None:
            touched_rts.setdefault(member["rt_code"], member["city_code"])
        if old_kk == no_kk and old_shdk == shdk:
            if nik == head["nik"]:
                w.change(
                    nik,
                    member["city_code"],
                    member["rt_code"],
                    fx.HOUSEHOLD_CHANGED,
                    event_date,
                    None,
                    {"no_kk": no_kk, "shdk": shdk},
                )
            continue
        if old_kk is not None and old_kk != no_kk:
            await conn.execute(_INSERT_KK_HISTORY, nik, old_kk, old_shdk, event_date, record_id)
            await conn.execute(
                "UPDATE household SET head_nik = NULL, updated_at = $1"
                " WHERE no_kk = $2 AND head_nik = $3",
                now,
                old_kk,
                nik,
            )
        await conn.execute(
            "UPDATE resident SET no_kk = $1, shdk = $2, updated_at = $3 WHERE nik = $4",
            no_kk,
            shdk,
            now,
            nik,
        )
        w.change(
            nik,
            member["city_code"],
            member["rt_code"],
            fx.HOUSEHOLD_CHANGED,
            event_date,
            {"no_kk": old_kk, "shdk": old_shdk},
            {"no_kk": no_kk, "shdk": shdk},
        )
    for resident in leaving:
        nik = resident["nik"]
        await conn.execute(_INSERT_KK_HISTORY, nik, no_kk, resident["shdk"], event_date, record_id)
        await conn.execute(
            "UPDATE resident SET no_kk = NULL, updated_at = $1 WHERE nik = $2", now, nik
        )
        if resident["rt_code"] is not None:
            touched_rts.setdefault(resident["rt_code"], resident["city_code"])
        w.change(
            nik,
            resident["city_code"],
            resident["rt_code"],
            fx.HOUSEHOLD_CHANGED,
            event_date,
            {"no_kk": no_kk},
            {"no_kk": None},
        )
    await conn.execute(
        "INSERT INTO household (no_kk, rt_code, city_code, head_nik, updated_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (no_kk) DO UPDATE SET"
        " rt_code = excluded.rt_code, city_code = excluded.city_code,"
        " head_nik = excluded.head_nik, updated_at = excluded.updated_at",
        no_kk,
        head_rt,
        head_city,
        head["nik"],
        now,
    )
    w.document_number = item.document_number or no_kk
    for rt_code, city in touched_rts.items():
        w.event(city, rt_code, fx.HOUSEHOLD_CHANGED, head["name"], head["nik"])


HANDLERS: dict[str, Callable[[ServiceWriter], Awaitable[None]]] = {
    fx.KTP_EL: _document,
    fx.KIA: _document,
    fx.KK: _kk,
    fx.AKTA_KELAHIRAN: _birth,
    fx.AKTA_KEMATIAN: _death,
    fx.PINDAH_KELUAR: _move_out,
    fx.PINDAH_DATANG: _move_in,
    fx.PINDAH_DALAM: _move_within,
    fx.AKTA_PERKAWINAN: _marital,
    fx.AKTA_PERCERAIAN: _marital,
}


async def apply_service(
    conn: Connection,
    principal: Principal,
    item: ServiceItem,
    issues: Issues,
    now: datetime,
    cache: BatchCache,
    pending: PendingWrites | None = None,
) -> None:
    """Apply one service; raises Rejected or Duplicate (and then nothing is kept), or
    any database error.

    Without ``pending``: in a transaction of its own, committed on return. With it:
    inside the caller's (batch) transaction, the document, history and feed rows
    queued in ``pending`` for the caller to flush before commit. No savepoint is
    needed there, as every refusal comes before the first write; should one come
    later, a RuntimeError tells the caller to roll back the batch.
    """
    writer = ServiceWriter(conn, principal, item, issues, now.astimezone(UTC), cache)
    if pending is None:
        async with conn.transaction():
            await HANDLERS[item.type](writer)
            writer.queue_document(writer.pending)
            await writer.pending.flush(conn, writer.now)
        return
    try:
        await HANDLERS[item.type](writer)
    except (Rejected, Duplicate):
        if writer.record_id is not None:
            raise RuntimeError("a service was refused after its first write") from None
        raise
    writer.queue_document(pending)
