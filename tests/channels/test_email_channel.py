"""The email channel against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import logging

import pytest
from channel_servers import SMTP_PASSWORD, SMTP_USER, free_port

import rtbook_email
from rtbook.core.plugins.registry import PluginRegistry
from rtbook_email import ChannelSendError, mailto_url, send_email

TEXT = (
    "Yth. Ketua RT 005: layanan Kartu Keluarga untuk Siti Aminah (NIK ****5678) "
    "telah selesai pada 20 November 2026."
)
SUBJECT = "Layanan selesai: Kartu Keluarga"


def registry() -> PluginRegistry:
    reg = PluginRegistry()
    reg.register("email", rtbook_email)
    return reg


def config(port: int, **extra: object) -> dict:
    raw = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "from": "rtbook@kelurahan.id",
    }
    raw.update(extra)
    return registry().validate_config("email", raw)


async def channel_sender():
    answers = dict(await registry().acollect("rtbook_notification_channels"))
    return answers["email"]["email"]


async def test_one_send_is_one_message_with_recipient_subject_and_body(smtp) -> None:
    sender = await channel_sender()
    result = await sender("ketua.rt005@example.id", TEXT, subject=SUBJECT, config=config(smtp.port))
    assert result["message_id"] is None  # SMTP gives no provider id through Apprise
    [target] = result["results"]  # Apprise 2.x's per-target result, address masked
    assert (target["target"], target["status"]) == ("k***@example.id", "SUCCESS")
    assert len(smtp.inbox.messages) == 1
    got = smtp.inbox.messages[0]
    assert got.rcpt_tos == ["ketua.rt005@example.id"]
    assert got.mail_from == "rtbook@kelurahan.id"
    assert str(got.message["Subject"]) == SUBJECT
    assert str(got.message["To"]).endswith("ketua.rt005@example.id")
    plain = " ".join(got.text().split())
    assert "Kartu Keluarga untuk Siti Aminah" in plain and "20 November 2026" in plain
    assert "Siti Aminah" in got.html()


async def test_two_sends_are_two_messages(smtp) -> None:
    cfg = config(smtp.port)
    await send_email("a@example.id", "Pesan pertama", subject="Satu", config=cfg)
    await send_email("b@example.id", "Pesan kedua", subject=None, config=cfg)
    assert [m.rcpt_tos for m in smtp.inbox.messages] == [["a@example.id"], ["b@example.id"]]
    assert str(smtp.inbox.messages[1].message["Subject"]) == "rtbook"


async def test_login_with_username_and_password(smtp_auth) -> None:
    cfg = config(smtp_auth.port, username=SMTP_USER, password=SMTP_PASSWORD)
    await send_email("ketua@example.id", TEXT, subject=SUBJECT, config=cfg)
    assert len(smtp_auth.inbox.messages) == 1


async def test_wrong_password_raises_without_the_password(smtp_auth, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = config(smtp_auth.port, username=SMTP_USER, password="salah-Sandi-999", timeout_seconds=2)
    with pytest.raises(ChannelSendError) as raised:
        await send_email("ketua@example.id", TEXT, subject=SUBJECT, config=cfg)
    message = str(raised.value)
    assert "email gagal dikirim" in message and "k***@example.id" in message
    assert "salah-Sandi-999" not in message
    assert "ketua@example.id" not in message
    assert "salah-Sandi-999" not in caplog.text
    assert raised.value.results and raised.value.results[0].status == "FAILURE"
    assert smtp_auth.inbox.messages == []


async def test_connection_refused_raises() -> None:
    cfg = config(free_port(), timeout_seconds=2)
    with pytest.raises(ChannelSendError, match="gagal dikirim"):
        await send_email("ketua@example.id", TEXT, subject=SUBJECT, config=cfg)


async def test_starttls_against_a_server_without_it_raises(smtp) -> None:
    cfg = config(smtp.port, security="starttls")
    with pytest.raises(ChannelSendError):
        await send_email("ketua@example.id", TEXT, subject=SUBJECT, config=cfg)
    assert smtp.inbox.messages == []


async def test_bad_address_is_refused_before_sending(smtp) -> None:
    with pytest.raises(ValueError, match="alamat email tidak sah"):
        await send_email("bukan-email", TEXT, subject=SUBJECT, config=config(smtp.port))
    assert smtp.inbox.messages == []


def test_urls_by_security() -> None:
    base = {"smtp_host": "smtp.example.id", "smtp_port": 465, "from": "rt@example.id"}
    ssl = mailto_url(
        {**base, "security": "ssl", "username": "rt@example.id", "password": "p@ss/w:rd"},
        "x@example.id",
    )
    assert ssl.startswith("mailtos://rt%40example.id:p%40ss%2Fw%3Ard@smtp.example.id:465?")
    assert "mode=ssl" in ssl
    starttls = mailto_url({**base, "security": "starttls", "smtp_port": 587}, "x@example.id")
    assert starttls.startswith("mailto://smtp.example.id:587?") and "mode=starttls" in starttls
    plain = mailto_url({**base, "security": "none", "smtp_port": 25}, "x@example.id")
    assert "mode=insecure" in plain and "to=x%40example.id" in plain
