"""Helpers of the end-to-end notification tests (test_end_to_end.py).

A town is set up with the real ``rtbook`` command in child processes (cities, RTs,
RT heads with a WhatsApp number and an e-mail, admins, tokens; once per backend, then
copied for each test) and each test enables the two channel plugins for the city with
`rtbook plugins enable`; services are posted over HTTP; ``rtbook worker`` runs as a child
process; what reached the loopback servers (tests/channel_servers.py) is read back
per (recipient, resident), the way an RT head would count the messages on the phone.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from channel_servers import Gateway, SmtpServer, free_port, start_gateway, stop_gateway
from factories import RT_A, RT_B, nik_for

from rtbook.core.db import Connection, make_database, rows_dicts
from rtbook.core.settings import DatabaseURL

CLI = [sys.executable, "-m", "rtbook.cli"]
CITY = "64.71"
ADMIN = "admin6471"  # the city's city_admin: posts the services, sees the deliveries
OTHER_ADMIN = "admin6472"
OTHER_CITY = "64.72"
SOURCE = "siak-6471"
PLUGINS = "email,whatsapp"
NO_KK = "6471060101209876"
API_KEY = "EvoKey-Rahasia-7781"
CLOUD_TOKEN = "EAAGrahasiaTOKEN123"
PHONE_NUMBER_ID = "109876543210987"
GRAPH_URL_ENV = "RTBOOK_WHATSAPP_GRAPH_URL"
SECRET_KEY = "test-secret-key-" + "x" * 32
COMMAND_TIMEOUT = 60

LONG_DIGITS = re.compile(r"[0-9]{16,}")


@dataclass(frozen=True)
class Head:
    """An RT head as `rtbook user add` gets it (the number as people type it) and the
    E.164 number the messages must go to."""

    username: str
    rt: str
    typed_number: str
    number: str
    email: str


HEAD_A1 = Head("ketua005a", RT_A, "081234567801", "+6281234567801", "ketua005a@example.id")
HEAD_A2 = Head("ketua005b", RT_A, "6281234567802", "+6281234567802", "ketua005b@example.id")
HEAD_B = Head("ketua006", RT_B, "+62 812-3456-7803", "+6281234567803", "ketua006@example.id")
HEADS = (HEAD_A1, HEAD_A2, HEAD_B)
HEADS_A = (HEAD_A1, HEAD_A2)


# -- the rtbook command ----------------------------------------------------------------


def child_env(url: DatabaseURL, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an ``rtbook`` child process: this database, the two built-in
    channel plugins only (whatever else a test run has put on the path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTBOOK_")}
    env.pop("PYTHONPATH", None)
    env.update(
        RTBOOK_DATABASE_URL=url.raw,
        RTBOOK_SECRET_KEY=SECRET_KEY,
        RTBOOK_PLUGINS=PLUGINS,
    )
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def one_error_line(self) -> bool:
        """Failed with exactly one line on stderr."""
        lines = self.err.splitlines()
        return self.code != 0 and len(lines) == 1 and lines[0].strip() != ""


@dataclass
class Town:
    """Balikpapan (64.71) set up through the command line: RT 005 with two heads, RT
    006 with one, a city_admin; Samarinda (64.72) with its city_admin. The admins and
    one RT head have API tokens."""

    url: DatabaseURL
    cwd: Path
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str) -> Result:
        done = subprocess.run(
            [*CLI, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.code == 0, f"rtbook {' '.join(args)}: exit {result.code}: {result.err}"
        return result.out

    def ok_all(self, *commands: tuple[str, ...]) -> None:
        """Independent commands, run at the same time (they only add rows)."""
        procs = [
            subprocess.Popen(
                [*CLI, *args],
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for args in commands
        ]
        for args, proc in zip(commands, procs, strict=True):
            out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
            assert proc.returncode == 0, f"rtbook {' '.join(args)}: exit {proc.returncode}: {err}"
            if args[:2] == ("token", "create"):
                self.tokens[args[2]] = out.strip()

    def worker_once(self, *options: str) -> Result:
        """``rtbook worker --once [OPTIONS]``: exit 0, and its output and logs carry no
        secret of the plugins' config, no full address and no full NIK."""
        result = self.run("worker", "--once", *options)
        assert result.code == 0, f"rtbook worker --once: exit {result.code}: {result.err}"
        assert_clean(result.out, result.err)
        return result

    def start_worker(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """``rtbook worker`` in the background, its output and logs to ``log``."""
        with log.open("wb") as out:
            return subprocess.Popen(
                [*CLI, "worker", *args],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def build_town(url: DatabaseURL, regions: Path, cwd: Path) -> Town:
    """The town made with the command line, no plugin enabled yet; and a second city
    (64.72) with its own admin."""
    town = Town(url, cwd, child_env(url))
    town.ok("city", "add", CITY, "--regions", str(regions))
    town.ok("city", "add", OTHER_CITY, "--regions", str(regions))
    town.ok("rt", "add", RT_A, RT_B)
    town.ok_all(
        *[
            ("user", "add", head.username, "--role", "rt_head", "--rt", head.rt,
             "--whatsapp", head.typed_number, "--email", head.email)
            for head in HEADS
        ],
        ("user", "add", ADMIN, "--role", "city_admin", "--city", CITY),
        ("user", "add", OTHER_ADMIN, "--role", "city_admin", "--city", OTHER_CITY),
    )  # fmt: skip
    town.ok_all(
        ("token", "create", ADMIN),
        ("token", "create", OTHER_ADMIN),
        ("token", "create", HEAD_A1.username),
    )
    return town


def enable_channels(
    town: Town, email: Mapping[str, Any] | None, whatsapp: Mapping[str, Any] | None
) -> None:
    """`rtbook plugins enable` for the channel plugins given a config (both at once)."""
    town.ok_all(
        *[
            ("plugins", "enable", name, "--city", CITY, "--config", json.dumps(config))
            for name, config in (("email", email), ("whatsapp", whatsapp))
            if config is not None
        ]
    )


# -- a town made once per backend, restored for each test --------------------------------
#
# Making the town takes eight `rtbook` processes; the first test on each backend makes
# it, every later one starts from a copy of what those commands wrote (the test's own
# database is fresh and empty before the copy, as the `db_url` fixture leaves it).


@dataclass
class Snapshot:
    tokens: dict[str, str]
    sqlite_file: Path | None = None
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy (WAL included), through SQLite's backup API."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


async def _pg_snapshot(url: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    conn = await asyncpg.connect(url)
    try:
        tables = {}
        for (table,) in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'migration'"
        ):
            rows = await conn.fetch(f'SELECT * FROM "{table}"')
            if rows:
                tables[table] = (list(rows[0].keys()), [tuple(r) for r in rows])
        return tables
    finally:
        await conn.close()


async def _pg_restore(url: str, tables: Mapping[str, tuple[list[str], list[tuple]]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            # rows go in table by table: foreign keys are checked by the snapshot's source
            await conn.execute("SET LOCAL session_replication_role = replica")
            for table, (columns, rows) in tables.items():
                await conn.copy_records_to_table(table, records=rows, columns=columns)
            for table, column, sequence in await conn.fetch(
                "SELECT c.relname, a.attname,"
                " pg_get_serial_sequence(format('public.%I', c.relname), a.attname)"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " JOIN pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = 'public'"
                " AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
            ):
                if sequence is None:
                    continue
                await conn.execute(
                    f'SELECT setval($1, coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1,'
                    " false)",
                    sequence,
                )
    finally:
        await conn.close()


def town_from_snapshot(
    snapshots: dict[str, Snapshot], url: DatabaseURL, regions: Path, cwd: Path, store: Path
) -> Town:
    """The town in the (empty) database ``url``: made with the command line the first
    time on this backend, then restored from what that run wrote."""
    snap = snapshots.get(url.dialect)
    if snap is None:
        town = build_town(url, regions, cwd)
        snap = Snapshot(dict(town.tokens))
        if url.sqlite_path is not None:
            snap.sqlite_file = store / "town.db"
            _sqlite_copy(url.sqlite_path, snap.sqlite_file)
        else:
            snap.tables = asyncio.run(_pg_snapshot(url.raw))
        snapshots[url.dialect] = snap
        return town
    if snap.sqlite_file is not None and url.sqlite_path is not None:
        _sqlite_copy(snap.sqlite_file, url.sqlite_path)
    else:
        asyncio.run(_pg_restore(url.raw, snap.tables))
    return Town(url, cwd, child_env(url), dict(snap.tokens))


def email_config(smtp: SmtpServer) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "security": "none",
        "from": "rtbook@kelurahan-damai.id",
    }


def evolution_config(gateway: Gateway, **extra: Any) -> dict[str, Any]:
    config = {
        "provider": "evolution",
        "base_url": gateway.base_url,
        "api_key": API_KEY,
        "instance": "rt005",
    }
    config.update(extra)
    return config


def cloud_config(**extra: Any) -> dict[str, Any]:
    config = {
        "provider": "cloud",
        "token": CLOUD_TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "template": "layanan_selesai",
        "language": "id",
    }
    config.update(extra)
    return config


# -- services over HTTP ----------------------------------------------------------------


def child_nik(serial: int) -> str:
    return nik_for(date(2026, 11, 1), "P", serial)


def birth(serial: int, name: str, rt: str = RT_A) -> dict[str, Any]:
    """A completed ``akta_kelahiran``: a child added to ``rt``."""
    return {
        "source": SOURCE,
        "id": f"akta-{serial}",
        "type": "akta_kelahiran",
        "completed_at": "2026-11-20T10:00:00+08:00",
        "nik": child_nik(serial),
        "rt": rt,
        "document_number": f"6471-LU-20112026-{serial:04d}",
        "data": {
            "child": {
                "name": name,
                "sex": "P",
                "birth_date": "2026-11-01",
                "birth_place": "BALIKPAPAN",
                "no_kk": NO_KK,
                "shdk": "anak",
                "religion": "islam",
                "citizenship": "WNI",
            }
        },
    }


def resident_name(serial: int) -> str:
    """A distinct name per service (two letters, so no name contains another)."""
    first, second = divmod(serial, 26)
    return f"PUTRI {chr(65 + first)}{chr(65 + second)} LESTARI"


def post_services(client: Any, town: Town, items: list[dict[str, Any]]) -> list[str]:
    """POST /api/v1/services as the city's admin; the statuses, in order."""
    answer = client.post("/api/v1/services", json={"services": items}, headers=town.auth(ADMIN))
    assert answer.status_code == 200, answer.text
    return [r["status"] for r in answer.json()["results"]]


def _wait_healthy(proc: subprocess.Popen[str], base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rtbook serve exited {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("rtbook serve did not answer /health in time")


@contextmanager
def serving(town: Town) -> Iterator[httpx.Client]:
    """``rtbook serve`` as a child process; an HTTP client for it."""
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=town.env,
        cwd=town.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, base_url)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield client
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- what reached the servers ----------------------------------------------------------


class GatewayServer:
    """A gateway on loopback that can be stopped (connections refused) and started
    again on the same port."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.server: Any = start_gateway(gateway)

    def stop(self) -> None:
        if self.server is not None:
            stop_gateway(self.server)
            self.server = None

    def start(self) -> None:
        if self.server is None:
            self.server = start_gateway(self.gateway)


@dataclass(frozen=True)
class Message:
    channel: str
    to: str  # E.164 number or e-mail address
    text: str
    subject: str = ""


def whatsapp_messages(gateway: Gateway) -> list[Message]:
    """The WhatsApp messages the gateway accepted (Evolution API or Graph API)."""
    messages = []
    for request in list(gateway.accepted):
        body = request.body
        if "/message/sendText/" in request.path:
            messages.append(Message("whatsapp", "+" + body["number"], body["text"]))
        else:
            [component] = body["template"]["components"]
            text = component["parameters"][0]["text"]
            messages.append(Message("whatsapp", body["to"], text))
    return messages


def email_messages(smtp: SmtpServer) -> list[Message]:
    return [
        Message("email", rcpt, received.text(), str(received.message["Subject"]))
        for received in list(smtp.inbox.messages)
        for rcpt in received.rcpt_tos
    ]


def about(message: Message, names: Iterable[str]) -> str | None:
    """The one resident ``message`` names (None: none of them, or several)."""
    found = [n for n in names if re.search(rf"\b{re.escape(n)}\b", message.text)]
    return found[0] if len(found) == 1 else None


def tally(messages: Iterable[Message], names: Iterable[str]) -> Counter[tuple[str, str, str]]:
    """Messages per (channel, recipient, resident named)."""
    names = list(names)
    return Counter((m.channel, m.to, about(m, names) or "?") for m in messages)


def expected_once(heads: Iterable[Head], names: Iterable[str]) -> Counter[tuple[str, str, str]]:
    """One WhatsApp message and one e-mail per head and resident."""
    names = list(names)
    return Counter(
        {
            key: 1
            for head in heads
            for name in names
            for key in (("whatsapp", head.number, name), ("email", head.email, name))
        }
    )


def assert_no_full_nik(*texts: str | None) -> None:
    for text in texts:
        assert not LONG_DIGITS.search(text or ""), f"a 16-digit number in: {text!r}"


def assert_clean(*texts: str | None) -> None:
    """No secret of the plugins' config (the gateway's API key, the Cloud API token),
    no RT head's full address (e-mail, number with or without +) and no full NIK in
    ``texts``."""
    addresses = [a for h in HEADS for a in (h.email, h.number, h.number.lstrip("+"))]
    for text in texts:
        assert API_KEY not in (text or "") and CLOUD_TOKEN not in (text or ""), text
        leaked = [a for a in addresses if a in (text or "")]
        assert not leaked, f"full addresses {leaked} in: {text!r}"
    assert_no_full_nik(*texts)


# -- the database, read the way an admin would not need to -------------------------------


def _unit(url: DatabaseURL, unit: Any, write: bool) -> Any:
    async def go() -> Any:
        db = make_database(url)
        await db.open()
        try:
            return await (db.write(unit) if write else db.read(unit))
        finally:
            await db.close()

    return asyncio.run(go())


def deliveries(url: DatabaseURL) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return rows_dicts(
            await conn.fetch(
                "SELECT d.id, d.event_id, d.channel, d.address, d.status, d.attempts,"
                " d.last_error, d.next_attempt_at, u.username FROM delivery d"
                " JOIN rtbook_user u ON u.id = d.user_id ORDER BY d.id"
            )
        )

    return _unit(url, unit, write=False)


def delivery_keys(url: DatabaseURL) -> dict[int, tuple[str, str, str]]:
    """delivery id -> (channel, address, resident named by its event), as ``tally``
    counts messages."""

    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return rows_dicts(await conn.fetch("SELECT city_code, seq, data FROM event"))

    names = {}
    for event in _unit(url, unit, write=False):
        data = event["data"] if isinstance(event["data"], dict) else json.loads(event["data"])
        names[f"{event['city_code']}-{event['seq']}"] = data["resident"]["name"]
    return {
        row["id"]: (row["channel"], row["address"], names[row["event_id"]])
        for row in deliveries(url)
    }


def execute(url: DatabaseURL, sql: str, *args: Any) -> None:
    _unit(url, lambda conn: conn.execute(sql, *args), write=True)


def wait_for(condition: Any, *, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``condition`` until true; fail after ``timeout`` (a guard, not a timing
    assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
