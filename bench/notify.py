"""Deliveries per second that the notification hub sends through the real channel
plugins to local gateways, against a raw client posting the same requests.

    .venv/bin/python bench/notify.py [--count 2000] [--email-count 200]
                                     [--backend sqlite|postgres|both] [--concurrency 16]
                                     [--limited-count 400] [--postgres-url URL]

Per backend: a migrated database with Kota Balikpapan, 100 RTs and one RT head each
(a WhatsApp number and an e-mail address). Feed events are loaded straight into the
``event`` table and the hub plans one delivery per event for the RT's head
(``plan_all``, timed apart). Then the hub's pass (``run_notify``, repeated while a
full batch comes back, as the worker's loop does) sends them with ``send_concurrency``
in flight:

- ``whatsapp``, provider ``evolution``, to a threaded ``http.server`` on loopback in
  its own process that answers like the Evolution API (``POST
  /message/sendText/INSTANCE``, ``apikey`` header, 201 with a message key); the
  account's rate (``rate_per_second``) set to 1000 so the limiter does not bind;
- the same with the default rate (80/s per account): the limiter must hold;
- ``email`` to aiosmtpd on loopback, in its own process.

Baselines, the same count at the same concurrency to the same servers: the whatsapp
plugin's sender called directly (no hub, no database: what Apprise costs), http.client
with a new connection per request in threads (what Apprise does through requests),
httpx.AsyncClient with keep-alive, and smtplib (one connection per message) in
threads. The hub rows count the hub's write transactions. Every row checks that the
server received exactly one request per delivery. A figure, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import inspect
import json
import random
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import _city
import httpx
from _city import log, print_table

import rtbook_email
import rtbook_whatsapp
from rtbook.core.db import Connection, Database, make_database
from rtbook.core.ledger.feed import event_data
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.notify.planning import plan_all
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import enabled_plugins, set_plugin
from rtbook.core.settings import DatabaseURL
from rtbook.synthetic import spread_rts

DEFAULT_POSTGRES = _city.POSTGRES_SERVER + "rtbook_bench_notify"
RT_HEADS = 100
API_KEY = "bench-evolution-key"
INSTANCE = "rtbench"
TEXT = (
    "Yth. Ketua RT 005: layanan Kartu Keluarga untuk SITI AMINAH (NIK ****1234) "
    "telah selesai pada 20 November 2026."
)


# -- the servers, each in its own process -------------------------------------------------


def serve_evolution() -> None:
    """A threaded HTTP server that answers like the Evolution API; ``GET /count``
    answers how many messages it accepted."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    count = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive for the clients that ask for it
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.loads(body)
            ok = (
                self.path == f"/message/sendText/{INSTANCE}"
                and self.headers.get("apikey") == API_KEY
                and data.get("number")
                and data.get("text")
            )
            with lock:
                count[0] += bool(ok)
                n = count[0]
            answer = {"key": {"id": f"BAE5{n:08X}", "fromMe": True}, "status": "PENDING"}
            self._answer(201 if ok else 400, answer)

        def do_GET(self) -> None:
            with lock:
                self._answer(200, {"count": count[0]})

        def _answer(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # the listen backlog (5 by default)

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin


def serve_smtp() -> None:
    """aiosmtpd on loopback; answers ``count`` lines on stdin with the messages it got."""
    from aiosmtpd.controller import Controller

    class Count:
        n = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Count.n += len(envelope.rcpt_tos)
            return "250 OK"

    port = _city.free_port()
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(Count.n, flush=True)
    controller.stop()


class Server:
    """A server child process: its port; how many messages it has accepted."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self) -> int:
        if self.kind == "evolution":
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", "/count")
            value = json.loads(conn.getresponse().read())["count"]
            conn.close()
            return int(value)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the city ------------------------------------------------------------------------------


async def set_up(db: Database) -> list[str]:
    """The city, RT_HEADS RTs with one head each; the RT codes."""
    rts = spread_rts(_city.kelurahan_of_city(), RT_HEADS)
    await _city.add_city_and_rts(db, rts)
    now = datetime.now(UTC)

    async def unit(conn: Connection) -> None:
        for n, rt in enumerate(rts):
            user_id = await conn.fetchval(
                "INSERT INTO rtbook_user (username, role, city_code, whatsapp, email,"
                " language, is_active, created_at) VALUES ($1, 'rt_head', $2, $3, $4, 'id',"
                " $5, $6) RETURNING id",
                f"ketua-{n:03d}",
                _city.CITY,
                f"+6281277{n:06d}",
                f"ketua.{n:03d}@rt.example.id",
                True,
                now,
            )
            await conn.execute(
                "INSERT INTO user_rt (user_id, rt_code) VALUES ($1, $2)", user_id, rt
            )

    await db.write(unit)
    return rts


async def post_events(db: Database, rts: list[str], count: int) -> None:
    """``count`` feed events spread over the RTs (one delivery each per channel)."""
    now = datetime.now(UTC)

    async def unit(conn: Connection) -> None:
        last = int(
            await conn.fetchval(
                "UPDATE city SET event_seq = event_seq + $1 WHERE code = $2 RETURNING event_seq",
                count,
                _city.CITY,
            )
        )
        rows = []
        for seq in range(last - count + 1, last + 1):
            name = f"WARGA NOMOR {seq}"
            data = event_data(
                service_type="kk",
                service_id=f"bench-{seq}",
                effect="document_issued",
                name=name,
                nik=f"64710641019{seq % 100000:05d}",
                summary=f"Kartu Keluarga diterbitkan untuk {name}",
            )
            rt = rts[seq % len(rts)]
            rows.append((_city.CITY, seq, rt, "document_issued", now, json.dumps(data), now))
        await conn.copy_rows(
            "event", ["city_code", "seq", "rt_code", "effect", "time", "data", "created_at"], rows
        )

    await db.write(unit)


def registry() -> PluginRegistry:
    reg = PluginRegistry()
    reg.register("email", rtbook_email)
    reg.register("whatsapp", rtbook_whatsapp)
    return reg


async def switch(db: Database, reg: PluginRegistry, configs: dict[str, Any]) -> None:
    """Enable the plugins in ``configs`` (with that config), disable the others."""

    async def unit(conn: Connection) -> None:
        for name in reg.names():
            config = configs.get(name)
            await set_plugin(
                conn, reg, _city.CITY, name, enabled=config is not None, config=config,
                user_id=None,
            )  # fmt: skip

    await db.write(unit)


# -- measuring -----------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    path: str
    count: int
    seconds: float
    received: int
    note: str = ""

    def cells(self) -> list[object]:
        ok = "yes" if self.received == self.count else f"NO ({self.received:,})"
        return [
            self.backend,
            self.path,
            self.count,
            self.seconds,
            self.count / self.seconds,
            ok,
            self.note,
        ]


async def hub_row(
    db: Database,
    reg: PluginRegistry,
    rts: list[str],
    server: Server,
    *,
    backend: str,
    path: str,
    count: int,
    configs: dict[str, Any],
    options: NotifyOptions,
) -> Row:
    await switch(db, reg, configs)
    await post_events(db, rts, count)
    planned_at = time.perf_counter()
    planned = await plan_all(db, reg, enabled_plugins, options, datetime.now(UTC))
    plan_seconds = time.perf_counter() - planned_at
    if planned != count:
        raise SystemExit(f"planned {planned} deliveries, expected {count}")
    before = server.count()
    rng = random.Random(1)
    sent = failed = 0
    writes = [0]
    write = db.write

    async def counted(unit: Any) -> Any:
        writes[0] += 1
        return await write(unit)

    db.write = counted  # type: ignore[method-assign]
    started = time.perf_counter()
    while sent + failed < count:
        stats = await run_notify(
            db,
            reg,
            now=lambda: datetime.now(UTC),
            enabled_plugins=enabled_plugins,
            options=options,
            rng=rng,
        )
        sent, failed = sent + stats.sent, failed + stats.failed + stats.dead
        if not stats.full_batch and stats.sent + stats.failed + stats.dead == 0:
            break  # nothing left that is due: should not happen
    seconds = time.perf_counter() - started
    del db.write
    received = server.count() - before
    note = (
        f"{writes[0]:,} write transactions; planned in {plan_seconds:.2f} s "
        f"({count / plan_seconds:,.0f}/s)"
    )
    if failed:
        note += f"; {failed} not sent"
    log(f"  {backend} {path}: {count / seconds:,.0f}/s")
    return Row(backend, path, count, seconds, received, note)


async def _timed(
    backend: str, path: str, count: int, server: Server, run: Callable[[], Any]
) -> Row:
    before = server.count()
    started = time.perf_counter()
    done = run()
    if inspect.isawaitable(done):
        await done
    seconds = time.perf_counter() - started
    received = server.count() - before
    log(f"  {backend} {path}: {count / seconds:,.0f}/s")
    return Row(backend, path, count, seconds, received)


def _evolution_request(n: int) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({"number": f"6281277{n % RT_HEADS:06d}", "text": TEXT}).encode()
    headers = {"apikey": API_KEY, "Content-Type": "application/json"}
    return f"/message/sendText/{INSTANCE}", body, headers


async def plugin_alone(config: dict[str, Any], count: int, concurrency: int) -> None:
    """The whatsapp plugin's sender called directly: Apprise's share of the cost."""
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            number = f"+6281277{n % RT_HEADS:06d}"
            await rtbook_whatsapp.send_whatsapp(number, TEXT, subject=None, config=config)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def raw_http_client(server: Server, count: int, concurrency: int) -> None:
    """New connection per request, like Apprise's ``requests.post``."""

    def one(n: int) -> None:
        path, body, headers = _evolution_request(n)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 201:
            raise RuntimeError(f"gateway answered {response.status}")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))


