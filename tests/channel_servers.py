"""Real servers on loopback for the channel and notification tests: an SMTP server
(aiosmtpd) and an HTTP server that answers like the Evolution API gateway or Meta's
Graph API, with faults on demand (an error answer, a hang past the client's timeout,
a server stopped and started again on the same port)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "rt005@example.id"
SMTP_PASSWORD = "s3cr3t-Sandi!42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- SMTP --------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class PasswordCheck:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok)


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox


def start_smtp(auth: PasswordCheck | None = None) -> tuple[Controller, SmtpServer]:
    inbox = Inbox()
    port = free_port()
    kwargs: dict[str, Any] = {}
    if auth is not None:
        kwargs = {"authenticator": auth, "auth_required": True, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, SmtpServer(port=port, inbox=inbox)


# -- HTTP (Evolution API / Graph API) ----------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Gateway:
    """What the fake gateway does: ``status`` to answer, ``delay`` seconds to wait
    before answering; ``requests`` it received.

    ``faults`` are used up one per request, in arrival order, before ``status``
    applies again: ``"500"`` answers 500, ``"hang"`` waits ``hang_seconds`` (past the
    client's timeout) and then answers 504. ``accepted`` holds the requests answered
    200/201: the messages the provider took (counted when the answer is decided, so
    a send whose client was killed while waiting is still a message sent).
    ``on_request`` is called (in the server's thread) with each request as it arrives.
    ``port``: 0 picks a free one; a fixed one lets a stopped gateway come back there.
    """

    port: int = 0
    status: int = 201
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    hang_seconds: float = 3.0
    accepted: list[Request] = field(default_factory=list)
    on_request: Callable[[Request], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_status(self) -> int:
        """The answer to the request that just arrived (after its fault's wait)."""
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault == "hang":
            time.sleep(self.hang_seconds)
            return 504
        if fault is not None:
            return int(fault)
        if self.delay:
            time.sleep(self.delay)
        return self.status

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            request = Request(
                "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            gateway.requests.append(request)
            if gateway.on_request is not None:
                gateway.on_request(request)
            status = gateway.next_status()
            if status in (200, 201):
                gateway.accepted.append(request)
                if "/message/sendText/" in self.path:
                    answer = {"key": {"id": "BAE5F1C2D3E4", "fromMe": True}, "status": "PENDING"}
                else:
                    answer = {"messaging_product": "whatsapp", "messages": [{"id": "wamid.X1"}]}
            else:
                answer = {"error": {"code": status, "message": "gateway error"}}
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def start_gateway(gateway: Gateway) -> ThreadingHTTPServer:
    """Serve ``gateway`` on ``gateway.port`` (0: a free port, then set on it)."""
    server = ThreadingHTTPServer(("127.0.0.1", gateway.port), _handler(gateway))
    server.daemon_threads = True
    gateway.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_gateway(server: ThreadingHTTPServer) -> None:
    """Stop answering and close the port: connections to it are refused."""
    server.shutdown()
    server.server_close()
