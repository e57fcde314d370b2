"""Helpers of the command-line tests: query the database from a plain (sync) test,
add a city straight through the core functions, run ``rtbook`` as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from rtbook.core.db import make_database, rows_dicts
from rtbook.core.regions import CityRegions, add_city
from rtbook.core.rts import add_rts
from rtbook.core.settings import DatabaseURL


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    @property
    def one_error_line(self) -> bool:
        """Failed with exactly one line on stderr."""
        return self.code != 0 and len(self.err_lines) == 1 and self.err_lines[0].strip() != ""


def query(url: DatabaseURL, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        db = make_database(url)
        await db.open()
        try:
            return rows_dicts(await db.read(lambda conn: conn.fetch(sql, *args)))
        finally:
            await db.close()

    return asyncio.run(go())


def value(url: DatabaseURL, sql: str, *args: Any) -> Any:
    rows = query(url, sql, *args)
    return next(iter(rows[0].values())) if rows else None


def count(url: DatabaseURL, table: str) -> int:
    return int(value(url, f"SELECT count(*) AS n FROM {table}"))


def setup_city(
    url: DatabaseURL, regions: CityRegions, rts: tuple[str, ...] = (), tz: str = "Asia/Makassar"
) -> None:
    """Add a city and RTs through the core functions (not the CLI)."""

    async def go() -> None:
        db = make_database(url)
        await db.open()
        try:
            await db.write(lambda conn: add_city(conn, regions, tz))
            if rts:
                await db.write(lambda conn: add_rts(conn, rts))
        finally:
            await db.close()

    asyncio.run(go())


# -- rtbook as a process -------------------------------------------------------------------

RTBOOK = Path(sys.executable).parent / "rtbook"
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any RTBOOK_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTBOOK_")}
    env.update(extra)
    return env


@contextmanager
def running(
    args: list[str], cwd: Path, env: dict[str, str], *, log: Path | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``rtbook ARGS`` in its own process, stopped with Ctrl-C (SIGINT) at the end.
    Its stdout and stderr are pipes, or both go to the file ``log`` (for a process
    that writes more than a pipe holds while nobody reads it)."""
    with contextlib.ExitStack() as stack:
        out: Any = subprocess.PIPE
        if log is not None:
            out = stack.enter_context(log.open("w"))
        proc = subprocess.Popen(
            [str(RTBOOK), *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
            text=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def wait_healthy(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = proc.stderr.read() if proc.stderr is not None else "(see its log)"
            raise AssertionError(f"exited {proc.returncode}: {said}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer /health in time")
