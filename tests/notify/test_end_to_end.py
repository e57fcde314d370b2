"""Issue 4 end to end with real parts, on SQLite and PostgreSQL: the email and whatsapp
plugins enabled for a city with `rtbook plugins enable`, services posted over HTTP,
`rtbook worker` as a child process, an aiosmtpd server and a local Evolution API /
Graph API server on loopback receiving what the RT heads would read.

"Done when": posting a completed service makes each head of that RT receive one
WhatsApp message and one email within one worker run, with the resident's name and no
full NIK; faults lose nothing and duplicate nothing; an admin sees every delivery's
status and can resend a dead one.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from channel_servers import Gateway, SmtpServer, start_smtp
from e2e_support import (
    ADMIN,
    API_KEY,
    CITY,
    CLOUD_TOKEN,
    GRAPH_URL_ENV,
    HEAD_A1,
    HEAD_B,
    HEADS,
    HEADS_A,
    OTHER_ADMIN,
    PLUGINS,
    GatewayServer,
    Snapshot,
    Town,
    assert_clean,
    assert_no_full_nik,
    birth,
    child_nik,
    cloud_config,
    deliveries,
    delivery_keys,
    email_config,
    email_messages,
    enable_channels,
    evolution_config,
    expected_once,
    post_services,
    resident_name,
    serving,
    tally,
    town_from_snapshot,
    wait_for,
    whatsapp_messages,
)
from litestar.testing import TestClient

from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp()
    yield server
    controller.stop()


@pytest.fixture
def gateway_server() -> Iterator[GatewayServer]:
    """An Evolution API gateway on loopback (a test may stop and start it again)."""
    server = GatewayServer(Gateway())
    yield server
    server.stop()


@pytest.fixture
def gateway(gateway_server: GatewayServer) -> Gateway:
    return gateway_server.gateway


@pytest.fixture(scope="session")
def town_snapshots() -> dict[str, Snapshot]:
    """The town as the command line made it, once per backend (e2e_support)."""
    return {}


@pytest.fixture
def bare_town(
    db_env: DatabaseURL,
    regions_file: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    town_snapshots: dict[str, Snapshot],
) -> Town:
    """The town, no plugin enabled yet."""
    store = tmp_path_factory.getbasetemp()
    return town_from_snapshot(town_snapshots, db_env, regions_file, tmp_path, store)


@pytest.fixture
def town(bare_town: Town, smtp: SmtpServer, gateway: Gateway) -> Town:
    """The town with email and whatsapp (evolution) enabled."""
    enable_channels(bare_town, email_config(smtp), evolution_config(gateway))
    return bare_town


@pytest.fixture
def api(town: Town) -> Iterator[TestClient[Any]]:
    """The web app in this process, on the town's database."""
    registry = PluginRegistry.load({"RTBOOK_PLUGINS": PLUGINS})
    with TestClient(create_app(town.url, registry=registry)) as client:
        yield client


QUICK_RETRY = ("--notify-retry-base", "0.01")  # a failed send is due again within 10 ms
LEASE_SECONDS = 3  # the killed worker's hold on the sends it had in flight

# -- 1. one message per head and channel -------------------------------------------------


