"""Field validation shared by service ingestion, the CSV import and the CLI.

Validators collect every problem of a record instead of stopping at the first, so an
integrator or an admin fixing a file sees all of them at once. Messages are in Bahasa
Indonesia first, English in brackets.

Hard rules reject (NIK is exactly 16 ASCII digits: ``\\d`` would let full-width digits
through, so patterns use ``[0-9]``). What real registry data carries by old mistake,
such as a NIK whose embedded birth date or sex disagrees with the biodata, is a
warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import phonenumbers

NIK_PATTERN = re.compile(r"[0-9]{16}")
RT_CODE_PATTERN = re.compile(r"([0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4})-([0-9]{3})-([0-9]{3})")
REGION_CODE_PATTERN = re.compile(r"[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339 date-time: full date, T (or t or space), time, optional fraction, and an
# offset that is required: Z or +hh:mm / -hh:mm.
RFC3339_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)

SEX = ("L", "P")
RELIGION = ("islam", "kristen", "katolik", "hindu", "buddha", "khonghucu", "kepercayaan")
MARITAL_STATUS = ("belum_kawin", "kawin", "cerai_hidup", "cerai_mati")
SHDK = (
    "kepala_keluarga",
    "suami",
    "istri",
    "anak",
    "menantu",
    "cucu",
    "orang_tua",
    "mertua",
    "famili_lain",
    "pembantu",
    "lainnya",
)
CITIZENSHIP = ("WNI", "WNA")
RESIDENT_STATUS = ("active", "deceased", "moved_out")
BLOOD_TYPE = ("A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")

RESIDENT_FIELDS = (
    "nik",
    "name",
    "sex",
    "birth_place",
    "birth_date",
    "religion",
    "education",
    "occupation",
    "marital_status",
    "shdk",
    "citizenship",
    "no_kk",
    "address",
    "rt",
    "father_name",
    "mother_name",
    "phone",
    "blood_type",
)
RESIDENT_REQUIRED = ("nik", "name", "sex", "birth_date", "no_kk", "rt")

# Longest text a field may hold (the column sizes in rtbook.core.tables).
TEXT_LIMITS = {
    "name": 150,
    "birth_place": 100,
    "education": 100,
    "occupation": 100,
    "address": 255,
    "father_name": 150,
    "mother_name": 150,
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FieldIssue:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(slots=True)
class Issues:
    """Errors (the record is refused) and warnings (it is accepted) of one record."""

    errors: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)

    def error(self, field_name: str, message: str) -> None:
        self.errors.append(FieldIssue(field_name, message))

    def warn(self, field_name: str, message: str) -> None:
        self.warnings.append(FieldIssue(field_name, message))

    def __bool__(self) -> bool:  # truthy when the record must be refused
        return bool(self.errors)

    def one_line(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" for e in self.errors)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# -- single values ---------------------------------------------------------------------


def clean_text(
    value: Any, name: str, issues: Issues, *, required: bool = False, max_len: int = 255
) -> str | None:
    """A trimmed single-line string, or None when absent and not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            issues.error(name, "wajib diisi (required)")
        return None
    if not isinstance(value, str):
        issues.error(name, "harus berupa teks (must be a string)")
        return None
    text = value.strip()
    if _CONTROL.search(text) or "\n" in text or "\r" in text:
        issues.error(name, "berisi karakter kendali (contains control characters)")
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        issues.error(name, "bukan teks Unicode yang sah (not valid Unicode text)")
        return None
    if len(text) > max_len:
        issues.error(name, f"terlalu panjang, maksimal {max_len} karakter (max {max_len} chars)")
        return None
    return text


def check_nik(value: Any, name: str, issues: Issues, *, label: str = "NIK") -> str | None:
    if value is None or value == "":
        issues.error(name, "wajib diisi (required)")
        return None
    if not isinstance(value, str) or not NIK_PATTERN.fullmatch(value):
        issues.error(
            name,
            f"{label} harus tepat 16 digit angka 0-9 (must be exactly 16 ASCII digits)",
        )
        return None
    return value


