"""Realistic completed registry services for a loaded city (POST /api/v1/services items).

The mix follows what a Disdukcapil office completes in a day: many KTP-el, KIA and
KK, then births, moves and deaths. Each item is valid against the ledger as it will
be when the items are applied in order: a resident dies, moves or changes household
at most once per run, new NIKs (births, arrivals) are unused, and a move within the
city names the RT the resident is in.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import asyncpg

from rtbook.core.settings import DatabaseURL
from rtbook.synthetic import kecamatan_digits

WITA = timezone(timedelta(hours=8))

# (type, weight): shares of a day's completed services.
MIX: tuple[tuple[str, float], ...] = (
    ("ktp_el", 0.28),
    ("kia", 0.14),
    ("kk", 0.14),
    ("akta_kelahiran", 0.12),
    ("pindah_dalam", 0.08),
    ("pindah_datang", 0.06),
    ("pindah_keluar", 0.06),
    ("akta_kematian", 0.05),
    ("akta_perkawinan", 0.05),
    ("akta_perceraian", 0.02),
)
ORIGINS = ("KOTA SAMARINDA", "KOTA MAKASSAR", "KAB. PENAJAM PASER UTARA", "KOTA SURABAYA")
NAMES_L = ("RIZKY", "FAJAR", "ARDI", "BAYU", "DIMAS", "GILANG", "HENDRA", "IRFAN", "YUSUF")
NAMES_P = ("AULIA", "DEWI", "FITRI", "INDAH", "NADIA", "PUTRI", "SARI", "WULAN", "ZAHRA")


@dataclass(slots=True)
class Person:
    nik: str
    name: str
    sex: str
    birth_date: date
    rt: str
    no_kk: str | None
    shdk: str | None
    marital: str | None


async def load_people(url: DatabaseURL) -> list[Person]:
    """Every active resident (read once, outside the timed part)."""
    sql = (
        "SELECT nik, name, sex, birth_date, rt_code, no_kk, shdk, marital_status"
        " FROM resident WHERE status = 'active' ORDER BY nik"
    )
    if url.dialect == "sqlite":
        import sqlite3

        assert url.sqlite_path is not None
        conn = sqlite3.connect(url.sqlite_path)
        try:
            rows = conn.execute(sql).fetchall()
        finally:
            conn.close()
        return [
            Person(r[0], r[1], r[2], date.fromisoformat(r[3]), r[4], r[5], r[6], r[7]) for r in rows
        ]
    pg = await asyncpg.connect(url.raw)
    try:
        rows = await pg.fetch(sql)
    finally:
        await pg.close()
    return [Person(*r) for r in rows]


class ServiceMix:
    """An endless, deterministic stream of valid service items."""

    def __init__(
        self, people: Sequence[Person], rts: Sequence[str], *, seed: int = 0, source: str
    ) -> None:
        self.rng = random.Random(seed)
        self.source = source
        self.rts = list(rts)
        self.today = datetime.now(WITA).date()
        self.people = list(people)
        self.taken: set[str] = set()  # residents already moved, dead or re-housed
        self.niks = {p.nik for p in people}
        self.kks = {p.no_kk for p in people if p.no_kk}
        self.households: dict[str, list[Person]] = {}
        for p in people:
            if p.no_kk:
                self.households.setdefault(p.no_kk, []).append(p)
        self.serial = 0
        self.types = [t for t, _ in MIX]
        self.weights = [w for _, w in MIX]

    # -- helpers

    def _age(self, p: Person) -> int:
        b, t = p.birth_date, self.today
        return t.year - b.year - ((t.month, t.day) < (b.month, b.day))

    def _someone(self, ok: Any, *, take: bool) -> Person | None:
        """A random resident meeting ``ok``; ``take`` reserves them for the run."""
        for _ in range(200):
            p = self.people[self.rng.randrange(len(self.people))]
            if p.nik in self.taken or not ok(p):
                continue
            if take:
                self.taken.add(p.nik)
            return p
        return None

    def _new_nik(self, rt: str, born: date, sex: str, region: str | None = None) -> str:
        region = region or kecamatan_digits(rt)
        day = born.day + (40 if sex == "P" else 0)
        prefix = f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}"
        for serial in range(9999, 0, -1):
            nik = f"{prefix}{serial:04d}"
            if nik not in self.niks:
                self.niks.add(nik)
                return nik
        raise RuntimeError("no free NIK serial")

    def _new_kk(self, rt: str) -> str:
        while True:
            issued = self.today - timedelta(days=self.rng.randrange(0, 5))
            serial = self.rng.randrange(5000, 10000)
            no_kk = f"{kecamatan_digits(rt)}{issued:%d%m%y}{serial:04d}"
            if no_kk not in self.kks:
                self.kks.add(no_kk)
                return no_kk

    def _item(self, service_type: str, nik: str, **extra: Any) -> dict[str, Any]:
        self.serial += 1
        completed = datetime.now(WITA) - timedelta(minutes=self.rng.randrange(5, 600))
        item: dict[str, Any] = {
            "source": self.source,
            "id": f"{self.serial:09d}",
            "type": service_type,
            "completed_at": completed.isoformat(timespec="seconds"),
            "nik": nik,
            "data": {},
        }
        item.update(extra)
        return item

    # -- one item per type

    def ktp_el(self) -> dict[str, Any] | None:
        p = self._someone(lambda p: self._age(p) >= 17, take=False)
        return p and self._item("ktp_el", p.nik, document_number=p.nik)

    def kia(self) -> dict[str, Any] | None:
        p = self._someone(lambda p: self._age(p) < 17, take=False)
        return p and self._item("kia", p.nik, document_number=f"KIA-{p.nik[-8:]}")

    def kk(self) -> dict[str, Any] | None:
        """Pecah KK: an adult child starts a household of their own."""
        p = self._someone(lambda p: p.shdk == "anak" and self._age(p) >= 21, take=True)
        if p is None:
            return None
        no_kk = self._new_kk(p.rt)
        members = [{"nik": p.nik, "shdk": "kepala_keluarga"}]
        return self._item("kk", p.nik, data={"no_kk": no_kk, "members": members})

    def akta_kelahiran(self) -> dict[str, Any] | None:
        mother = self._someone(
            lambda p: p.shdk == "istri" and 20 <= self._age(p) <= 40 and p.no_kk, take=False
        )
        if mother is None:
            return None
        sex = "L" if self.rng.random() < 0.51 else "P"
        born = self.today - timedelta(days=self.rng.randrange(1, 60))
        nik = self._new_nik(mother.rt, born, sex)
        father = next(
            (
                m.name
                for m in self.households.get(mother.no_kk or "", [])
                if m.shdk == "kepala_keluarga"
            ),
            "",
        )
        given = self.rng.choice(NAMES_L if sex == "L" else NAMES_P)
        child = {
            "name": f"{given} {father.split()[-1]}" if father else given,
            "sex": sex,
            "birth_place": "BALIKPAPAN",
            "birth_date": born.isoformat(),
            "religion": "islam",
            "shdk": "anak",
            "citizenship": "WNI",
            "no_kk": mother.no_kk,
            "father_name": father,
            "mother_name": mother.name,
        }
        return self._item(
            "akta_kelahiran",
            nik,
            rt=mother.rt,
            document_number=f"6471-LT-{born:%d%m%Y}-{self.serial:04d}",
            data={"child": child},
        )

    def pindah_dalam(self) -> dict[str, Any] | None:
        p = self._someone(lambda p: True, take=True)
        if p is None:
            return None
        to_rt = self.rng.choice(self.rts)
        while to_rt == p.rt and len(self.rts) > 1:
            to_rt = self.rng.choice(self.rts)
        if to_rt == p.rt:
            return None
        return self._item("pindah_dalam", p.nik, rt=to_rt, data={"from_rt": p.rt})

    def pindah_datang(self) -> dict[str, Any] | None:
        rt = self.rng.choice(self.rts)
        sex = "L" if self.rng.random() < 0.55 else "P"
        born = date(
            self.rng.randrange(1970, 2004), self.rng.randrange(1, 13), self.rng.randrange(1, 29)
        )
        nik = self._new_nik(rt, born, sex, region="647201")  # first registered in Samarinda
        resident = {
            "name": f"{self.rng.choice(NAMES_L if sex == 'L' else NAMES_P)} PRATAMA",
            "sex": sex,
            "birth_place": "SAMARINDA",
            "birth_date": born.isoformat(),
            "religion": "islam",
            "occupation": "KARYAWAN SWASTA",
            "marital_status": "belum_kawin",
            "shdk": "kepala_keluarga",
            "citizenship": "WNI",
            "no_kk": self._new_kk(rt),
            "address": "JL. MT HARYONO NO. 12",
        }
        return self._item(
            "pindah_datang",
            nik,
            rt=rt,
            data={"resident": resident, "origin": self.rng.choice(ORIGINS)},
        )

    def pindah_keluar(self) -> dict[str, Any] | None:
        p = self._someone(lambda p: self._age(p) >= 18, take=True)
        return p and self._item(
            "pindah_keluar", p.nik, data={"destination": self.rng.choice(ORIGINS)}
        )

    def akta_kematian(self) -> dict[str, Any] | None:
        p = self._someone(lambda p: self._age(p) >= 60, take=True)
        if p is None:
            return None
        died = self.today - timedelta(days=self.rng.randrange(1, 20))
        return self._item("akta_kematian", p.nik, data={"date_of_death": died.isoformat()})

    def akta_perkawinan(self) -> dict[str, Any] | None:
        p = self._someone(lambda p: p.marital == "belum_kawin" and self._age(p) >= 21, take=True)
        return p and self._item("akta_perkawinan", p.nik)

    def akta_perceraian(self) -> dict[str, Any] | None:
        p = self._someone(lambda p: p.marital == "kawin", take=True)
        return p and self._item("akta_perceraian", p.nik)

    # -- the stream

    def items(self) -> Iterator[dict[str, Any]]:
        while True:
            service_type = self.rng.choices(self.types, self.weights)[0]
            item = getattr(self, service_type)()
            if item is not None:
                yield item

    def batch(self, size: int) -> list[dict[str, Any]]:
        stream = self.items()
        return [next(stream) for _ in range(size)]

    def batch_for_rts(self, rts: Sequence[str], size: int) -> list[dict[str, Any]]:
        """Items about residents of ``rts`` only (to fill those RTs' feeds)."""
        wanted = set(rts)
        people, self.people = self.people, [p for p in self.people if p.rt in wanted]
        rt_choices, self.rts = self.rts, list(rts)
        try:
            return self.batch(size)
        finally:
            self.people, self.rts = people, rt_choices