@pytest.mark.parametrize("provider", ["evolution", "cloud"])
def test_each_head_of_the_rt_gets_one_whatsapp_and_one_email_in_one_worker_run(
    provider: str, bare_town: Town, smtp: SmtpServer, gateway: Gateway
) -> None:
    town = bare_town
    if provider == "cloud":  # Meta's Graph API, reached on loopback
        gateway.status = 200
        town.env[GRAPH_URL_ENV] = gateway.base_url
        enable_channels(town, email_config(smtp), cloud_config())
    else:
        enable_channels(town, email_config(smtp), evolution_config(gateway))
    name = resident_name(1)

    with serving(town) as client:  # the real `rtbook serve`
        assert post_services(client, town, [birth(1, name)]) == ["applied"]
    town.worker_once()

    whatsapp, emails = whatsapp_messages(gateway), email_messages(smtp)
    assert tally(whatsapp + emails, [name]) == expected_once(HEADS_A, [name])
    assert HEAD_B.number not in {m.to for m in whatsapp}  # RT 006's head: nothing
    assert HEAD_B.email not in {m.to for m in emails}
    for message in whatsapp + emails:
        # the resident's name, the service in words, the date; at most 4 NIK digits
        assert name in message.text and "Akta Kelahiran" in message.text
        assert "20 November 2026" in message.text
        assert child_nik(1) not in message.text and child_nik(1)[-4:] in message.text
        assert_no_full_nik(message.text, message.subject)
    for message in emails:
        assert message.subject == f"Akta Kelahiran untuk {name}"
    if provider == "cloud":
        [request, _] = gateway.accepted
        assert request.path == f"/v21.0/{cloud_config()['phone_number_id']}/messages"
        assert request.headers["authorization"] == f"Bearer {CLOUD_TOKEN}"
        assert request.body["template"]["name"] == "layanan_selesai"
    else:
        assert {r.headers["apikey"] for r in gateway.accepted} == {API_KEY}
    rows = deliveries(town.url)
    assert sorted((r["username"], r["channel"], r["status"], r["attempts"]) for r in rows) == [
        (head.username, channel, "sent", 1) for head in HEADS_A for channel in ("email", "whatsapp")
    ]

    town.worker_once()  # nothing is sent again
    assert len(gateway.requests) == 2 and len(smtp.inbox.messages) == 2


# -- 2. the same service posted twice --------------------------------------------------


def test_the_same_service_posted_twice_is_one_message_per_head_and_channel(
    town: Town, api: TestClient[Any], smtp: SmtpServer, gateway: Gateway
) -> None:
    name = resident_name(2)
    item = birth(2, name)
    assert post_services(api, town, [item, item]) == ["applied", "duplicate"]
    town.worker_once()
    assert post_services(api, town, [item]) == ["duplicate"]  # after the worker ran
    town.worker_once()

    messages = whatsapp_messages(gateway) + email_messages(smtp)
    assert tally(messages, [name]) == expected_once(HEADS_A, [name])
    assert len(gateway.requests) == 2
    assert len(deliveries(town.url)) == 4


# -- 3. faults at the gateway ----------------------------------------------------------


def _failed_whatsapp_views(api: TestClient[Any], town: Town) -> list[dict[str, Any]]:
    answer = api.get("/api/v1/deliveries", params={"status": "failed"}, headers=town.auth(ADMIN))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert {i["channel"] for i in items} == {"whatsapp"}
    assert sorted(i["recipient"] for i in items) == ["+62812****7801", "+62812****7802"]
    for item in items:
        assert item["attempts"] == 1 and item["last_error"]
        assert_clean(item["last_error"])
        assert not any(h.number[1:] in item["last_error"] for h in HEADS)  # numbers masked
    return items


def _delivered_once_each(town: Town, smtp: SmtpServer, gateway: Gateway, names: list[str]) -> None:
    messages = whatsapp_messages(gateway) + email_messages(smtp)
    assert tally(messages, names) == expected_once(HEADS_A, names)
    assert {r["status"] for r in deliveries(town.url)} == {"sent"}


def test_gateway_answering_500_is_retried_when_due_and_delivered_once(
    town: Town, api: TestClient[Any], smtp: SmtpServer, gateway: Gateway
) -> None:
    name = resident_name(3)
    gateway.faults = ["500", "500"]  # the first try for each head
    post_services(api, town, [birth(3, name)])

    town.worker_once(*QUICK_RETRY)
    items = _failed_whatsapp_views(api, town)
    assert all("500" in i["last_error"] and i["next_attempt_at"] for i in items)
    assert whatsapp_messages(gateway) == [] and len(email_messages(smtp)) == 2

    town.worker_once(*QUICK_RETRY)  # the backoff (at most 10 ms here) has run out

    _delivered_once_each(town, smtp, gateway, [name])
    assert len(gateway.requests) == 4
    rows = [r for r in deliveries(town.url) if r["channel"] == "whatsapp"]
    assert [(r["attempts"], r["last_error"]) for r in rows] == [(2, None), (2, None)]


