"""``rtbook demo`` runs the worker beside the server, and stops it with the server."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from dispatch_support import add_events, enable, event_ids, fetch, ids, received, subprocess_env
from dispatch_support import wait_until_sync as wait_until

from rtbook.core.db import make_database
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.settings import DatabaseURL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.sqlite_only
def test_the_demo_dispatches_events_beside_the_server(
    backend: str, registry: PluginRegistry, regions_file: Path, tmp_path: Path
) -> None:
    url = DatabaseURL.parse(f"sqlite:///{tmp_path / 'demo.db'}")
    sink = tmp_path / "sink.jsonl"
    log = tmp_path / "demo.out"
    out = log.open("w")
    port = _free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtbook.cli",
            "demo",
            "--port",
            str(port),
            "--regions",
            str(regions_file),
        ],
        env=subprocess_env(url.raw),
        cwd=tmp_path,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: "worker running beside the server" in log.read_text(), what="the demo")
        wait_until(lambda: _healthy(port), what="the demo's server")  # before Ctrl-C

        async def feed() -> list[int]:
            async with make_database(url) as db:
                await enable(db, registry, "64.71", sink=str(sink))
                return await db.write(lambda conn: add_events(conn, "64.71", 3))

        seqs = asyncio.run(feed())
        wait_until(lambda: len(received(sink)) == 3, what="the demo's worker to deliver")
        assert ids(received(sink)) == event_ids("64.71", seqs)
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=60)
        out.close()
    assert code == 0, log.read_text()[-3000:]

    async def leases() -> list[dict[str, object]]:
        async with make_database(url) as db:
            return await fetch(db, "SELECT * FROM worker_lease")

    assert asyncio.run(leases()) == []  # the worker stopped with the server