async def raw_httpx(server: Server, count: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue = iter(range(count))
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=10) as client:

        async def worker() -> None:
            for n in queue:
                path, body, headers = _evolution_request(n)
                answer = await client.post(path, content=body, headers=headers)
                if answer.status_code != 201:
                    raise RuntimeError(f"gateway answered {answer.status_code}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def raw_smtplib(server: Server, count: int, concurrency: int) -> None:
    """One connection per message, plain text and HTML, like Apprise's e-mail plugin."""

    def one(n: int) -> None:
        message = EmailMessage()
        message["From"] = "rtbook@kelurahan.id"
        message["To"] = f"ketua.{n % RT_HEADS:03d}@rt.example.id"
        message["Subject"] = "Layanan selesai: Kartu Keluarga"
        message.set_content(TEXT)
        message.add_alternative(f"<html><body><p>{TEXT}</p></body></html>", subtype="html")
        with smtplib.SMTP("127.0.0.1", server.port, timeout=15) as smtp:
            smtp.send_message(message)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))


async def run_backend(backend: str, url: DatabaseURL, args: argparse.Namespace) -> list[Row]:
    db = make_database(url)
    await db.open()
    evolution, smtp = Server("evolution"), Server("smtp")
    reg = registry()
    options = NotifyOptions(send_concurrency=args.concurrency)
    whatsapp = {
        "provider": "evolution",
        "base_url": evolution.base_url,
        "api_key": API_KEY,
        "instance": INSTANCE,
    }
    email = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "security": "none",
        "from": "rtbook@kelurahan.id",
    }
    c = args.concurrency
    rows = []
    try:
        log(f"{backend}: {RT_HEADS} RT heads ...")
        rts = await set_up(db)
        rows.append(
            await hub_row(
                db, reg, rts, evolution, backend=backend,
                path=f"hub, whatsapp plugin (evolution), {c} in flight",
                count=args.count, configs={"whatsapp": {**whatsapp, "rate_per_second": 1000}},
                options=options,
            )
        )  # fmt: skip
        if backend == "SQLite" or args.backend == "postgres":
            config = reg.validate_config("whatsapp", {**whatsapp, "rate_per_second": 1000})
            rows.append(
                await _timed(
                    "-", f"whatsapp plugin alone (no hub, no database), {c} at once",
                    args.count, evolution, lambda: plugin_alone(config, args.count, c),
                )
            )  # fmt: skip
        rows.append(
            await _timed(
                backend, f"raw http.client, new connection each, {c} threads",
                args.count, evolution, lambda: raw_http_client(evolution, args.count, c),
            )
        )  # fmt: skip
        rows.append(
            await _timed(
                backend, f"raw httpx.AsyncClient, keep-alive, {c} at once",
                args.count, evolution, lambda: raw_httpx(evolution, args.count, c),
            )
        )  # fmt: skip
        if args.limited_count:
            rows.append(
                await hub_row(
                    db, reg, rts, evolution, backend=backend,
                    path=f"hub, whatsapp plugin, default rate 80/s per account, {c} in flight",
                    count=args.limited_count, configs={"whatsapp": whatsapp}, options=options,
                )
            )  # fmt: skip
        if args.email_count:
            rows.append(
                await hub_row(
                    db, reg, rts, smtp, backend=backend,
                    path=f"hub, email plugin (SMTP), {c} in flight",
                    count=args.email_count, configs={"email": email}, options=options,
                )
            )  # fmt: skip
            rows.append(
                await _timed(
                    backend, f"raw smtplib, connection per message, {c} threads",
                    args.email_count, smtp, lambda: raw_smtplib(smtp, args.email_count, c),
                )
            )  # fmt: skip
    finally:
        evolution.stop()
        smtp.stop()
        await db.close()
    return rows


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        {"evolution": serve_evolution, "smtp": serve_smtp}[sys.argv[2]]()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="WhatsApp deliveries")
    parser.add_argument("--email-count", type=int, default=200, help="e-mail deliveries (0: none)")
    parser.add_argument(
        "--limited-count",
        type=int,
        default=400,
        help="WhatsApp deliveries at the default rate of 80/s (0: none)",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="send_concurrency")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, metavar="URL")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "rtbook-bench"
    )
    args = parser.parse_args()
    if min(args.count, args.concurrency) < 1 or min(args.email_count, args.limited_count) < 0:
        parser.error("--count and --concurrency must be >= 1, the other counts >= 0")

    started = time.monotonic()
    rows: list[Row] = []
    if args.backend in ("sqlite", "both"):
        path = args.workdir / "notify.db"
        url = _city.migrated_sqlite(path)
        try:
            rows += asyncio.run(run_backend("SQLite", url, args))
        finally:
            _city.remove_sqlite(path)
    if args.backend in ("postgres", "both"):
        url = asyncio.run(_city.recreate_postgres(args.postgres_url))
        try:
            rows += asyncio.run(run_backend("PostgreSQL", url, args))
        finally:
            asyncio.run(_city.drop_postgres(args.postgres_url))
    log(f"done in {timedelta(seconds=round(time.monotonic() - started))}")
    print_table(
        f"Notification deliveries to local gateways ({_city.machine_note()})",
        ["backend", "path", "deliveries", "seconds", "deliveries/s", "received = deliveries", ""],
        [row.cells() for row in rows],
    )


if __name__ == "__main__":
    main()
