"""Plugin notices with files, on both backends, through the real email and whatsapp
plugins: an aiosmtpd server and an Evolution API gateway on loopback receive what an
RT head would get. The e-mail carries the file (same bytes, same name), WhatsApp the
text only; a notice sent twice stores and sends its file once; a bad file is refused;
a digest recipient still gets the file by e-mail; retention drops files nobody can
still be sent."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from channel_servers import Gateway, SmtpServer, start_gateway, start_smtp
from factories import RT_A, add_user, standard_city
from notify_support import Clock

import rtbook_email
import rtbook_whatsapp
from rtbook.core.auth import Role
from rtbook.core.db import Database
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.notify.notices import (
    ATTACHMENT_MAX_BYTES,
    Attachment,
    Notice,
    Notifier,
    accepts_attachments,
)
from rtbook.core.notify.preferences import parse_input, save_preferences
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import enabled_plugins, set_plugin
from rtbook.core.retention import purge_attachments

MORNING = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 WITA
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"  # binary, every byte value
FILE = Attachment("surat-pengantar 005.pdf", "application/pdf", PDF)
TEXT = {"id": "Surat pengantar RT 005 terlampir.", "en": "The RT 005 letter is attached."}
SUBJECT = {"id": "Surat pengantar RT 005", "en": "RT 005 letter"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp()
    yield server
    controller.stop()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    server = start_gateway(gw)
    yield gw
    server.shutdown()
    server.server_close()


@pytest.fixture
async def world(db: Database, smtp: SmtpServer, gateway: Gateway) -> dict[str, Any]:
    ids: dict[str, int] = {}

    async def unit(conn: Any) -> None:
        await standard_city(conn)
        for name, wa, mail in (
            ("ketua005", "+6281234567801", "ketua005@example.id"),
            ("ketua_digest", "+6281234567802", "digest@example.id"),
        ):
            user, _ = await add_user(
                conn, name, Role.RT_HEAD, city="64.71", rts=(RT_A,), whatsapp=wa, email=mail
            )
            ids[name] = user.user_id

    await db.write(unit)
    registry = PluginRegistry()
    registry.register("email", rtbook_email)
    registry.register("whatsapp", rtbook_whatsapp)
    configs = {
        "email": {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "security": "none",
            "from": "rtbook@kelurahan-damai.id",
        },
        "whatsapp": {
            "provider": "evolution",
            "base_url": gateway.base_url,
            "api_key": "EvoKey-Rahasia-7781",
            "instance": "rt005",
        },
    }
    for name, config in configs.items():
        await db.write(
            lambda conn, name=name, config=config: set_plugin(
                conn,
                registry,
                "64.71",
                name,
                enabled=True,
                config=registry.validate_config(name, config),
                user_id=None,
            )
        )
    return {"db": db, "ids": ids, "registry": registry, "smtp": smtp, "gateway": gateway}


async def notify(world: dict[str, Any], clock: Clock, *notices: Notice) -> int:
    notifier = Notifier(
        world["db"], world["registry"], "64.71", enabled_plugins=enabled_plugins, now=clock
    )
    return await notifier.notify(list(notices))


async def send(world: dict[str, Any], clock: Clock) -> None:
    await run_notify(
        world["db"],
        world["registry"],
        now=clock,
        enabled_plugins=enabled_plugins,
        options=NotifyOptions(),
        rng=random.Random(1),
    )


async def stored(db: Database) -> list[dict[str, Any]]:
    rows = await db.read(
        lambda conn: conn.fetch(
            "SELECT city_code, notice_key, filename, media_type, content"
            " FROM notice_attachment ORDER BY id"
        )
    )
    return [dict(r) for r in rows]


def files_of(message: Any) -> list[tuple[str, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]


def letter(key: str, user_ids: list[int], *files: Attachment) -> Notice:
    return Notice(key=key, user_ids=user_ids, subject=SUBJECT, body=TEXT, attachments=files)


async def test_the_email_carries_the_file_and_whatsapp_the_text_only(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, smtp, gateway = world["db"], world["smtp"], world["gateway"]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the sender writes files
    clock = Clock(MORNING)
    head = world["ids"]["ketua005"]
    assert await notify(world, clock, letter("surat-005", [head], FILE)) == 2
    await send(world, clock)

    [mail] = smtp.inbox.messages
    assert mail.rcpt_tos == ["ketua005@example.id"]
    assert mail.message.get_content_type() == "multipart/mixed"
    assert str(mail.message["Subject"]) == "Surat pengantar RT 005"
    assert "Surat pengantar RT 005 terlampir." in mail.html()
    # the name made safe for a mail header and a folder (the space), the bytes intact
    assert files_of(mail.message) == [("surat-pengantar_005.pdf", "application/pdf", PDF)]

    assert list(scratch.iterdir()) == []  # the sender's temporary folder is gone

    [whatsapp] = gateway.requests
    assert whatsapp.body["number"] == "6281234567801"
    assert whatsapp.body["text"] == "Surat pengantar RT 005 terlampir."
    assert "media" not in whatsapp.body and "mediaMessage" not in whatsapp.path

    rows = await db.read(
        lambda conn: conn.fetch("SELECT channel, status FROM delivery ORDER BY channel")
    )
    assert [(r["channel"], r["status"]) for r in rows] == [("email", "sent"), ("whatsapp", "sent")]


async def test_a_notice_sent_twice_stores_and_sends_its_file_once(world: dict[str, Any]) -> None:
    db, smtp = world["db"], world["smtp"]
    clock = Clock(MORNING)
    head = world["ids"]["ketua005"]
    assert await notify(world, clock, letter("surat-005", [head], FILE)) == 2
    # the hook runs again, even with another file under the same key: nothing new
    other = Attachment("lain.pdf", "application/pdf", b"%PDF other")
    assert await notify(world, clock, letter("surat-005", [head], FILE, other)) == 0
    await send(world, clock)
    clock.advance(minutes=5)
    assert await notify(world, clock, letter("surat-005", [head], FILE)) == 0
    await send(world, clock)

    rows = await stored(db)
    assert [(r["city_code"], r["notice_key"], r["filename"]) for r in rows] == [
        ("64.71", "surat-005", "surat-pengantar 005.pdf")
    ]
    assert bytes(rows[0]["content"]) == PDF and rows[0]["media_type"] == "application/pdf"
    assert len(smtp.inbox.messages) == 1
    assert [f for _, _, f in files_of(smtp.inbox.messages[0].message)] == [PDF]


async def test_a_notice_without_files_stores_none_and_sends_a_plain_mail(
    world: dict[str, Any],
) -> None:
    clock = Clock(MORNING)
    assert await notify(world, clock, letter("kabar-005", [world["ids"]["ketua005"]])) == 2
    await send(world, clock)
    assert await stored(world["db"]) == []
    [mail] = world["smtp"].inbox.messages
    assert files_of(mail.message) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ((Attachment("../etc/passwd", "text/plain", b"x"),), "nama biasa"),
        ((Attachment("a\\b.txt", "text/plain", b"x"),), "nama biasa"),
        ((Attachment("", "text/plain", b"x"),), "nama biasa"),
        ((Attachment("x" * 101 + ".pdf", "application/pdf", b"x"),), "nama biasa"),
        ((Attachment("besar.bin", "application/octet-stream", b"0" * (5 * 2**20 + 1)),), "5 MB"),
        (
            tuple(
                Attachment(f"b{i}.bin", "application/octet-stream", b"0" * ATTACHMENT_MAX_BYTES)
                for i in range(3)
            ),
            "10 MB",
        ),
        ((Attachment("a.pdf", "pdf", b"x"),), "type/subtype"),
        ((Attachment("a.pdf", "application/pdf", "text"),), "bytes"),  # type: ignore[arg-type]
        ((FILE, FILE), "dua kali"),
    ],
)
async def test_a_bad_file_is_refused_and_nothing_is_planned(
    world: dict[str, Any], files: tuple[Attachment, ...], message: str
) -> None:
    clock = Clock(MORNING)
    with pytest.raises(ValueError, match=message):
        await notify(world, clock, letter("surat-005", [world["ids"]["ketua005"]], *files))
    count = await world["db"].read(lambda conn: conn.fetchval("SELECT count(*) FROM delivery"))
    assert count == 0 and await stored(world["db"]) == []


async def test_a_digest_recipient_gets_the_file_by_email_not_in_the_digest(
    world: dict[str, Any],
) -> None:
    db, ids, smtp, gateway = world["db"], world["ids"], world["smtp"], world["gateway"]
    await db.write(
        lambda conn: save_preferences(
            conn, ids["ketua_digest"], parse_input({"daily_digest": True}), MORNING
        )
    )
    clock = Clock(MORNING)
    assert await notify(world, clock, letter("surat-005", [ids["ketua_digest"]], FILE)) == 2
    rows = await db.read(
        lambda conn: conn.fetch("SELECT channel, status FROM delivery ORDER BY channel")
    )
    assert [(r["channel"], r["status"]) for r in rows] == [
        ("email", "pending"),
        ("whatsapp", "digested"),
    ]
    await send(world, clock)
    [mail] = smtp.inbox.messages
    assert mail.rcpt_tos == ["digest@example.id"] and files_of(mail.message)[0][2] == PDF
    assert gateway.requests == []  # WhatsApp waits for the morning digest


async def test_retention_drops_files_no_delivery_can_still_send(world: dict[str, Any]) -> None:
    db = world["db"]
    clock = Clock(MORNING)
    head = world["ids"]["ketua005"]
    await notify(world, clock, letter("terkirim", [head], FILE))
    await send(world, clock)  # both sent: the file is never needed again
    world["gateway"].status = 500
    await notify(world, clock, letter("tertunda", [head], FILE))
    await send(world, clock)  # the WhatsApp send failed: it will be tried again
    await notify(world, clock, letter("yatim", [head], FILE))
    await db.write(lambda conn: conn.execute("DELETE FROM delivery WHERE event_id = 'yatim'"))
    assert [r["notice_key"] for r in await stored(db)] == ["terkirim", "tertunda", "yatim"]

    assert await db.write(lambda conn: purge_attachments(conn, "64.71")) == 2
    assert [r["notice_key"] for r in await stored(db)] == ["tertunda"]
    assert await db.write(lambda conn: purge_attachments(conn, "64.72")) == 0

    # the file still goes out with the retried send
    world["gateway"].status = 201
    clock.advance(hours=2)
    await send(world, clock)
    statuses = await db.read(
        lambda conn: conn.fetch("SELECT status FROM delivery WHERE event_id = 'tertunda'")
    )
    assert {r["status"] for r in statuses} == {"sent"}
    assert await db.write(lambda conn: purge_attachments(conn, "64.71")) == 1
    assert await stored(db) == []


def test_only_senders_that_name_attachments_get_files() -> None:
    async def plain(address: str, text: str, *, subject: Any, config: Any) -> None: ...

    async def anything(address: str, text: str, **kwargs: Any) -> None: ...

    async def files(address: str, text: str, *, subject: Any, config: Any, attachments=()): ...

    assert not accepts_attachments(plain) and not accepts_attachments(anything)
    assert accepts_attachments(files) and accepts_attachments(rtbook_email.send_email)