def test_gateway_timing_out_is_resent_with_the_cli_and_delivered_once(
    town: Town, api: TestClient[Any], smtp: SmtpServer, gateway: Gateway
) -> None:
    name = resident_name(4)
    enable_channels(town, None, evolution_config(gateway, timeout_seconds=2))
    gateway.hang_seconds = 5.0  # past the plugin's timeout
    gateway.faults = ["hang", "hang"]
    post_services(api, town, [birth(4, name)])

    town.worker_once()
    items = _failed_whatsapp_views(api, town)
    listed = town.ok("deliveries", "list", "--status", "failed")
    assert_clean(listed)
    assert "+62812****7801" in listed and HEAD_A1.number not in listed

    for item in items:
        out = town.ok("deliveries", "retry", str(item["id"]))
        assert f"pengiriman {item['id']} dijadwalkan ulang" in out
    town.worker_once()

    _delivered_once_each(town, smtp, gateway, [name])
    assert len(gateway.requests) == 4  # two timed out (never accepted), two accepted


def test_gateway_refusing_connections_is_resent_from_the_api_and_delivered_once(
    town: Town,
    api: TestClient[Any],
    smtp: SmtpServer,
    gateway: Gateway,
    gateway_server: GatewayServer,
) -> None:
    first, second = resident_name(5), resident_name(6)
    post_services(api, town, [birth(5, first)])
    town.worker_once()
    assert len(whatsapp_messages(gateway)) == 2

    gateway_server.stop()  # connections refused
    post_services(api, town, [birth(6, second)])
    town.worker_once()
    items = _failed_whatsapp_views(api, town)

    gateway_server.start()  # back, on the same port
    for item in items:
        answer = api.post(f"/api/v1/deliveries/{item['id']}/retry", headers=town.auth(ADMIN))
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "failed" and answer.json()["attempts"] == 0
    town.worker_once()

    _delivered_once_each(town, smtp, gateway, [first, second])


# -- 4. the worker killed mid-batch ----------------------------------------------------


def test_a_worker_killed_mid_batch_loses_nothing_and_resends_only_sends_in_flight(
    town: Town, api: TestClient[Any], smtp: SmtpServer, gateway: Gateway, tmp_path: Path
) -> None:
    names = [resident_name(10 + i) for i in range(15)]
    post_services(api, town, [birth(10 + i, n) for i, n in enumerate(names)])
    gateway.delay = 0.2  # a slow gateway: the kill lands while sends wait for it
    log = tmp_path / "killed-worker.log"
    worker = town.start_worker("--once", "--notify-lease", str(LEASE_SECONDS), log=log)

    killed = threading.Event()

    def kill_mid_batch(request: Any) -> None:  # in the gateway's thread, as it arrives
        if len(gateway.requests) >= 12 and not killed.is_set():
            killed.set()
            os.kill(worker.pid, signal.SIGKILL)

    gateway.on_request = kill_mid_batch
    try:
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == -signal.SIGKILL
    assert_clean(log.read_text())
    gateway.on_request = None
    # The requests in flight still reach the provider, which takes them (answering
    # nobody): wait until every request that arrived has its answer.
    wait_for(lambda: len(gateway.accepted) == len(gateway.requests), what="answers in flight")

    keys = delivery_keys(town.url)
    assert len(keys) == 15 * 2 * 2
    at_kill = {r["id"]: r for r in deliveries(town.url)}
    arrived = tally(whatsapp_messages(gateway) + email_messages(smtp), names)
    sent = {i for i, r in at_kill.items() if r["status"] == "sent"}
    in_flight = {i for i, r in at_kill.items() if r["status"] == "sending"}
    assert sent and in_flight and len(sent) + len(in_flight) < len(keys)  # mid-batch
    assert all(arrived[keys[i]] == 1 for i in sent)
    assert all(arrived[keys[i]] <= 1 for i in in_flight)
    assert sum(arrived.values()) == sum(arrived[keys[i]] for i in sent | in_flight)

    leases_end = max(at_kill[i]["next_attempt_at"] for i in in_flight)
    wait_for(lambda: datetime.now(UTC) > leases_end, timeout=LEASE_SECONDS + 10,
             what="the dead worker's leases to run out")  # fmt: skip
    town.worker_once()

    rows = {r["id"]: r for r in deliveries(town.url)}
    assert {r["status"] for r in rows.values()} == {"sent"}  # nothing lost
    assert all(rows[i]["attempts"] == 1 for i in sent)
    assert all(rows[i]["attempts"] == 2 for i in in_flight)
    # A message the worker recorded as accepted is never sent again; a send in flight
    # at the kill is sent once more (deliveries.py: the only way a message can arrive
    # twice); every other delivery arrives once.
    expected = Counter({key: 1 for key in keys.values()})
    for i in in_flight:
        expected[keys[i]] += arrived[keys[i]]
    assert tally(whatsapp_messages(gateway) + email_messages(smtp), names) == expected
    duplicates = [k for k, n in expected.items() if n > 1]
    assert 0 < len(duplicates) <= len(in_flight)  # the gateway took the ones in flight


