"""The CloudEvent builder and summaries (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec

from rtbook.core.ledger.effects import EFFECTS, SERVICE_EFFECT, SERVICE_TYPES
from rtbook.core.ledger.feed import (
    EFFECTS as FEED_EFFECTS,
)
from rtbook.core.ledger.feed import (
    SERVICE_LABELS,
    cloud_event,
    event_data,
    rt_label,
    service_summary,
)


def test_cloud_event_from_a_stored_row() -> None:
    data = event_data(
        service_type="kk",
        service_id="kk-9",
        effect="household_changed",
        name="BUDI SANTOSO",
        nik="6471060507800001",
        summary="Kartu Keluarga diterbitkan untuk BUDI SANTOSO",
    )
    row = {
        "id": 17,
        "city_code": "64.71",
        "seq": 42,
        "rt_code": "64.71.06.1005-003-005",
        "effect": "household_changed",
        "time": datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=8))),
        "data": msgspec.json.encode(data).decode(),
    }
    event = cloud_event(row)
    assert event == {
        "specversion": "1.0",
        "id": "64.71-42",
        "source": "/rtbook/cities/64.71",
        "type": "rtbook.service.completed",
        "time": "2026-11-20T01:30:00Z",
        "subject": "64.71.06.1005-003-005",
        "sequence": "42",
        "datacontenttype": "application/json",
        "data": {
            "service_type": "kk",
            "service_id": "kk-9",
            "effect": "household_changed",
            "resident": {"name": "BUDI SANTOSO", "nik_masked": "************0001"},
            "summary": "Kartu Keluarga diterbitkan untuk BUDI SANTOSO",
        },
    }
    # A dict data member (already decoded) works the same.
    assert cloud_event(dict(row, data=data)) == event
    assert cloud_event(dict(row, time=datetime(2026, 11, 20, 1, 30, tzinfo=UTC)))["time"] == (
        "2026-11-20T01:30:00Z"
    )


def test_labels_and_effects_cover_every_type() -> None:
    assert set(SERVICE_LABELS) == set(SERVICE_TYPES)
    assert SERVICE_LABELS["kk"] == "Kartu Keluarga"
    assert SERVICE_LABELS["ktp_el"] == "KTP-el"
    assert set(SERVICE_EFFECT.values()) <= set(EFFECTS)
    assert FEED_EFFECTS == EFFECTS
    assert len(EFFECTS) == 7


def test_summaries_name_the_resident_and_never_a_full_nik() -> None:
    assert rt_label("64.71.06.1005-003-006") == "RT 006/RW 003"
    assert (
        service_summary(
            "pindah_dalam", "resident_moved_out", "BUDI SANTOSO", to_rt="64.71.06.1005-003-006"
        )
        == "BUDI SANTOSO pindah ke RT 006/RW 003"
    )
    for service_type in SERVICE_TYPES:
        text = service_summary(service_type, SERVICE_EFFECT[service_type], "SITI AMINAH")
        assert "SITI AMINAH" in text
    leaky = service_summary(
        "pindah_keluar", "resident_moved_out", "SITI", destination="rumah 6471060507800001"
    )
    assert "6471060507800001" not in leaky and leaky.endswith("0001")
    long_place = service_summary(
        "pindah_keluar", "resident_moved_out", "SITI", destination="X" * 300
    )
    assert len(long_place) < 120
