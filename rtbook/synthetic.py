"""A realistic synthetic city: resident rows for demos, tests and benchmarks.

The rows look like a Balikpapan RT's book as the registry writes it: households of one
to seven people (about three on average) with one kepala keluarga each, spouses,
children, sometimes a parent, a grandchild or another relative; ages that follow a
young-heavy population pyramid (about 8 % aged 60 and over); religions in Balikpapan's
proportions; names in upper case; NIKs whose digits agree with birth date and sex and
are unique across everything one call yields; a No. KK per household.

Speed matters (a whole city is ~760,000 rows), so Faker is only read once for its
name lists, and every draw comes from one ``random.Random(seed)``: the same arguments
always give the same rows.
"""

from __future__ import annotations

import csv
import random
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path

from rtbook.core.validation import RESIDENT_FIELDS

# -- pools -----------------------------------------------------------------------------

# Balikpapan 2020 (BPS): Islam ~86.6 %, Kristen ~8.5 %, Katolik ~3.9 %, Buddha ~0.7 %,
# Hindu ~0.2 %, Khonghucu a handful.
_RELIGIONS = ("islam", "kristen", "katolik", "buddha", "hindu", "khonghucu")
_RELIGION_CUM = (0.8662, 0.9512, 0.9902, 0.9972, 0.9994, 1.0)
_FAITH = {"islam": "islam", "kristen": "christian", "katolik": "christian"}
_FAITH.update(buddha="other", hindu="other", khonghucu="other")

# Kinds of household: one person alone, a married couple (with or without children),
# a widowed or divorced parent with children.
_SINGLE = 0.17
_COUPLE = 0.71
# Children a mother has over her life (Indonesia's fertility rate is about 2.2).
_BIRTHS = (0, 1, 2, 3, 4, 5, 6)
_BIRTHS_CUM = (0.09, 0.27, 0.64, 0.87, 0.95, 0.99, 1.0)

# Age of the head of a family (brackets and their cumulative weight).
_HEAD_AGE_BRACKETS = ((21, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 84))
_HEAD_AGE_CUM = (0.15, 0.44, 0.72, 0.89, 0.97, 1.0)

# Blood group: most people never filled it in; of those who did (Indonesia) O > B > A > AB.
_BLOOD = ("O", "B", "A", "AB")
_BLOOD_CUM = (0.37, 0.66, 0.92, 1.0)
_BLOOD_KNOWN = 0.35
_PHONE_KNOWN_ADULT = 0.12
_PHONE_PREFIXES = ("11", "12", "13", "21", "22", "52", "53", "57", "77", "78", "95", "96")

_BORN_ELSEWHERE = (
    "SAMARINDA",
    "MAKASSAR",
    "SURABAYA",
    "BANJARMASIN",
    "PAREPARE",
    "BONE",
    "MALANG",
    "YOGYAKARTA",
    "SEMARANG",
    "JAKARTA",
    "PALU",
    "MANADO",
    "TENGGARONG",
    "PENAJAM",
    "KEDIRI",
    "SOLO",
    "MEDAN",
    "BANDUNG",
    "TARAKAN",
    "KENDARI",
)

_STREETS = (
    "JENDERAL SUDIRMAN",
    "MT HARYONO",
    "MARSMA R ISWAHYUDI",
    "SYARIFUDDIN YOES",
    "ARES MUSTAFA",
    "SOEKARNO HATTA",
    "A YANI",
    "PANGERAN ANTASARI",
    "DR SUTOMO",
    "LETJEN SUPRAPTO",
    "MAYJEN SUTOYO",
    "PARIKESIT",
    "INPRES II",
    "PRAPATAN DALAM",
    "GUNUNG MALANG",
    "PENEGAK",
    "BERUANG",
    "SEPINGGAN BARU",
    "MULAWARMAN",
    "PUPUK RAYA",
    "RUHUI RAHAYU",
    "AW SYAHRANIE",
    "PATIMURA",
    "GAJAH MADA",
    "KOL SYARIFUDDIN",
    "SOEPRAPTO",
    "MARTADINATA",
    "MANUNGGAL",
    "TELINDUNG",
    "BATU AMPAR",
    "GRAHA INDAH",
    "KARANG JOANG",
    "DAMAI",
    "MELATI",
    "MAWAR",
    "ANGGREK",
    "KENANGA",
    "CEMPAKA",
    "FLAMBOYAN",
    "PERMATA",
    "MERPATI",
    "KUTILANG",
    "NURI",
    "RAJAWALI",
    "SEMANGKA",
    "DURIAN",
    "RAMBUTAN",
    "SIAGA",
    "SWADAYA",
    "SETIA KAWAN",
)

