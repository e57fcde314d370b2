"""Batches: per-item answers, duplicates, resends, rejections and garbage (both backends)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import RT_A, RT_B, RT_OTHER_CITY
from ingest_support import (
    ANDI,
    BUDI,
    CHILD,
    DEWI,
    KK_BUDI,
    NEWCOMER,
    RINA,
    SITI,
    WATI,
    Book,
    child_record,
    counts,
    feed,
    has_full_nik,
    item,
    resident,
    rows,
    setup_book,
    snapshot,
)

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Database
from rtbook.core.ledger.ingest import MAX_BATCH, ingest_services, may_submit_services

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
async def book(db: Database) -> Book:
    return await setup_book(db)


async def ingest(db: Database, who: Principal, items: list[Any]) -> list[dict[str, Any]]:
    return await ingest_services(db, who, items, now=NOW)


def statuses(results: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in results]


def fields(result: dict[str, Any]) -> list[str]:
    return [e["field"] for e in result["errors"]]


async def test_mixed_batch_gets_one_answer_per_item_in_order(db: Database, book: Book) -> None:
    good = item("ktp_el", BUDI, "good-1")
    bad = item("ktp_el", "6471060000000000", "bad-1")  # not in the ledger
    results = await ingest(db, book.integrator, [good, dict(good), bad, item("kia", RINA)])
    assert statuses(results) == ["applied", "duplicate", "rejected", "applied"]
    assert [r["id"] for r in results] == ["good-1", "good-1", "bad-1", "kia-0003"]
    assert results[1]["errors"] == [] and results[1]["warnings"] == []
    assert fields(results[2]) == ["nik"]
    assert "tidak terdaftar" in results[2]["errors"][0]["message"]
    assert not has_full_nik(results)
    assert (await counts(db))["service_record"] == 2
    assert len(await feed(db)) == 2


async def test_resending_a_batch_changes_nothing(db: Database, book: Book) -> None:
    batch = [
        item("ktp_el", BUDI, "r-1"),
        item("akta_kelahiran", CHILD, "r-2", rt=RT_A, data={"child": child_record()}),
        item("akta_kematian", SITI, "r-3", data={"date_of_death": "2026-11-18"}),
        item("pindah_dalam", ANDI, "r-4", rt=RT_A, data={"from_rt": RT_B}),
        item(
            "kk",
            BUDI,
            "r-5",
            data={
                "no_kk": KK_BUDI,
                "members": [
                    {"nik": BUDI, "shdk": "kepala_keluarga"},
                    {"nik": CHILD, "shdk": "anak"},
                ],
            },
        ),
        item("pindah_keluar", RINA, "r-6", data={"destination": "Samarinda"}),
        item("ktp_el", "6471060000000000", "r-7"),  # rejected both times
    ]
    first = await ingest(db, book.integrator, batch)
    assert statuses(first) == ["applied"] * 6 + ["rejected"]
    before = await snapshot(db)
    again = await ingest(db, book.integrator, batch)
    assert statuses(again) == ["duplicate"] * 6 + ["rejected"]
    # Each duplicate answers as the first did (its warnings), with no errors.
    for one, two in zip(first[:6], again[:6], strict=True):
        assert two["errors"] == []
        assert two["warnings"] == one["warnings"]
    assert await snapshot(db) == before


async def test_duplicate_with_a_different_payload_keeps_the_first(db: Database, book: Book) -> None:
    await ingest(db, book.integrator, [item("ktp_el", BUDI, "x-1", document_number="A")])
    before = await snapshot(db)
    (result,) = await ingest(
        db, book.integrator, [item("ktp_el", BUDI, "x-1", document_number="B")]
    )
    assert result["status"] == "duplicate"
    assert [w["field"] for w in result["warnings"]] == ["id"]
    assert "pertama" in result["warnings"][0]["message"]
    assert await snapshot(db) == before
    (doc,) = await rows(db, "SELECT number FROM document")
    assert doc["number"] == "A"


async def test_a_resent_death_is_a_duplicate_not_a_rejection(db: Database, book: Book) -> None:
    death = item("akta_kematian", SITI, "m-1", data={"date_of_death": "2026-11-18"})
    await ingest(db, book.integrator, [death])
    (result,) = await ingest(db, book.integrator, [death])
    assert result["status"] == "duplicate"


async def test_a_rejected_item_is_evaluated_again_when_resent(db: Database, book: Book) -> None:
    birth = item("akta_kelahiran", CHILD, "b-1", rt=RT_A, data={"child": child_record()})
    marriage = item("akta_perkawinan", CHILD, "p-1")  # the child is not there yet
    assert statuses(await ingest(db, book.integrator, [marriage])) == ["rejected"]
    assert statuses(await ingest(db, book.integrator, [birth, marriage])) == [
        "applied",
        "applied",
    ]


async def test_duplicate_across_sources_is_not_a_duplicate(db: Database, book: Book) -> None:
    results = await ingest(
        db,
        book.integrator,
        [item("ktp_el", BUDI, "same"), item("ktp_el", BUDI, "same", source="other-system")],
    )
    assert statuses(results) == ["applied", "applied"]


def _kk(members: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return item("kk", BUDI, data={"no_kk": KK_BUDI, "members": members}, **extra)


REJECTIONS: list[tuple[str, Any, str]] = [
    ("unknown nik", item("ktp_el", "6471060000000000"), "nik"),
    ("full-width digits", item("ktp_el", "６４７１０６０５０７８００００１"), "nik"),
    ("15 digits", item("ktp_el", BUDI[:15]), "nik"),
    ("nik as a number", item("ktp_el", int(BUDI)), "nik"),
    (
        "impossible date",
        item("ktp_el", BUDI, completed_at="2026-02-30T10:00:00+08:00"),
        "completed_at",
    ),
    ("no offset", item("ktp_el", BUDI, completed_at="2026-11-20T09:30:00"), "completed_at"),
    ("date only", item("ktp_el", BUDI, completed_at="2026-11-20"), "completed_at"),
    ("unknown type", item("paspor", BUDI), "type"),
    ("no type", {k: v for k, v in item("ktp_el", BUDI).items() if k != "type"}, "type"),
    ("no source", {k: v for k, v in item("ktp_el", BUDI).items() if k != "source"}, "source"),
    ("empty id", item("ktp_el", BUDI, id=""), "id"),
    ("blank id", item("ktp_el", BUDI, id="   "), "id"),
    ("id as a number", item("ktp_el", BUDI, id=7), "id"),
    ("id too long", item("ktp_el", BUDI, "x" * 129), "id"),
    ("source too long", item("ktp_el", BUDI, source="s" * 65), "source"),
    (
        "no completed_at",
        {k: v for k, v in item("ktp_el", BUDI).items() if k != "completed_at"},
        "completed_at",
    ),
    ("data not an object", item("ktp_el", BUDI, data=["x"]), "data"),
    ("birth without rt", item("akta_kelahiran", CHILD, data={"child": child_record()}), "rt"),
    ("birth without child", item("akta_kelahiran", CHILD, rt=RT_A), "data.child"),
    (
        "birth on a bad date",
        item(
            "akta_kelahiran", CHILD, rt=RT_A, data={"child": child_record(birth_date="2026-02-30")}
        ),
        "data.child.birth_date",
    ),
    (
        "birth with a different nik",
        item("akta_kelahiran", CHILD, rt=RT_A, data={"child": child_record(nik=NEWCOMER)}),
        "data.child.nik",
    ),
    (
        "birth of a known nik",
        item("akta_kelahiran", RINA, rt=RT_A, data={"child": child_record()}),
        "nik",
    ),
    (
        "birth after completion",
        item(
            "akta_kelahiran",
            CHILD,
            rt=RT_A,
            completed_at="2026-10-30T10:00:00+08:00",
            data={"child": child_record()},
        ),
        "data.child.birth_date",
    ),
    (
        "birth in another city's RT",
        item("akta_kelahiran", CHILD, rt=RT_OTHER_CITY, data={"child": child_record()}),
        "rt",
    ),
    (
        "birth in an unknown RT",
        item("akta_kelahiran", CHILD, rt="64.71.06.1005-003-099", data={"child": child_record()}),
        "rt",
    ),
    ("service for a resident of another city", item("ktp_el", DEWI), "nik"),
    ("rt given for a non-moving type differs", item("ktp_el", BUDI, rt=RT_B), "rt"),
    ("rt of another city", item("ktp_el", BUDI, rt=RT_OTHER_CITY), "rt"),
    (
        "death of a deceased person",
        item("akta_kematian", WATI, data={"date_of_death": "2026-11-18"}),
        "nik",
    ),
    (
        "death on a bad date",
        item("akta_kematian", SITI, data={"date_of_death": "2026-02-30"}),
        "data.date_of_death",
    ),
    (
        "death after completion",
        item("akta_kematian", SITI, data={"date_of_death": "2026-11-21"}),
        "data.date_of_death",
    ),
    (
        "death before birth",
        item("akta_kematian", SITI, data={"date_of_death": "1970-01-01"}),
        "data.date_of_death",
    ),
    ("death without date", item("akta_kematian", SITI), "data.date_of_death"),
    ("move out without destination", item("pindah_keluar", SITI), "data.destination"),
    (
        "move out of a deceased person",
        item("pindah_keluar", WATI, data={"destination": "Samarinda"}),
        "nik",
    ),
    (
        "move in of an active resident",
        item(
            "pindah_datang",
            BUDI,
            rt=RT_B,
            data={
                "resident": {
                    "name": "BUDI",
                    "sex": "L",
                    "birth_date": "1980-07-05",
                    "no_kk": KK_BUDI,
                },
                "origin": "Samarinda",
            },
        ),
        "nik",
    ),
    (
        "move in of a deceased resident",
        item(
            "pindah_datang",
            WATI,
            rt=RT_B,
            data={
                "resident": {
                    "name": "WATI",
                    "sex": "P",
                    "birth_date": "1950-05-05",
                    "no_kk": KK_BUDI,
                },
                "origin": "Samarinda",
            },
        ),
        "nik",
    ),
    (
        "move in without origin",
        item(
            "pindah_datang",
            NEWCOMER,
            rt=RT_B,
            data={
                "resident": {
                    "name": "AGUS",
                    "sex": "L",
                    "birth_date": "1995-04-04",
                    "no_kk": KK_BUDI,
                }
            },
        ),
        "data.origin",
    ),
    (
        "move within from the wrong RT",
        item("pindah_dalam", BUDI, rt=RT_B, data={"from_rt": "64.71.06.1005-003-007"}),
        "data.from_rt",
    ),
    (
        "move within from a registered but wrong RT",
        item("pindah_dalam", ANDI, rt=RT_B, data={"from_rt": RT_A}),
        "data.from_rt",
    ),
    (
        "move within to the same RT",
        item("pindah_dalam", BUDI, rt=RT_A, data={"from_rt": RT_A}),
        "data.from_rt",
    ),
    (
        "move within to another city",
        item("pindah_dalam", BUDI, rt=RT_OTHER_CITY, data={"from_rt": RT_A}),
        "rt",
    ),
    ("move within without rt", item("pindah_dalam", BUDI, data={"from_rt": RT_A}), "rt"),
    ("marriage of an unknown nik", item("akta_perkawinan", CHILD), "nik"),
    (
        "kk with an unknown member",
        _kk([{"nik": BUDI, "shdk": "kepala_keluarga"}, {"nik": CHILD, "shdk": "anak"}]),
        "data.members[1].nik",
    ),
    (
        "kk with a member of another city",
        _kk([{"nik": BUDI, "shdk": "kepala_keluarga"}, {"nik": DEWI, "shdk": "istri"}]),
        "data.members[1].nik",
    ),
    (
        "kk with a deceased member",
        _kk([{"nik": BUDI, "shdk": "kepala_keluarga"}, {"nik": WATI, "shdk": "orang_tua"}]),
        "data.members[1].nik",
    ),
    (
        "kk listing a member twice",
        _kk(
            [
                {"nik": BUDI, "shdk": "kepala_keluarga"},
                {"nik": SITI, "shdk": "istri"},
                {"nik": SITI, "shdk": "istri"},
            ]
        ),
        "data.members[2].nik",
    ),
    (
        "kk with a bad shdk",
        _kk([{"nik": BUDI, "shdk": "kepala_keluarga"}, {"nik": SITI, "shdk": "bini"}]),
        "data.members[1].shdk",
    ),
    ("kk without its head", _kk([{"nik": SITI, "shdk": "kepala_keluarga"}]), "nik"),
    ("kk without members", _kk([]), "data.members"),
    (
        "kk with a bad no_kk",
        item(
            "kk", BUDI, data={"no_kk": "123", "members": [{"nik": BUDI, "shdk": "kepala_keluarga"}]}
        ),
        "data.no_kk",
    ),
    ("document number too long", item("ktp_el", BUDI, document_number="N" * 65), "document_number"),
]


@pytest.mark.parametrize(
    ("raw", "field"), [(r, f) for _, r, f in REJECTIONS], ids=[n for n, _, _ in REJECTIONS]
)
async def test_rejections_name_the_field_and_change_nothing(
    db: Database, book: Book, raw: Any, field: str
) -> None:
    before = await snapshot(db)
    (result,) = await ingest(db, book.integrator, [raw])
    assert result["status"] == "rejected", result
    assert field in fields(result), result
    assert all(e["message"] for e in result["errors"])
    assert not has_full_nik(result)
    assert await snapshot(db) == before


async def test_rejection_messages_are_indonesian_first_with_english(
    db: Database, book: Book
) -> None:
    (result,) = await ingest(db, book.integrator, [item("ktp_el", "6471060000000000")])
    message = result["errors"][0]["message"]
    assert message.startswith("NIK ************0000 tidak terdaftar")
    assert message.endswith(")") and "(" in message


async def test_a_city_admin_of_one_city_cannot_touch_another(db: Database, book: Book) -> None:
    before = await snapshot(db)
    results = await ingest(
        db,
        book.other_integrator,
        [
            item("ktp_el", BUDI),
            item("akta_kelahiran", CHILD, rt=RT_A, data={"child": child_record()}),
        ],
    )
    assert statuses(results) == ["rejected", "rejected"]
    assert await snapshot(db) == before
    # The same item from the right city goes through; its twin from the other city's
    # integrator is then not told anything about it.
    await ingest(db, book.integrator, [item("ktp_el", BUDI, "shared-id")])
    (other,) = await ingest(db, book.other_integrator, [item("ktp_el", BUDI, "shared-id")])
    assert other["status"] == "rejected"
    assert other["warnings"] == []


async def test_roles_that_may_not_submit(db: Database, book: Book) -> None:
    assert may_submit_services(book.integrator)
    assert may_submit_services(book.city_admin)
    assert may_submit_services(book.admin)
    assert not may_submit_services(book.rt_head)
    health = Principal(user_id=99, username="kader", role=Role.HEALTH_WORKER)
    assert not may_submit_services(health)
    before = await snapshot(db)
    (result,) = await ingest(db, book.rt_head, [item("ktp_el", BUDI)])
    assert result["status"] == "rejected"
    assert await snapshot(db) == before


async def test_nik_biodata_mismatch_is_a_warning(db: Database, book: Book) -> None:
    # The child's NIK says born 1 November 2026 and female; the record says 2 November
    # and male. Old registry errors are kept, with a warning.
    child = child_record(birth_date="2026-11-02", sex="L")
    (result,) = await ingest(
        db, book.integrator, [item("akta_kelahiran", CHILD, rt=RT_A, data={"child": child})]
    )
    assert result["status"] == "applied"
    assert [w["field"] for w in result["warnings"]] == ["data.child.nik", "data.child.nik"]
    assert not has_full_nik(result)
    added = await resident(db, CHILD)
    assert added is not None and added["sex"] == "L"


async def test_unknown_fields_are_warnings(db: Database, book: Book) -> None:
    raw = item("ktp_el", BUDI, data={"colour": "blue"}, priority=1)
    raw[BUDI] = "a NIK as a key"
    raw["data"]["x\x00\ud800"] = "\ud800"  # junk in a field we ignore: still a warning
    (result,) = await ingest(db, book.integrator, [raw])
    assert result["status"] == "applied"
    assert sorted(w["field"] for w in result["warnings"]) == sorted(
        ["priority", "************0001", "data.colour", "data.x??"]
    )
    assert not has_full_nik(result)
    # The warnings are stored with the service record (valid JSON text).
    (record,) = await rows(db, "SELECT warnings FROM service_record")
    assert "data.x??" in record["warnings"]


GARBAGE: list[Any] = [
    "ktp_el",
    42,
    3.5,
    None,
    True,
    [],
    [item("ktp_el", BUDI)],
    {},
    {"services": [item("ktp_el", BUDI)]},
    {
        "source": {"nested": [1, {"deeper": None}]},
        "id": ["x"],
        "type": {"t": 1},
        "completed_at": 20261120,
        "nik": [BUDI],
        "data": "x",
    },
    item("ktp_el", BUDI, "huge", document_number="9" * 1_000_000),
    item("ktp_el", BUDI, "y" * 1_000_000),
    item("ktp_el", BUDI, "surrogate", source="siak\ud800"),
    item("ktp_el", BUDI, "id-\ud800"),
    item("ktp_el", BUDI, "nul", source="siak\x00"),
    item("ktp_el", BUDI + "\x00"),
    item("kk", BUDI, data={"no_kk": KK_BUDI, "members": [None, 1, "x", [BUDI]]}),
    item("kk", BUDI, data={"no_kk": KK_BUDI, "members": {"nik": BUDI}}),
    item("akta_kelahiran", CHILD, rt=RT_A, data={"child": "PUTRI"}),
    item("akta_kelahiran", CHILD, rt=RT_A, data={"child": child_record(name="A\x00B")}),
    item("akta_kelahiran", CHILD, rt=RT_A, data={"child": child_record(name="\ud800")}),
    item("akta_kelahiran", CHILD, rt=RT_A, data={"child": child_record(name="N" * 151)}),
    item("akta_kelahiran", CHILD, rt=[RT_A], data={"child": child_record()}),
    item("pindah_dalam", BUDI, rt=RT_B, data={"from_rt": 5}),
    item("akta_kematian", SITI, data={"date_of_death": 20261118}),
    item("ktp_el", BUDI, completed_at="2026-11-20T25:61:00+08:00"),
    item("ktp_el", BUDI, completed_at="９９９９-11-20T09:30:00+08:00"),
]


async def test_garbage_is_rejected_and_never_raises(db: Database, book: Book) -> None:
    before = await snapshot(db)
    results = await ingest(db, book.integrator, GARBAGE)
    assert len(results) == len(GARBAGE)
    for raw, result in zip(GARBAGE, results, strict=True):
        assert result["status"] == "rejected", (raw if len(repr(raw)) < 300 else "big", result)
        assert result["errors"], result
        assert not has_full_nik(result["errors"])
    assert results[0]["id"] is None and results[1]["id"] is None
    assert results[13]["id"] is None  # a lone surrogate cannot go back as JSON text
    assert await snapshot(db) == before
    # The good item after all that garbage still goes through.
    (good,) = await ingest(db, book.integrator, [item("ktp_el", BUDI)])
    assert good["status"] == "applied"


async def test_an_unexpected_failure_rejects_only_that_item(db: Database, book: Book) -> None:
    # A resident whose city has no city row (data no check of ours can see as wrong):
    # writing the feed event for that city fails inside the item's transaction.
    async def orphan(conn) -> None:
        await conn.execute(
            "INSERT INTO resident (nik, name, sex, birth_date, no_kk, rt_code, city_code,"
            " status, origin, registered_at, updated_at)"
            " VALUES ($1, 'YATIM', 'L', $2, $3, $4, '64.79', 'active', 'import', $5, $5)",
            "6479010101900001",
            datetime(1990, 1, 1).date(),
            "6471060101200077",
            "64.79.01.1001-001-001",
            NOW,
        )

    await db.write(orphan)
    before = await counts(db)
    kk = item(
        "kk",
        BUDI,
        "kk-orphan",
        data={
            "no_kk": KK_BUDI,
            "members": [
                {"nik": BUDI, "shdk": "kepala_keluarga"},
                {"nik": "6479010101900001", "shdk": "anak"},
            ],
        },
    )
    results = await ingest(
        db, book.admin, [item("ktp_el", BUDI, "ok-1"), kk, item("kia", RINA, "ok-2")]
    )
    assert statuses(results) == ["applied", "rejected", "applied"]
    assert fields(results[1]) == ["item"]
    assert not has_full_nik(results)
    after = await counts(db)
    assert after["service_record"] == before["service_record"] + 2
    assert after["kk_history"] == before["kk_history"]
    budi = await resident(db, BUDI)
    assert budi is not None and budi["no_kk"] == KK_BUDI


async def test_more_than_max_batch_items_are_refused_individually(db: Database, book: Book) -> None:
    batch = [item("ktp_el", BUDI, f"many-{i}") for i in range(MAX_BATCH + 2)]
    results = await ingest(db, book.integrator, batch)
    assert len(results) == MAX_BATCH + 2
    assert statuses(results[-2:]) == ["rejected", "rejected"]
    assert statuses(results[:MAX_BATCH]) == ["applied"] * MAX_BATCH


async def test_empty_batch(db: Database, book: Book) -> None:
    assert await ingest(db, book.integrator, []) == []


async def test_concurrent_batches_apply_each_service_once(db: Database, book: Book) -> None:
    # The same services in opposite orders, sent at the same time: on PostgreSQL the two
    # batches wait on each other's idempotency keys (a deadlock that the server breaks;
    # the losing batch is redone item by item). Either way each service is applied once.
    people = [BUDI, RINA, ANDI, SITI]
    services = [item("ktp_el", people[i % 4], f"c-{i:02d}") for i in range(80)]
    first, second = await asyncio.gather(
        ingest(db, book.integrator, services),
        ingest(db, book.integrator, list(reversed(services))),
    )
    second = list(reversed(second))
    for one, two in zip(first, second, strict=True):
        assert sorted([one["status"], two["status"]]) == ["applied", "duplicate"], (one, two)
    events = await feed(db)
    assert [int(e["sequence"]) for e in events] == list(range(1, 81))
    assert sorted(e["data"]["service_id"] for e in events) == [s["id"] for s in services]
    assert (await counts(db))["service_record"] == 80