# -- 5. the admin's view and a dead delivery resent ------------------------------------


def test_admin_sees_every_delivery_and_resends_a_dead_one(
    town: Town, api: TestClient[Any], smtp: SmtpServer, gateway: Gateway
) -> None:
    name = resident_name(20)
    gateway.status = 500  # the gateway fails every try
    post_services(api, town, [birth(20, name)])
    for _ in range(5):  # the hub's 5 attempts, each once its backoff (<= 10 ms) is over
        town.worker_once(*QUICK_RETRY)

    answer = api.get("/api/v1/deliveries", headers=town.auth(ADMIN))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    view = sorted((i["channel"], i["recipient"], i["status"], i["attempts"]) for i in items)
    assert view == [
        ("email", "k***@example.id", "sent", 1),
        ("email", "k***@example.id", "sent", 1),
        ("whatsapp", "+62812****7801", "dead", 5),
        ("whatsapp", "+62812****7802", "dead", 5),
    ]
    dead = [i for i in items if i["status"] == "dead"]
    for item in dead:
        assert "500" in item["last_error"] and item["next_attempt_at"] is None
        assert_clean(item["last_error"])
    assert {i["city"] for i in items} == {CITY}
    assert "ketua005a@example.id" not in answer.text and HEAD_A1.number not in answer.text
    only_dead = api.get("/api/v1/deliveries", params={"status": "dead"}, headers=town.auth(ADMIN))
    assert sorted(i["id"] for i in only_dead.json()["items"]) == sorted(i["id"] for i in dead)
    listed = town.ok("deliveries", "list", "--status", "dead")
    assert listed.count(" dead ") == 2
    assert_clean(listed)
    town.worker_once()  # dead: never tried again on its own
    assert len(gateway.requests) == 10

    gateway.status = 201  # the gateway works again: one resent from the API, one from the CLI
    by_api, by_cli = dead
    answer = api.post(f"/api/v1/deliveries/{by_api['id']}/retry", headers=town.auth(ADMIN))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["attempts"]) == ("failed", 0)
    town.ok("deliveries", "retry", str(by_cli["id"]))
    town.worker_once()

    messages = whatsapp_messages(gateway) + email_messages(smtp)
    assert tally(messages, [name]) == expected_once(HEADS_A, [name])
    again = api.get("/api/v1/deliveries", headers=town.auth(ADMIN)).json()["items"]
    assert Counter(i["status"] for i in again) == {"sent": 4}
    sent_one = api.post(f"/api/v1/deliveries/{by_api['id']}/retry", headers=town.auth(ADMIN))
    assert sent_one.status_code == 409  # accepted by the provider: never sent again
    refused = town.run("deliveries", "retry", str(by_cli["id"]))
    assert refused.one_error_line and refused.code == 2

    # An RT head may not list deliveries; another city's admin sees none of these.
    head_list = api.get("/api/v1/deliveries", headers=town.auth(HEAD_A1.username))
    assert head_list.status_code == 403
    head_retry = api.post(
        f"/api/v1/deliveries/{by_api['id']}/retry", headers=town.auth(HEAD_A1.username)
    )
    assert head_retry.status_code == 403
    other = api.get("/api/v1/deliveries", headers=town.auth(OTHER_ADMIN))
    assert other.status_code == 200 and other.json()["items"] == []
    scoped = api.get("/api/v1/deliveries", params={"city": CITY}, headers=town.auth(OTHER_ADMIN))
    assert scoped.status_code == 403
    foreign = api.post(f"/api/v1/deliveries/{by_api['id']}/retry", headers=town.auth(OTHER_ADMIN))
    assert foreign.status_code == 403