_EDU_ADULT = (
    "TIDAK/BELUM SEKOLAH",
    "TAMAT SD/SEDERAJAT",
    "SLTP/SEDERAJAT",
    "SLTA/SEDERAJAT",
    "DIPLOMA I/II",
    "AKADEMI/DIPLOMA III/S. MUDA",
    "DIPLOMA IV/STRATA I",
    "STRATA II",
)
_EDU_ADULT_CUM = (0.03, 0.15, 0.30, 0.72, 0.76, 0.83, 0.98, 1.0)
_EDU_SLTA = _EDU_ADULT.index("SLTA/SEDERAJAT")

_JOBS_MAN = (
    "KARYAWAN SWASTA",
    "WIRASWASTA",
    "BURUH HARIAN LEPAS",
    "PEGAWAI NEGERI SIPIL (PNS)",
    "KARYAWAN BUMN",
    "PEDAGANG",
    "SOPIR",
    "TENTARA NASIONAL INDONESIA (TNI)",
    "KEPOLISIAN RI (POLRI)",
    "NELAYAN/PERIKANAN",
    "TUKANG BATU",
    "MEKANIK",
    "GURU",
)
_JOBS_MAN_CUM = (0.38, 0.56, 0.66, 0.72, 0.78, 0.84, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98, 1.0)
_JOBS_WOMAN = (
    "KARYAWAN SWASTA",
    "WIRASWASTA",
    "PEDAGANG",
    "PEGAWAI NEGERI SIPIL (PNS)",
    "GURU",
    "PERAWAT",
    "BIDAN",
)
_JOBS_WOMAN_CUM = (0.40, 0.62, 0.78, 0.88, 0.95, 0.98, 1.0)

_ISLAMIC_MALE = ("MUHAMMAD", "AHMAD", "ABDUL", "MOH.")
_ISLAMIC_FEMALE = ("SITI", "NUR", "SRI")
_CHRISTIAN_MALE = ("YOHANES", "PETRUS", "PAULUS", "STEFANUS", "ANDREAS", "MARKUS", "YOSEF")
_CHRISTIAN_FEMALE = ("MARIA", "MAGDALENA", "ELISABETH", "KRISTINA", "MARTHA", "YOHANA")


def _name_pools() -> tuple[tuple[str, ...], ...]:
    """Upper-case first and last names from Faker's id_ID locale (read once)."""
    from faker.providers.person.id_ID import Provider

    def up(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({n.upper() for n in names}))

    return (
        up(Provider.first_names_male),
        up(Provider.first_names_female),
        up(Provider.last_names_male),
        up(Provider.last_names_female),
    )


# -- the generator -----------------------------------------------------------------------

_EDU_CHILD = tuple(
    "TIDAK/BELUM SEKOLAH"
    if age < 5
    else "BELUM TAMAT SD/SEDERAJAT"
    if age < 13
    else "TAMAT SD/SEDERAJAT"
    if age < 16
    else "SLTP/SEDERAJAT"
    for age in range(19)
)
# One draw gives "no blood group" (most rows) or a group.
_BLOOD_ALL = ("", *_BLOOD)
_BLOOD_ALL_CUM = (1 - _BLOOD_KNOWN, *(1 - _BLOOD_KNOWN + _BLOOD_KNOWN * c for c in _BLOOD_CUM))


class _Person:
    __slots__ = ("age", "father", "homemaker", "marital", "mother", "name", "sex", "shdk")

    def __init__(
        self,
        shdk: str,
        sex: str,
        age: int,
        marital: str,
        name: str,
        father: str,
        mother: str,
        homemaker: float = 0.0,
    ) -> None:
        self.shdk, self.sex, self.age, self.marital = shdk, sex, age, marital
        self.name, self.father, self.mother = name, father, mother
        self.homemaker = homemaker  # chance that a working-age woman keeps house