def check_choice(
    value: Any, name: str, choices: tuple[str, ...], issues: Issues, *, required: bool = False
) -> str | None:
    if value is None or value == "":
        if required:
            issues.error(name, "wajib diisi (required)")
        return None
    if not isinstance(value, str) or value not in choices:
        issues.error(
            name, f"harus salah satu dari: {', '.join(choices)} (must be one of the codes)"
        )
        return None
    return value


def parse_date(value: Any, name: str, issues: Issues, *, required: bool = False) -> date | None:
    """A real calendar date written YYYY-MM-DD."""
    if value is None or value == "":
        if required:
            issues.error(name, "wajib diisi (required)")
        return None
    if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
        issues.error(name, "tanggal harus berformat YYYY-MM-DD (date must be YYYY-MM-DD)")
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        issues.error(name, "tanggal tidak ada di kalender (not a real date)")
        return None
    if parsed.year < 1850:
        issues.error(name, "tanggal terlalu lampau (date too far in the past)")
        return None
    return parsed


def parse_rfc3339(value: Any, name: str, issues: Issues) -> datetime | None:
    """An RFC 3339 timestamp; the offset is required so the instant is unambiguous."""
    if value is None or value == "":
        issues.error(name, "wajib diisi (required)")
        return None
    if not isinstance(value, str) or not RFC3339_PATTERN.fullmatch(value):
        issues.error(
            name,
            "waktu harus RFC 3339 dengan zona waktu, mis. 2026-11-20T09:30:00+08:00 "
            "(must be RFC 3339 with an offset)",
        )
        return None
    text = value.replace("t", "T").replace("z", "Z")
    # Python takes at most 6 fraction digits; RFC 3339 allows more.
    text = re.sub(r"(\.[0-9]{6})[0-9]+", r"\1", text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        issues.error(name, "waktu tidak ada di kalender (not a real date and time)")
        return None


def check_rt_code(value: Any, name: str, issues: Issues, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            issues.error(name, "wajib diisi (required)")
        return None
    if not isinstance(value, str) or not RT_CODE_PATTERN.fullmatch(value):
        issues.error(
            name,
            "kode RT harus <kode kelurahan>-<RW 3 digit>-<RT 3 digit>, "
            "mis. 64.71.06.1005-003-005 (RT code format)",
        )
        return None
    return value


def check_region_code(value: Any, name: str, issues: Issues) -> str | None:
    if not isinstance(value, str) or not REGION_CODE_PATTERN.fullmatch(value):
        issues.error(
            name,
            "kode wilayah Kemendagri tidak sah, mis. 64.71 atau 64.71.06.1005 "
            "(not a Kemendagri region code)",
        )
        return None
    return value


def normalize_phone(value: Any, name: str, issues: Issues) -> str | None:
    """An Indonesian phone number (08..., 628..., +628...) as E.164."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        issues.error(name, "nomor telepon harus berupa teks (must be a string)")
        return None
    text = value.strip()
    if text.startswith("62"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        issues.error(
            name,
            "nomor telepon tidak sah, contoh 081234567890 (not a valid phone number)",
        )
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def check_email(value: Any, name: str, issues: Issues) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 254 or not EMAIL_PATTERN.fullmatch(value):
        issues.error(name, "alamat email tidak sah (not a valid email address)")
        return None
    return value.strip()


# -- NIK structure ---------------------------------------------------------------------


def nik_birth_parts(nik: str) -> tuple[int, int, int, str]:
    """(day, month, two-digit year, sex) embedded in a NIK's digits 7-12."""
    day = int(nik[6:8])
    sex = "L"
    if day > 40:
        day -= 40
        sex = "P"
    return day, int(nik[8:10]), int(nik[10:12]), sex


def nik_consistency_warnings(
    nik: str, sex: str | None, birth_date: date | None, issues: Issues, prefix: str = ""
) -> None:
    """Warn when a NIK's embedded birth date or sex disagrees with the biodata."""
    day, month, yy, nik_sex = nik_birth_parts(nik)
    if sex is not None and sex != nik_sex:
        issues.warn(
            _join(prefix, "nik"),
            f"jenis kelamin di NIK ({nik_sex}) berbeda dengan data ({sex}) "
            "(sex in the NIK differs from the biodata)",
        )
    if birth_date is not None and (day, month, yy) != (
        birth_date.day,
        birth_date.month,
        birth_date.year % 100,
    ):
        issues.warn(
            _join(prefix, "nik"),
            "tanggal lahir di NIK berbeda dengan data "
            "(birth date in the NIK differs from the biodata)",
        )


def mask_nik(nik: str | None) -> str | None:
    """The only form of a NIK that messages and logs may carry: the last 4 digits."""
    if not nik:
        return nik
    return "*" * (len(nik) - 4) + nik[-4:]


# -- a whole resident ------------------------------------------------------------------


@dataclass(slots=True)
class ResidentInput:
    """A validated resident record (CONTRACT.md, Resident fields)."""

    nik: str
    name: str
    sex: str
    birth_date: date
    no_kk: str
    rt: str
    birth_place: str | None = None
    religion: str | None = None
    education: str | None = None
    occupation: str | None = None
    marital_status: str | None = None
    shdk: str | None = None
    citizenship: str | None = None
    address: str | None = None
    father_name: str | None = None
    mother_name: str | None = None
    phone: str | None = None
    blood_type: str | None = None


def validate_resident(
    raw: Mapping[str, Any],
    issues: Issues,
    *,
    prefix: str = "",
    defaults: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> ResidentInput | None:
    """Validate a resident record; ``defaults`` fill fields the record leaves out
    (a RESIDENT inside a service may leave out ``rt`` and ``nik``: the item's stand)."""
    if not isinstance(raw, Mapping):
        issues.error(prefix or "resident", "harus berupa objek (must be an object)")
        return None
    values: dict[str, Any] = dict(defaults or {})
    values.update({k: v for k, v in raw.items() if v is not None and v != ""})
    before = len(issues.errors)

    def n(name: str) -> str:
        return _join(prefix, name)

    nik = check_nik(values.get("nik"), n("nik"), issues)
    name = clean_text(values.get("name"), n("name"), issues, required=True, max_len=150)
    sex = check_choice(values.get("sex"), n("sex"), SEX, issues, required=True)
    birth_date = parse_date(values.get("birth_date"), n("birth_date"), issues, required=True)
    if birth_date is not None and today is not None and birth_date > today:
        issues.error(n("birth_date"), "tanggal lahir di masa depan (birth date in the future)")
        birth_date = None
    no_kk = check_nik(values.get("no_kk"), n("no_kk"), issues, label="No. KK")
    rt = check_rt_code(values.get("rt"), n("rt"), issues)
    out: dict[str, Any] = {}
    for text_field, limit in TEXT_LIMITS.items():
        if text_field != "name":
            out[text_field] = clean_text(
                values.get(text_field), n(text_field), issues, max_len=limit
            )
    out["religion"] = check_choice(values.get("religion"), n("religion"), RELIGION, issues)
    out["marital_status"] = check_choice(
        values.get("marital_status"), n("marital_status"), MARITAL_STATUS, issues
    )
    out["shdk"] = check_choice(values.get("shdk"), n("shdk"), SHDK, issues)
    out["citizenship"] = check_choice(
        values.get("citizenship"), n("citizenship"), CITIZENSHIP, issues
    )
    out["blood_type"] = check_choice(values.get("blood_type"), n("blood_type"), BLOOD_TYPE, issues)
    out["phone"] = normalize_phone(values.get("phone"), n("phone"), issues)
    if len(issues.errors) > before:
        return None
    assert nik and name and sex and birth_date and no_kk and rt
    nik_consistency_warnings(nik, sex, birth_date, issues, prefix)
    return ResidentInput(
        nik=nik, name=name, sex=sex, birth_date=birth_date, no_kk=no_kk, rt=rt, **out
    )
