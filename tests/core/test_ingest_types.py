"""Each service type's ledger effect and feed events (both backends)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest
from factories import RT_A, RT_B
from ingest_support import (
    ANDI,
    BUDI,
    CHILD,
    COMPLETED,
    DAY,
    JOKO,
    KK_ANDI,
    KK_BUDI,
    KK_NEW,
    LATE_UTC,
    NEWCOMER,
    RINA,
    SITI,
    SOURCE,
    Book,
    child_record,
    feed,
    has_full_nik,
    item,
    resident,
    rows,
    setup_book,
)

from rtbook.core.db import Database
from rtbook.core.ledger.ingest import ingest_services

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
async def book(db: Database) -> Book:
    return await setup_book(db)


async def ingest(db: Database, book: Book, *items: dict) -> list[dict]:
    return await ingest_services(db, book.integrator, list(items), now=NOW)


def applied(results: list[dict]) -> None:
    assert [r["status"] for r in results] == ["applied"] * len(results), results


async def history(db: Database, nik: str) -> list[dict]:
    return await rows(db, "SELECT * FROM resident_change WHERE nik = $1 ORDER BY id", nik)


def check_event(event: dict, *, effect: str, rt: str, service_id: str, name: str) -> None:
    assert event["specversion"] == "1.0"
    assert event["type"] == "rtbook.service.completed"
    assert event["subject"] == rt
    assert event["source"] == "/rtbook/cities/64.71"
    assert event["id"] == f"64.71-{event['sequence']}"
    data = event["data"]
    assert data["effect"] == effect
    assert data["service_id"] == service_id
    assert data["resident"]["name"] == name
    assert name in data["summary"]
    assert not has_full_nik(event)


@pytest.mark.parametrize(("service_type", "label"), [("ktp_el", "KTP-el"), ("kia", "KIA")])
async def test_document_services_record_a_document(
    db: Database, book: Book, service_type: str, label: str
) -> None:
    nik = BUDI if service_type == "ktp_el" else RINA
    name = "BUDI SANTOSO" if service_type == "ktp_el" else "RINA LESTARI"
    results = await ingest(
        db,
        book,
        item(service_type, nik, "doc-1", document_number="DOC/2026/1", completed_at=LATE_UTC),
    )
    applied(results)
    assert results[0]["id"] == "doc-1"
    docs = await rows(db, "SELECT * FROM document")
    assert [(d["nik"], d["type"], d["number"]) for d in docs] == [(nik, service_type, "DOC/2026/1")]
    assert docs[0]["issued_at"] == datetime(2026, 11, 19, 17, 30, tzinfo=UTC)
    (change,) = await history(db, nik)
    assert change["kind"] == "document_issued"
    assert change["rt_code"] == RT_A
    # 17:30 UTC on the 19th is 01:30 on the 20th in Balikpapan (WITA).
    assert change["event_date"] == DAY
    assert change["reported_at"] == NOW
    (record,) = await rows(db, "SELECT * FROM service_record")
    assert (record["source"], record["external_id"], record["type"]) == (
        SOURCE,
        "doc-1",
        service_type,
    )
    assert record["city_code"] == "64.71"
    assert record["submitted_by"] == book.integrator.user_id
    assert len(record["payload_hash"]) == 64
    (event,) = await feed(db)
    check_event(event, effect="document_issued", rt=RT_A, service_id="doc-1", name=name)
    assert event["sequence"] == "1"
    assert event["time"] == "2026-11-19T17:30:00Z"
    assert event["data"]["service_type"] == service_type
    assert event["data"]["resident"]["nik_masked"] == "*" * 12 + nik[-4:]
    assert event["data"]["summary"] == f"{label} diterbitkan untuk {name}"


async def test_kk_sets_the_household_to_exactly_its_members(db: Database, book: Book) -> None:
    # A new KK: BUDI heads it with SITI (both from KK_BUDI, RT 005) and ANDI (from
    # KK_ANDI, RT 006). RINA stays in KK_BUDI. Then KK_NEW is reissued without ANDI.
    members = [
        {"nik": BUDI, "shdk": "kepala_keluarga"},
        {"nik": SITI, "shdk": "istri"},
        {"nik": ANDI, "shdk": "famili_lain"},
    ]
    results = await ingest(
        db, book, item("kk", BUDI, "kk-1", data={"no_kk": KK_NEW, "members": members})
    )
    applied(results)
    assert results[0]["warnings"] == []
    for nik, shdk in ((BUDI, "kepala_keluarga"), (SITI, "istri"), (ANDI, "famili_lain")):
        person = await resident(db, nik)
        assert person is not None
        assert (person["no_kk"], person["shdk"]) == (KK_NEW, shdk)
    rina = await resident(db, RINA)
    assert rina is not None and rina["no_kk"] == KK_BUDI  # other KK: untouched
    (household,) = await rows(db, "SELECT * FROM household WHERE no_kk = $1", KK_NEW)
    assert (household["head_nik"], household["rt_code"], household["city_code"]) == (
        BUDI,
        RT_A,
        "64.71",
    )
    left = await rows(db, "SELECT nik, no_kk, shdk, left_on FROM kk_history ORDER BY nik")
    assert left == [
        {"nik": ANDI, "no_kk": KK_ANDI, "shdk": "kepala_keluarga", "left_on": DAY},
        {"nik": BUDI, "no_kk": KK_BUDI, "shdk": "kepala_keluarga", "left_on": DAY},
        {"nik": SITI, "no_kk": KK_BUDI, "shdk": "istri", "left_on": DAY},
    ]
    # The households they left lost their head.
    old = await rows(
        db, "SELECT no_kk, head_nik FROM household WHERE no_kk IN ($1, $2)", KK_BUDI, KK_ANDI
    )
    assert {h["no_kk"]: h["head_nik"] for h in old} == {KK_BUDI: None, KK_ANDI: None}
    docs = await rows(db, "SELECT nik, type, number FROM document")
    assert docs == [{"nik": BUDI, "type": "kk", "number": KK_NEW}]
    changes = await rows(db, "SELECT nik, kind, rt_code, event_date, after FROM resident_change")
    assert {(c["nik"], c["kind"], c["rt_code"]) for c in changes} == {
        (BUDI, "household_changed", RT_A),
        (SITI, "household_changed", RT_A),
        (ANDI, "household_changed", RT_B),
    }
    assert all(c["event_date"] == DAY for c in changes)
    assert all(msgspec.json.decode(c["after"])["no_kk"] == KK_NEW for c in changes)
    # One event per RT of the affected members, each naming the head.
    events = await feed(db)
    assert sorted(e["subject"] for e in events) == [RT_A, RT_B]
    assert [e["sequence"] for e in events] == ["1", "2"]
    for event in events:
        check_event(
            event,
            effect="household_changed",
            rt=event["subject"],
            service_id="kk-1",
            name="BUDI SANTOSO",
        )
        assert event["data"]["summary"] == "Kartu Keluarga diterbitkan untuk BUDI SANTOSO"

    # Reissued without ANDI: he leaves KK_NEW (no_kk NULL) and gets a history row.
    members2 = [{"nik": BUDI, "shdk": "kepala_keluarga"}, {"nik": SITI, "shdk": "istri"}]
    applied(
        await ingest(
            db,
            book,
            item(
                "kk",
                BUDI,
                "kk-2",
                data={"no_kk": KK_NEW, "members": members2},
                document_number="KK-2026-2",
            ),
        )
    )
    andi = await resident(db, ANDI)
    assert andi is not None and andi["no_kk"] is None
    andi_left = await rows(
        db, "SELECT no_kk, shdk FROM kk_history WHERE nik = $1 ORDER BY id", ANDI
    )
    assert andi_left[-1] == {"no_kk": KK_NEW, "shdk": "famili_lain"}
    events = await feed(db)
    assert [e["sequence"] for e in events] == ["1", "2", "3", "4"]
    assert sorted(e["subject"] for e in events[2:]) == [RT_A, RT_B]


async def test_kk_warns_when_the_head_is_not_kepala_keluarga(db: Database, book: Book) -> None:
    members = [{"nik": BUDI, "shdk": "suami"}, {"nik": SITI, "shdk": "istri"}]
    (result,) = await ingest(
        db, book, item("kk", BUDI, data={"no_kk": KK_BUDI, "members": members})
    )
    assert result["status"] == "applied"
    assert [w["field"] for w in result["warnings"]] == ["data.members"]
    assert "kepala_keluarga" in result["warnings"][0]["message"]
    # RINA was in KK_BUDI but is not listed: she leaves it.
    rina = await resident(db, RINA)
    assert rina is not None and rina["no_kk"] is None
    left = await rows(db, "SELECT nik, no_kk FROM kk_history")
    assert left == [{"nik": RINA, "no_kk": KK_BUDI}]
    # The warning is kept with the service record.
    (record,) = await rows(db, "SELECT warnings FROM service_record")
    assert msgspec.json.decode(record["warnings"]) == result["warnings"]


async def test_birth_adds_the_child(db: Database, book: Book) -> None:
    results = await ingest(
        db,
        book,
        item(
            "akta_kelahiran",
            CHILD,
            "lahir-1",
            rt=RT_A,
            data={"child": child_record()},
            document_number="AL-001",
        ),
    )
    applied(results)
    assert results[0]["warnings"] == []  # KK_BUDI has a household row
    child = await resident(db, CHILD)
    assert child is not None
    assert (child["name"], child["sex"], child["birth_date"]) == (
        "PUTRI SANTOSO",
        "P",
        date(2026, 11, 1),
    )
    assert (child["rt_code"], child["city_code"], child["status"], child["origin"]) == (
        RT_A,
        "64.71",
        "active",
        "service",
    )
    assert child["no_kk"] == KK_BUDI
    (change,) = await history(db, CHILD)
    assert change["kind"] == "resident_added"
    assert change["event_date"] == date(2026, 11, 1)  # the birth, not the report
    assert change["before"] is None
    assert msgspec.json.decode(change["after"])["name"] == "PUTRI SANTOSO"
    docs = await rows(db, "SELECT nik, type, number FROM document")
    assert docs == [{"nik": CHILD, "type": "akta_kelahiran", "number": "AL-001"}]
    (event,) = await feed(db)
    check_event(event, effect="resident_added", rt=RT_A, service_id="lahir-1", name="PUTRI SANTOSO")
    assert event["data"]["summary"] == "Kelahiran PUTRI SANTOSO tercatat"


async def test_birth_into_an_unknown_kk_creates_the_household(db: Database, book: Book) -> None:
    child = child_record(no_kk=KK_NEW, nik=CHILD)  # nik given: equal to the item's
    (result,) = await ingest(
        db, book, item("akta_kelahiran", CHILD, rt=RT_B, data={"child": child})
    )
    assert result["status"] == "applied"
    assert [w["field"] for w in result["warnings"]] == ["data.child.no_kk"]
    (household,) = await rows(db, "SELECT * FROM household WHERE no_kk = $1", KK_NEW)
    assert household["head_nik"] is None
    assert household["rt_code"] == RT_B


async def test_death_marks_the_resident_deceased(db: Database, book: Book) -> None:
    applied(
        await ingest(
            db, book, item("akta_kematian", SITI, "mati-1", data={"date_of_death": "2026-11-18"})
        )
    )
    siti = await resident(db, SITI)
    assert siti is not None
    assert (siti["status"], siti["date_of_death"]) == ("deceased", date(2026, 11, 18))
    (change,) = await history(db, SITI)
    assert change["kind"] == "resident_deceased"
    assert change["event_date"] == date(2026, 11, 18)
    assert msgspec.json.decode(change["before"])["status"] == "active"
    (event,) = await feed(db)
    check_event(event, effect="resident_deceased", rt=RT_A, service_id="mati-1", name="SITI AMINAH")
    assert event["data"]["summary"] == "Kematian SITI AMINAH tercatat"


async def test_move_out_marks_the_resident_moved_out(db: Database, book: Book) -> None:
    applied(
        await ingest(
            db,
            book,
            item("pindah_keluar", ANDI, "keluar-1", data={"destination": "Kota Samarinda"}),
        )
    )
    andi = await resident(db, ANDI)
    assert andi is not None and andi["status"] == "moved_out"
    (change,) = await history(db, ANDI)
    assert (change["kind"], change["rt_code"], change["event_date"]) == (
        "resident_moved_out",
        RT_B,
        DAY,
    )
    (event,) = await feed(db)
    check_event(
        event, effect="resident_moved_out", rt=RT_B, service_id="keluar-1", name="ANDI WIJAYA"
    )
    assert event["data"]["summary"] == "ANDI WIJAYA pindah keluar ke Kota Samarinda"


async def test_move_in_adds_a_newcomer(db: Database, book: Book) -> None:
    newcomer = {
        "name": "AGUS SALIM",
        "sex": "L",
        "birth_date": "1995-04-04",
        "no_kk": KK_ANDI,
        "shdk": "famili_lain",
    }
    applied(
        await ingest(
            db,
            book,
            item(
                "pindah_datang",
                NEWCOMER,
                "datang-1",
                rt=RT_B,
                data={"resident": newcomer, "origin": "Kota Samarinda"},
            ),
        )
    )
    agus = await resident(db, NEWCOMER)
    assert agus is not None
    assert (agus["rt_code"], agus["status"], agus["no_kk"], agus["origin"]) == (
        RT_B,
        "active",
        KK_ANDI,
        "service",
    )
    (change,) = await history(db, NEWCOMER)
    assert (change["kind"], change["rt_code"], change["event_date"]) == (
        "resident_moved_in",
        RT_B,
        DAY,
    )
    (event,) = await feed(db)
    check_event(
        event, effect="resident_moved_in", rt=RT_B, service_id="datang-1", name="AGUS SALIM"
    )
    assert event["data"]["summary"] == (
        "AGUS SALIM pindah datang ke RT 006/RW 003 dari Kota Samarinda"
    )


async def test_move_in_reactivates_a_resident_who_moved_out(db: Database, book: Book) -> None:
    back = {
        "name": "JOKO PRASETYO",
        "sex": "L",
        "birth_date": "1970-08-08",
        "no_kk": KK_ANDI,
        "occupation": "WIRASWASTA",
    }
    applied(
        await ingest(
            db,
            book,
            item(
                "pindah_datang",
                JOKO,
                "datang-2",
                rt=RT_A,
                data={"resident": back, "origin": "Kabupaten Paser"},
            ),
        )
    )
    joko = await resident(db, JOKO)
    assert joko is not None
    assert (joko["status"], joko["rt_code"], joko["no_kk"], joko["occupation"]) == (
        "active",
        RT_A,
        KK_ANDI,
        "WIRASWASTA",
    )
    assert joko["education"] == "SD"  # left out of the new record: kept
    assert joko["origin"] == "import"  # still the row first imported
    (change,) = await history(db, JOKO)
    assert change["kind"] == "resident_moved_in"
    assert msgspec.json.decode(change["before"])["status"] == "moved_out"
    assert msgspec.json.decode(change["after"])["rt_code"] == RT_A
    left = await rows(db, "SELECT nik, no_kk FROM kk_history")
    assert left == [{"nik": JOKO, "no_kk": "6471060101200004"}]
    (event,) = await feed(db)
    check_event(
        event, effect="resident_moved_in", rt=RT_A, service_id="datang-2", name="JOKO PRASETYO"
    )


async def test_move_within_the_city_puts_an_event_in_both_rts(db: Database, book: Book) -> None:
    applied(
        await ingest(
            db, book, item("pindah_dalam", BUDI, "dalam-1", rt=RT_B, data={"from_rt": RT_A})
        )
    )
    budi = await resident(db, BUDI)
    assert budi is not None and (budi["rt_code"], budi["status"]) == (RT_B, "active")
    # BUDI heads KK_BUDI: the household moves with its head.
    (household,) = await rows(db, "SELECT rt_code FROM household WHERE no_kk = $1", KK_BUDI)
    assert household["rt_code"] == RT_B
    changes = await history(db, BUDI)
    assert [(c["kind"], c["rt_code"], c["event_date"]) for c in changes] == [
        ("resident_moved_out", RT_A, DAY),
        ("resident_moved_in", RT_B, DAY),
    ]
    out_event, in_event = await feed(db)
    check_event(
        out_event, effect="resident_moved_out", rt=RT_A, service_id="dalam-1", name="BUDI SANTOSO"
    )
    check_event(
        in_event, effect="resident_moved_in", rt=RT_B, service_id="dalam-1", name="BUDI SANTOSO"
    )
    assert int(out_event["sequence"]) < int(in_event["sequence"])
    assert out_event["data"]["summary"] == "BUDI SANTOSO pindah ke RT 006/RW 003"
    assert in_event["data"]["summary"] == (
        "BUDI SANTOSO pindah dari RT 005/RW 003 ke RT 006/RW 003"
    )
    (doc,) = await rows(db, "SELECT type FROM document")
    assert doc["type"] == "pindah_dalam"


@pytest.mark.parametrize(
    ("service_type", "status", "word"),
    [("akta_perkawinan", "kawin", "Perkawinan"), ("akta_perceraian", "cerai_hidup", "Perceraian")],
)
async def test_marriage_and_divorce_change_marital_status(
    db: Database, book: Book, service_type: str, status: str, word: str
) -> None:
    applied(await ingest(db, book, item(service_type, ANDI, "nikah-1")))
    andi = await resident(db, ANDI)
    assert andi is not None and andi["marital_status"] == status
    (change,) = await history(db, ANDI)
    assert change["kind"] == "status_changed"
    assert msgspec.json.decode(change["after"]) == {"marital_status": status}
    (event,) = await feed(db)
    check_event(event, effect="status_changed", rt=RT_B, service_id="nikah-1", name="ANDI WIJAYA")
    assert event["data"]["summary"] == f"{word} ANDI WIJAYA tercatat"


async def test_sequence_increases_across_batches_and_types(db: Database, book: Book) -> None:
    await ingest(db, book, item("ktp_el", BUDI), item("kia", RINA))
    await ingest(db, book, item("pindah_dalam", ANDI, rt=RT_A, data={"from_rt": RT_B}))
    events = await feed(db)
    assert [int(e["sequence"]) for e in events] == [1, 2, 3, 4]
    (city,) = await rows(db, "SELECT event_seq FROM city WHERE code = '64.71'")
    assert city["event_seq"] == 4


async def test_city_admin_and_admin_may_submit(db: Database, book: Book) -> None:
    (first,) = await ingest_services(db, book.city_admin, [item("ktp_el", BUDI, "a")], now=NOW)
    (second,) = await ingest_services(db, book.admin, [item("kia", RINA, "b")], now=NOW)
    assert (first["status"], second["status"]) == ("applied", "applied")
    submitted = await rows(db, "SELECT submitted_by FROM service_record ORDER BY id")
    assert [r["submitted_by"] for r in submitted] == [
        book.city_admin.user_id,
        book.admin.user_id,
    ]


async def test_completed_at_keeps_the_instant(db: Database, book: Book) -> None:
    applied(await ingest(db, book, item("ktp_el", BUDI, completed_at=COMPLETED)))
    (record,) = await rows(db, "SELECT completed_at FROM service_record")
    assert record["completed_at"] == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
