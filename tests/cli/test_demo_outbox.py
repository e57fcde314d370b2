"""rtbook.demo_outbox on its own: what its SMTP server and its Evolution API
look-alike write to the outbox file, and what they refuse."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from rtbook.demo_outbox import INSTANCE, OUTBOX_NAME, DemoOutbox, outbox_path

HEADER = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} WITA\] (\w+) -> (\S+)$")


@pytest.fixture
def outbox(tmp_path: Path):
    with DemoOutbox(tmp_path / OUTBOX_NAME, "Asia/Makassar") as started:
        yield started


def test_an_email_lands_in_the_file(outbox: DemoOutbox) -> None:
    config = outbox.configs()["email"]
    message = EmailMessage()
    message["From"], message["To"] = config["from"], "ketua-rt-005@example.org"
    message["Subject"] = "Akta Kelahiran untuk SITI AMINAH"
    message.set_content("Yth. Ketua RT 005:\nKelahiran SITI AMINAH telah dicatat.")
    message.add_alternative("<p>Kelahiran SITI AMINAH</p>", subtype="html")
    with smtplib.SMTP(config["smtp_host"], config["smtp_port"], timeout=10) as smtp:
        smtp.send_message(message)

    header, *body = outbox.path.read_text().strip().splitlines()
    match = HEADER.match(header)
    assert match is not None and match.groups() == ("email", "k***@example.org")
    assert body == [
        "  Subjek (subject): Akta Kelahiran untuk SITI AMINAH",
        "  Yth. Ketua RT 005:",
        "  Kelahiran SITI AMINAH telah dicatat.",
    ]


def test_a_whatsapp_message_lands_in_the_file(outbox: DemoOutbox) -> None:
    config = outbox.configs()["whatsapp"]
    assert config["provider"] == "evolution" and config["instance"] == INSTANCE
    send = f"{config['base_url']}/message/sendText/{INSTANCE}"
    body = {"number": "6281234560005", "text": "Kematian warga GAWATI\ntercatat"}

    answer = httpx.post(send, json=body, headers={"apikey": config["api_key"]})
    assert answer.status_code == 201
    assert answer.json()["key"]["remoteJid"] == "6281234560005@s.whatsapp.net"
    assert outbox.path.read_text().splitlines()[1:3] == [
        "  Kematian warga GAWATI",
        "  tercatat",
    ]
    assert HEADER.match(outbox.path.read_text().splitlines()[0]).groups() == (
        "whatsapp",
        "+62812****0005",
    )

    # what a gateway refuses is not a message: nothing more is written
    before = outbox.path.read_text()
    assert httpx.post(send, json=body, headers={"apikey": "wrong"}).status_code == 401
    assert httpx.post(send, json=body).status_code == 401
    other = f"{config['base_url']}/message/sendText/other-instance"
    assert httpx.post(other, json=body, headers={"apikey": config["api_key"]}).status_code == 404
    bad = httpx.post(send, content=b"{not json", headers={"apikey": config["api_key"]})
    assert bad.status_code == 400
    assert outbox.path.read_text() == before


def test_stopped_servers_refuse_connections(tmp_path: Path) -> None:
    outbox = DemoOutbox(tmp_path / OUTBOX_NAME)
    with pytest.raises(RuntimeError):
        outbox.configs()  # not started: no ports to point the plugins at
    with outbox:
        configs = outbox.configs()
    with pytest.raises(OSError):
        smtplib.SMTP(configs["email"]["smtp_host"], configs["email"]["smtp_port"], timeout=5)
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{configs['whatsapp']['base_url']}/message/sendText/{INSTANCE}", json={})


def test_the_file_is_beside_a_sqlite_database(tmp_path: Path, monkeypatch) -> None:
    assert outbox_path(tmp_path / "demo.db") == tmp_path / OUTBOX_NAME
    monkeypatch.chdir(tmp_path)
    assert outbox_path(None) == tmp_path / OUTBOX_NAME  # PostgreSQL: the working directory
