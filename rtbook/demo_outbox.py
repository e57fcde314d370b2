"""Where ``rtbook demo``'s notices land: two small servers on 127.0.0.1 that stand in
for the providers and write every message they receive to one readable file.

- an SMTP server (aiosmtpd) for the ``email`` plugin (security ``none``);
- an HTTP server that answers like the Evolution API gateway's
  ``POST /message/sendText/{instance}`` (header ``apikey``, body ``{"number",
  "text"}``, answer 201) for the ``whatsapp`` plugin (provider ``evolution``).

Each message is appended to the outbox file in one write: a header line with the
time (city time), the channel and the recipient, masked as admins see it
(``+62812****0005``, ``k***@example.org``), then the text, indented. The servers only
record: what the text says is what rtbook sent.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from rtbook.core.notify.deliveries import mask_address

OUTBOX_NAME = "rtbook-demo-outbox.txt"
HOST = "127.0.0.1"
INSTANCE = "rtbook-demo"
SENDER = "rtbook-demo@example.org"
_MAX_BODY = 1 << 20  # a sendText body is a few hundred bytes


class OutboxFile:
    """The readable record of every message the demo's providers received."""

    def __init__(self, path: Path, timezone: str) -> None:
        self.path = path
        self.zone = ZoneInfo(timezone)
        self._lock = threading.Lock()  # the SMTP and HTTP servers run on two threads

    def record(self, channel: str, address: str, text: str, subject: str | None = None) -> None:
        moment = datetime.now(self.zone).strftime("%Y-%m-%d %H:%M:%S %Z")
        lines = [f"[{moment}] {channel} -> {mask_address(address)}"]
        if subject:
            lines.append(f"  Subjek (subject): {subject}")
        lines.extend(f"  {line}".rstrip() for line in text.strip().splitlines())
        entry = "\n".join(lines) + "\n\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(entry)


class _MailHandler:
    """aiosmtpd handler: every accepted message goes to the outbox, once per recipient."""

    def __init__(self, outbox: OutboxFile) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        text = ""
        if isinstance(message, EmailMessage):
            part = message.get_body(preferencelist=("plain",))
            text = part.get_content() if part is not None else ""
        subject = str(message.get("Subject") or "")
        # Apprise sends HTML and derives the plain part from it, starting its lines
        # with a space: shown without it.
        text = "\n".join(line.strip() for line in text.splitlines())
        for recipient in envelope.rcpt_tos:
            self.outbox.record("email", recipient, text, subject=subject or None)
        return "250 OK"


def _evolution_handler(outbox: OutboxFile, api_key: str) -> type[BaseHTTPRequestHandler]:
    path = f"/message/sendText/{INSTANCE}"

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, _MAX_BODY))
            if self.path.split("?")[0] != path:
                return self._answer(404, {"status": 404, "error": "Not Found"})
            if not secrets.compare_digest(self.headers.get("apikey") or "", api_key):
                return self._answer(401, {"status": 401, "error": "Unauthorized"})
            try:
                body = json.loads(raw)
                number, text = str(body["number"]), str(body["text"])
            except (ValueError, KeyError, TypeError):
                return self._answer(400, {"status": 400, "error": "Bad Request"})
            outbox.record("whatsapp", f"+{number.lstrip('+')}", text)
            self._answer(
                201,
                {
                    "key": {
                        "remoteJid": f"{number}@s.whatsapp.net",
                        "fromMe": True,
                        "id": secrets.token_hex(8).upper(),
                    },
                    "message": {"conversation": text},
                    "messageType": "conversation",
                    "status": "PENDING",
                },
            )

        def _answer(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the outbox file is the record

    return Handler


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class DemoOutbox:
    """Both servers, started together (``start``/``stop``, or ``with``). Once started,
    :meth:`configs` gives the plugins' city configs that point at them."""

    def __init__(self, path: Path, timezone: str = "Asia/Makassar") -> None:
        self.file = OutboxFile(path, timezone)
        self.api_key = secrets.token_urlsafe(16)
        self._smtp: Controller | None = None
        self._http: ThreadingHTTPServer | None = None

    @property
    def path(self) -> Path:
        return self.file.path

    def start(self) -> None:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        smtp = Controller(_MailHandler(self.file), hostname=HOST, port=_free_port())
        smtp.start()
        self._smtp = smtp
        http = ThreadingHTTPServer((HOST, 0), _evolution_handler(self.file, self.api_key))
        http.daemon_threads = True
        threading.Thread(target=http.serve_forever, name="demo-outbox-http", daemon=True).start()
        self._http = http

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> DemoOutbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def configs(self) -> dict[str, dict[str, Any]]:
        """plugin -> its config for the demo city: ``email`` over plain SMTP to the
        SMTP server, ``whatsapp`` (provider ``evolution``) to the HTTP server."""
        if self._smtp is None or self._http is None:
            raise RuntimeError("the demo outbox is not started")
        return {
            "email": {
                "smtp_host": HOST,
                "smtp_port": self._smtp.port,
                "security": "none",
                "from": SENDER,
            },
            "whatsapp": {
                "provider": "evolution",
                "base_url": f"http://{HOST}:{self._http.server_address[1]}",
                "api_key": self.api_key,
                "instance": INSTANCE,
            },
        }


def outbox_path(sqlite_path: Path | None) -> Path:
    """Beside the demo's SQLite database; in the working directory for PostgreSQL."""
    folder = sqlite_path.parent if sqlite_path is not None else Path.cwd()
    return folder / OUTBOX_NAME