class _City:
    """The state of one generation run: the random source and the serial counters that
    keep NIK and No. KK unique.

    ``random.Random.choice``/``randint``/``choices`` cost about a microsecond each, which
    adds up over tens of millions of draws, so draws go through ``random()`` and the
    small helpers below (one seeded source: the output stays deterministic).
    """

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.r = self.rng.random
        self.today_ord = today.toordinal()
        self.nik_serial: dict[int, int] = {}
        self.kk_serial: dict[int, int] = {}
        self.dates: dict[int, tuple[str, int, int]] = {}
        self._build_name_pools()

    # -- draws

    def pick(self, seq: Sequence[str]) -> str:
        return seq[int(self.r() * len(seq))]

    def between(self, lo: int, hi: int) -> int:
        """A whole number in [lo, hi]."""
        return lo + int(self.r() * (hi - lo + 1))

    # -- names

    def _build_name_pools(self) -> None:
        """Given names (with the religious first names many people carry) per sex and
        faith, and family names padded with blanks for the people who have none: a name
        then costs two draws."""
        first_m, first_f, last_m, last_f = _name_pools()
        self.given: dict[tuple[str, str], tuple[str, ...]] = {}
        for faith, male_prefixes, female_prefixes, share_m, share_f in (
            ("islam", _ISLAMIC_MALE, _ISLAMIC_FEMALE, 0.18, 0.15),
            ("christian", _CHRISTIAN_MALE, _CHRISTIAN_FEMALE, 0.35, 0.35),
            ("other", (), (), 0.0, 0.0),
        ):
            for sex, firsts, prefixes, share in (
                ("L", first_m, male_prefixes, share_m),
                ("P", first_f, female_prefixes, share_f),
            ):
                pool = list(firsts)
                extra = round(len(firsts) * share / (1 - share))
                pool += [f"{self.pick(prefixes)} {self.pick(firsts)}" for _ in range(extra)]
                self.given[sex, faith] = tuple(pool)
        # 60 % of men and 55 % of women carry a family name.
        self.family = {"L": _with_blanks(last_m, 0.6), "P": _with_blanks(last_f, 0.55)}
        # Ready-made full names for parents' names, which every row carries: one draw.
        self.full = {key: tuple(self.name(*key) for _ in range(4096)) for key in self.given}

    def parent_name(self, sex: str, faith: str) -> str:
        pool = self.full[sex, faith]
        return pool[int(self.r() * 4096)]

    def name(self, sex: str, faith: str) -> str:
        given, family, r = self.given[sex, faith], self.family[sex], self.r
        return given[int(r() * len(given))] + family[int(r() * len(family))]

    # -- identity numbers

    def birth(self, age: int) -> tuple[str, int, int]:
        """A birth date ``age`` whole years ago: (YYYY-MM-DD, DDMMYY, DDMMYY with 40 added
        to the day), as a NIK writes it for men and for women."""
        ordinal = self.today_ord - int((age + self.r()) * 365.2425)
        known = self.dates.get(ordinal)
        if known is None:
            born = date.fromordinal(ordinal)
            ddmmyy = born.day * 10_000 + born.month * 100 + born.year % 100
            known = self.dates[ordinal] = (born.isoformat(), ddmmyy, ddmmyy + 400_000)
        return known

    def nik(self, region: int, ddmmyy: int) -> str:
        """Region digits, birth DDMMYY, then a serial unique for that prefix."""
        key = region * 1_000_000 + ddmmyy
        serial = self.nik_serial.get(key, 0) + 1
        if serial > 9999:  # pragma: no cover - needs 10,000 same-day births in a kecamatan
            raise ValueError("NIK serial exhausted for one birth date")
        self.nik_serial[key] = serial
        return f"{key}{serial:04d}"

    def no_kk(self, region: int) -> str:
        """Region, DDMMYY the card was issued (within the last 15 years), serial."""
        issued = date.fromordinal(self.today_ord - self.between(30, 15 * 365))
        key = region * 1_000_000 + issued.day * 10_000 + issued.month * 100
        key += issued.year % 100
        serial = self.kk_serial.get(key, 0) + 1
        self.kk_serial[key] = serial
        return f"{key}{serial:04d}"

    # -- a household's people

    def household(self, faith: str) -> list[_Person]:
        """The members of one household, head first."""
        r, between, name, parent_name = self.r, self.between, self.name, self.parent_name
        members: list[_Person] = []

        def add(
            shdk: str, sex: str, age: int, marital: str, own: str = "", homemaker: float = 0.0
        ) -> _Person:
            person = _Person(
                shdk,
                sex,
                age,
                marital,
                own or name(sex, faith),
                parent_name("L", faith),
                parent_name("P", faith),
                homemaker,
            )
            members.append(person)
            return person

        kind = r()
        if kind < _SINGLE:
            x = r()
            if x < 0.5:  # a young worker who came to the city
                add("kepala_keluarga", "L" if r() < 0.7 else "P", between(19, 34), "belum_kawin")
            elif x < 0.8:  # a widow or widower
                add("kepala_keluarga", "P" if r() < 0.75 else "L", between(55, 88), "cerai_mati")
            else:
                add("kepala_keluarga", "L" if r() < 0.5 else "P", between(28, 60), "cerai_hidup")
            return members

        lo, hi = _HEAD_AGE_BRACKETS[bisect_right(_HEAD_AGE_CUM, r())]
        head_age = between(lo, hi)
        if kind < _SINGLE + _COUPLE:
            if r() < 0.97:
                head = add("kepala_keluarga", "L", head_age, "kawin")
                mother = add("istri", "P", max(19, head_age - between(-2, 9)), "kawin", "", 0.55)
                father = head
            else:
                head = add("kepala_keluarga", "P", head_age, "kawin", "", 0.2)
                father = add("suami", "L", max(19, head_age + between(-2, 6)), "kawin")
                mother = head
            mother_age = mother.age
            father_name, mother_name = father.name, mother.name
        else:  # a widowed or divorced parent
            head_age = max(head_age, 27)
            marital = "cerai_mati" if head_age >= 50 or r() < 0.4 else "cerai_hidup"
            if r() < 0.72:
                head = add("kepala_keluarga", "P", head_age, marital, "", 0.2)
                mother_age = head_age
                father_name, mother_name = name("L", faith), head.name
            else:
                head = add("kepala_keluarga", "L", head_age, marital)
                mother_age = max(19, head_age - between(0, 8))
                father_name, mother_name = head.name, name("P", faith)

        # Children: the mother's births (first at 19-30, then every 2-5 years, up to
        # about 40) that have happened; minors live at home, most young adults too,
        # few over 30.
        births = _BIRTHS[bisect_right(_BIRTHS_CUM, r())]
        age = mother_age - between(19, 30)
        family = _family_name(father_name) if r() < 0.5 else ""
        given = self.given
        while births and age >= 0 and mother_age - age <= 41:
            births -= 1
            if age < 18 or (age <= 30 and r() < 0.6) or r() < 0.05:
                sex = "L" if r() < 0.51 else "P"
                if family:
                    pool = given[sex, faith]
                    own = pool[int(r() * len(pool))] + family
                else:
                    own = name(sex, faith)
                members.append(
                    _Person("anak", sex, age, "belum_kawin", own, father_name, mother_name)
                )
            age -= between(2, 5)

        # Other relatives: the head's parent, grandchildren, a nephew or niece.
        x = r()
        if head_age <= 52 and x < 0.07:
            sex = "P" if r() < 0.7 else "L"
            parent = head.father if sex == "L" else head.mother
            add("orang_tua", sex, min(94, head_age + between(20, 34)), "cerai_mati", parent)
        elif head_age >= 50 and x < 0.3:
            for _ in range(between(1, 2)):
                sex = "L" if r() < 0.51 else "P"
                add("cucu", sex, between(0, min(14, head_age - 42)), "belum_kawin")
        elif x > 0.95:
            age = between(12, 30)
            sex = "L" if r() < 0.55 else "P"
            add("famili_lain", sex, age, "belum_kawin" if age < 25 else "kawin")
        return members[:7]

    # -- rows

    def rows(self, rt: str, region: int, address: str) -> list[dict[str, str]]:
        """One household as resident rows."""
        r = self.r
        religion = _RELIGIONS[bisect_right(_RELIGION_CUM, r())]
        members = self.household(_FAITH[religion])
        no_kk = self.no_kk(region)
        birth, nik = self.birth, self.nik
        rows = []
        for p in members:
            age, sex = p.age, p.sex
            born, ddmmyy_l, ddmmyy_p = birth(age)
            if age < 19:
                education = _EDU_CHILD[age]
                occupation = "BELUM/TIDAK BEKERJA" if age < 5 else "PELAJAR/MAHASISWA"
            else:
                level = bisect_right(_EDU_ADULT_CUM, r())
                if age < 23 and level > _EDU_SLTA:  # still studying for a degree
                    level = _EDU_SLTA
                education = _EDU_ADULT[level]
                occupation = self.occupation(age, sex, p.homemaker)
            home = 0.85 if age < 18 else 0.35
            x = r()
            if x < home:
                birth_place = "BALIKPAPAN"
            else:
                birth_place = _BORN_ELSEWHERE[int((x - home) / (1 - home) * len(_BORN_ELSEWHERE))]
            phone = ""
            if age >= 17 and r() < _PHONE_KNOWN_ADULT:
                prefix = _PHONE_PREFIXES[int(r() * len(_PHONE_PREFIXES))]
                phone = f"08{prefix}{10_000_000 + int(r() * 90_000_000)}"
            rows.append(
                {
                    "nik": nik(region, ddmmyy_p if sex == "P" else ddmmyy_l),
                    "name": p.name,
                    "sex": sex,
                    "birth_place": birth_place,
                    "birth_date": born,
                    "religion": religion,
                    "education": education,
                    "occupation": occupation,
                    "marital_status": p.marital,
                    "shdk": p.shdk,
                    "citizenship": "WNI",
                    "no_kk": no_kk,
                    "address": address,
                    "rt": rt,
                    "father_name": p.father,
                    "mother_name": p.mother,
                    "phone": phone,
                    "blood_type": _BLOOD_ALL[bisect_right(_BLOOD_ALL_CUM, r())],
                }
            )
        return rows

    def occupation(self, age: int, sex: str, homemaker: float) -> str:
        x = self.r()
        if age < 23 and x < 0.5:
            return "PELAJAR/MAHASISWA"
        if age >= 58:
            if x < 0.35:
                return "PENSIUNAN"
            if x < 0.6:
                return "MENGURUS RUMAH TANGGA" if sex == "P" else "BELUM/TIDAK BEKERJA"
            return "WIRASWASTA"
        if sex == "P":
            if x < homemaker:
                return "MENGURUS RUMAH TANGGA"
            return _JOBS_WOMAN[bisect_right(_JOBS_WOMAN_CUM, self.r())]
        if x < 0.05:
            return "BELUM/TIDAK BEKERJA"
        return _JOBS_MAN[bisect_right(_JOBS_MAN_CUM, self.r())]


