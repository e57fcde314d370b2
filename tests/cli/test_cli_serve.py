"""rtbook serve and rtbook demo as real processes answering HTTP (SQLite)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

RTBOOK = Path(sys.executable).parent / "rtbook"
START_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(args: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [str(RTBOOK), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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


def _wait_healthy(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer /health in time")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTBOOK_")}
    env.update(extra)
    return env


def test_serve_answers_health(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(RTBOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}")
    with running(["serve", "--port", str(port)], tmp_path, env) as proc:
        _wait_healthy(proc, port)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/rts/64.71.06.1005-003-005/events")
        assert answer.status_code == 401
    assert (tmp_path / "serve.db").exists()


def test_demo_prints_logins_that_work(tmp_path: Path, regions_file: Path) -> None:
    port = _free_port()
    env = _env(RTBOOK_REGIONS_FILE=str(regions_file))
    with running(["demo", "--port", str(port)], tmp_path, env) as proc:
        _wait_healthy(proc, port)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert (tmp_path / "rtbook-demo.db").exists()  # the demo's own database in the cwd
    assert f"http://127.0.0.1:{port}/" in out
    for user in ("admin", "admin-balikpapan", "ketua-rt-005", "siak-balikpapan", "kader-damai"):
        assert re.search(rf"^  {re.escape(user)} ", out, re.MULTILINE), user
    tokens = re.findall(r"token: (rtb_\S+)", out)
    assert len(tokens) == 5

    # A second run reuses the data; its freshly printed token reads the RT head's feed.
    port = _free_port()
    with running(["demo", "--port", str(port)], tmp_path, env) as proc:
        assert proc.stdout is not None
        lines = []
        while not (line := proc.stdout.readline()).startswith("Hentikan"):  # printed last
            assert line, "the demo stopped printing before its last line"
            lines.append(line)
        out = "".join(lines)
        _wait_healthy(proc, port)
        ketua = re.search(r"^  ketua-rt-005 .*?token: (rtb_\S+)", out, re.MULTILINE | re.DOTALL)
        assert ketua is not None and ketua.group(1) not in tokens
        events = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/rts/64.71.06.1005-003-005/events",
            headers={"Authorization": f"Bearer {ketua.group(1)}"},
        )
    assert "penduduk contoh diimpor" not in out  # nothing imported again
    assert events.status_code == 200, events.text
    kinds = {item["data"]["service_type"] for item in events.json()["items"]}
    assert {"akta_kelahiran", "akta_kematian", "pindah_dalam", "kk"} <= kinds
