"""The names of completed registry services and of the ledger effects they have.

An effect is what a service did to the book; it is the ``effect`` of the feed event
(CloudEvent ``data.effect``) and the ``kind`` of the resident_change history row.
"""

from __future__ import annotations

DOCUMENT_ISSUED = "document_issued"
RESIDENT_ADDED = "resident_added"
RESIDENT_DECEASED = "resident_deceased"
RESIDENT_MOVED_OUT = "resident_moved_out"
RESIDENT_MOVED_IN = "resident_moved_in"
HOUSEHOLD_CHANGED = "household_changed"
STATUS_CHANGED = "status_changed"

EFFECTS: tuple[str, ...] = (
    DOCUMENT_ISSUED,
    RESIDENT_ADDED,
    RESIDENT_DECEASED,
    RESIDENT_MOVED_OUT,
    RESIDENT_MOVED_IN,
    HOUSEHOLD_CHANGED,
    STATUS_CHANGED,
)

KTP_EL = "ktp_el"
KIA = "kia"
KK = "kk"
AKTA_KELAHIRAN = "akta_kelahiran"
AKTA_KEMATIAN = "akta_kematian"
PINDAH_KELUAR = "pindah_keluar"
PINDAH_DATANG = "pindah_datang"
PINDAH_DALAM = "pindah_dalam"
AKTA_PERKAWINAN = "akta_perkawinan"
AKTA_PERCERAIAN = "akta_perceraian"

SERVICE_TYPES: tuple[str, ...] = (
    KTP_EL,
    KIA,
    KK,
    AKTA_KELAHIRAN,
    AKTA_KEMATIAN,
    PINDAH_KELUAR,
    PINDAH_DATANG,
    PINDAH_DALAM,
    AKTA_PERKAWINAN,
    AKTA_PERCERAIAN,
)

# The main effect of each service type. pindah_dalam has two: moved out of from_rt,
# moved in to rt (a departure from one RT and an arrival in the other).
SERVICE_EFFECT: dict[str, str] = {
    KTP_EL: DOCUMENT_ISSUED,
    KIA: DOCUMENT_ISSUED,
    KK: HOUSEHOLD_CHANGED,
    AKTA_KELAHIRAN: RESIDENT_ADDED,
    AKTA_KEMATIAN: RESIDENT_DECEASED,
    PINDAH_KELUAR: RESIDENT_MOVED_OUT,
    PINDAH_DATANG: RESIDENT_MOVED_IN,
    PINDAH_DALAM: RESIDENT_MOVED_IN,
    AKTA_PERKAWINAN: STATUS_CHANGED,
    AKTA_PERCERAIAN: STATUS_CHANGED,
}

# Types whose item must name the RT the resident lives in after the service.
TYPES_REQUIRING_RT = frozenset({AKTA_KELAHIRAN, PINDAH_DATANG, PINDAH_DALAM})
# Types that add a resident the ledger does not hold yet.
TYPES_ADDING_RESIDENT = frozenset({AKTA_KELAHIRAN, PINDAH_DATANG})