def _with_blanks(last_names: Sequence[str], share: float) -> tuple[str, ...]:
    """ " NAME" entries for family names plus enough "" entries that ``share`` of the
    draws give a family name."""
    names = [f" {n}" for n in last_names]
    blanks = round(len(names) * (1 - share) / share)
    return tuple(names + [""] * blanks)


def _family_name(name: str) -> str:
    """The last word of a name with a leading space, or "" for a single-word name."""
    head, sep, last = name.rpartition(" ")
    return f" {last}" if sep and head else ""


def kecamatan_digits(rt_code: str) -> str:
    """The six region digits a NIK starts with: the RT's kecamatan code without dots."""
    return rt_code[:8].replace(".", "")


def generate_residents(
    rt_codes: Sequence[str], *, households_per_rt: int, seed: int = 0, today: date
) -> Iterator[dict[str, str]]:
    """Resident rows (the CSV field names of CONTRACT.md, all values strings) for
    ``households_per_rt`` households in each RT, RT by RT.

    About 3 residents per household. NIK and No. KK are unique across everything one
    call yields; the same arguments always yield the same rows.
    """
    city = _City(seed, today)
    rng = city.rng
    for rt in rt_codes:
        region = int(kecamatan_digits(rt))
        streets = rng.sample(_STREETS, rng.randint(1, 3))
        numbers = dict.fromkeys(streets, 0)
        for _ in range(households_per_rt):
            street = city.pick(streets)
            numbers[street] += city.between(1, 3)
            yield from city.rows(rt, region, f"JL. {street} NO. {numbers[street]}")


def spread_rts(kelurahan_codes: Sequence[str], count: int, *, rts_per_rw: int = 8) -> list[str]:
    """``count`` RT codes spread evenly over the kelurahan, ``rts_per_rw`` RTs per RW
    (RW 001 RT 001..008, RW 002 RT 009..., numbered on within a kelurahan as Balikpapan
    does)."""
    if not kelurahan_codes:
        raise ValueError("no kelurahan given")
    if count > 999 * len(kelurahan_codes):
        raise ValueError("more than 999 RTs per kelurahan")
    per = [count // len(kelurahan_codes)] * len(kelurahan_codes)
    for i in range(count % len(kelurahan_codes)):
        per[i] += 1
    codes = []
    for kelurahan, n in zip(kelurahan_codes, per, strict=True):
        for i in range(n):
            codes.append(f"{kelurahan}-{i // rts_per_rw + 1:03d}-{i + 1:03d}")
    return codes


def write_csv(path: str | Path, rows: Iterable[Mapping[str, str]]) -> int:
    """Write resident rows as a CSV with the contract's header; return the row count."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=RESIDENT_FIELDS, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
