"""rtbook serve and rtbook demo as real processes answering HTTP (SQLite)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx
from cli_support import clean_env, free_port, running, wait_healthy


def test_serve_answers_health(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(RTBOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}")
    with running(["serve", "--port", str(port)], tmp_path, env) as proc:
        wait_healthy(proc, port)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/rts/64.71.06.1005-003-005/events")
        assert answer.status_code == 401
    assert (tmp_path / "serve.db").exists()


def test_demo_prints_logins_that_work(tmp_path: Path, regions_file: Path) -> None:
    port = free_port()
    env = clean_env(RTBOOK_REGIONS_FILE=str(regions_file))
    with running(["demo", "--port", str(port)], tmp_path, env) as proc:
        wait_healthy(proc, port)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert (tmp_path / "rtbook-demo.db").exists()  # the demo's own database in the cwd
    assert f"http://127.0.0.1:{port}/" in out
    for user in ("admin", "admin-balikpapan", "ketua-rt-005", "siak-balikpapan", "kader-damai"):
        assert re.search(rf"^  {re.escape(user)} ", out, re.MULTILINE), user
    tokens = re.findall(r"token: (rtb_\S+)", out)
    assert len(tokens) == 5

    # A second run reuses the data; its freshly printed token reads the RT head's feed.
    port = free_port()
    with running(["demo", "--port", str(port)], tmp_path, env) as proc:
        assert proc.stdout is not None
        lines = []
        while not (line := proc.stdout.readline()).startswith("Hentikan"):  # printed last
            assert line, "the demo stopped printing before its last line"
            lines.append(line)
        out = "".join(lines)
        wait_healthy(proc, port)
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
