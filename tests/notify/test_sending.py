"""The hub's sending side on both backends: several sends in flight and still each
delivery once, an address that can never work is dead at once, per-target results
(Apprise 2.x, through the real email and whatsapp plugins to loopback servers) kept on
the delivery and shown masked to admins."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from channel_servers import Gateway, SmtpServer, start_gateway, start_smtp
from factories import RT_A, RT_B, add_user, standard_city
from litestar.testing import TestClient
from notify_support import Clock, add_kelurahan, deliveries, enable, post_event

import rtbook_email
import rtbook_whatsapp
from rtbook import hookimpl
from rtbook.core.auth import Role
from rtbook.core.db import Database, make_database
from rtbook.core.notify import deliveries as store
from rtbook.core.notify.hub import NotifyOptions, run_notify
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import enabled_plugins, set_plugin
from rtbook.core.settings import DatabaseURL
from rtbook.web.app import create_app

PHONE = "+6281234567890"
API_KEY = "EvoKey-Rahasia-7781"


@dataclass
class SlowChannel:
    """A whatsapp channel whose every send takes a while; counts what is in flight."""

    delay: float = 0.02
    sent: list[tuple[str, str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    @hookimpl
    def rtbook_notification_channels(self) -> dict[str, Any]:
        return {"whatsapp": self.send}

    async def send(self, address: str, text: str, *, subject: Any, config: Any) -> dict:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.sent.append((address, text))
        return {
            "message_id": f"wamid.{len(self.sent)}",
            "results": [
                {
                    "target": address,  # a careless plugin: the full number
                    "service": "Fake API",
                    "status": "success",
                    "attempts": 1,
                    "elapsed": 0.02,
                    "errors": [f"retry-after for {address} token=s3cret-Token"],
                }
            ],
        }


@dataclass
class BadAddressChannel:
    """Refuses every address as one that can never work."""

    tries: int = 0

    @hookimpl
    def rtbook_notification_channels(self) -> dict[str, Any]:
        return {"whatsapp": self.send}

    def send(self, address: str, text: str, *, subject: Any, config: Any) -> None:
        self.tries += 1
        raise ValueError(f"nomor WhatsApp tidak sah (not a valid WhatsApp number): {address}")


@dataclass
class MailChannel:
    """An e-mail channel that records what it sends."""

    sent: list[str] = field(default_factory=list)

    @hookimpl
    def rtbook_notification_channels(self) -> dict[str, Any]:
        return {"email": self.send}

    def send(self, address: str, text: str, *, subject: Any, config: Any) -> None:
        self.sent.append(address)


def registry_of(**plugins: Any) -> PluginRegistry:
    registry = PluginRegistry()
    for name, plugin in plugins.items():
        registry.register(name, plugin)
    return registry


@pytest.fixture
async def city(db: Database) -> Database:
    """RT 005 with one head (WhatsApp and e-mail); RT 006 with a head (e-mail only)."""

    async def unit(conn):
        await standard_city(conn)
        await add_kelurahan(conn)
        await add_user(
            conn, "ketua005", Role.RT_HEAD, city="64.71", rts=(RT_A,),
            whatsapp=PHONE, email="ketua005@example.org",
        )  # fmt: skip
        await add_user(
            conn, "ketua006", Role.RT_HEAD, city="64.71", rts=(RT_B,), email="k006@example.org"
        )

    await db.write(unit)
    return db


async def _pass(db: Database, registry: PluginRegistry, clock: Clock, **options: Any) -> Any:
    return await run_notify(
        db,
        registry,
        now=clock,
        enabled_plugins=enabled_plugins,
        options=NotifyOptions(**options),
        rng=random.Random(3),
    )


async def test_many_in_flight_and_each_delivery_sent_once(city: Database) -> None:
    plugin = SlowChannel()
    registry = registry_of(slow=plugin)
    await enable(city, registry)
    for i in range(50):
        await post_event(city, RT_A, name=f"WARGA NOMOR {i:02d}")
    clock = Clock()

    stats = await _pass(city, registry, clock, send_concurrency=8, send_batch=200)

    assert (stats.planned, stats.sent, stats.failed, stats.dead) == (50, 50, 0, 0)
    assert plugin.most_in_flight == 8  # eight at once, never more
    texts = Counter(text for _, text in plugin.sent)
    assert len(texts) == 50 and set(texts.values()) == {1}
    rows = await deliveries(city)
    assert len(rows) == 50 and {r["status"] for r in rows} == {"sent"}
    assert {r["attempts"] for r in rows} == {1}
    assert sorted(r["provider_message_id"] for r in rows) == sorted(
        f"wamid.{n}" for n in range(1, 51)
    )
    clock.advance(days=1)
    again = await _pass(city, registry, clock, send_concurrency=8)
    assert again.sent == 0 and len(plugin.sent) == 50


async def test_two_workers_at_once_still_send_each_delivery_once(
    city: Database, db_url: DatabaseURL
) -> None:
    plugin = SlowChannel(delay=0.005)
    registry = registry_of(slow=plugin)
    await enable(city, registry)
    for i in range(40):
        await post_event(city, RT_A, name=f"WARGA NOMOR {i:02d}")
    clock = Clock()
    await _pass(city, registry, clock, send_batch=1, send_concurrency=1)  # plans all 40
    assert len(plugin.sent) == 1

    other = make_database(db_url)  # a second worker: its own connections
    await other.open()
    try:
        first, second = await asyncio.gather(
            _pass(city, registry, clock, send_concurrency=4),
            _pass(other, registry, clock, send_concurrency=4),
        )
    finally:
        await other.close()

    assert first.sent + second.sent == 39
    texts = Counter(text for _, text in plugin.sent)
    assert len(texts) == 40 and set(texts.values()) == {1}
    assert {r["status"] for r in await deliveries(city)} == {"sent"}


async def test_an_address_that_can_never_work_is_dead_at_once(city: Database) -> None:
    plugin = BadAddressChannel()
    registry = registry_of(bad=plugin)
    await enable(city, registry)
    await post_event(city, RT_A)
    clock = Clock()

    stats = await _pass(city, registry, clock, max_attempts=5)

    assert (stats.sent, stats.failed, stats.dead) == (0, 0, 1)
    [row] = await deliveries(city)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("dead", 1, None)
    assert row["last_error"].startswith("alamat penerima tidak dapat dipakai, tidak dicoba lagi")
    assert "(the recipient's address can never work; not retried)" in row["last_error"]
    assert "nomor WhatsApp tidak sah" in row["last_error"]
    assert PHONE not in row["last_error"] and "+62812****7890" in row["last_error"]
    clock.advance(days=1)
    await _pass(city, registry, clock)
    assert plugin.tries == 1


async def test_a_channel_switched_off_waits_without_holding_up_the_others(
    city: Database,
) -> None:
    slow, mail = SlowChannel(delay=0), MailChannel()
    registry = registry_of(slow=slow, mail=mail)
    clock = Clock()

    async def setup(conn):
        user_id = await conn.fetchval("SELECT id FROM rtbook_user WHERE username = 'ketua005'")
        await set_plugin(conn, registry, "64.71", "mail", enabled=True, config={}, user_id=None)
        planned = [
            store.PlannedDelivery(
                "64.71-1", "64.71", 1, user_id, channel, address, None, "Pesan", "id", due
            )
            for channel, address, due in (
                ("whatsapp", PHONE, clock() - timedelta(minutes=1)),  # first in line
                ("email", "ketua005@example.org", clock()),
            )
        ]
        await store.insert_deliveries(conn, planned, clock())

    await city.write(setup)
    first = await _pass(city, registry, clock, send_batch=1)  # whatsapp: its plugin is off
    second = await _pass(city, registry, clock, send_batch=1)
    assert (first.sent, second.sent) == (0, 1) and mail.sent == ["ketua005@example.org"]
    waiting = next(r for r in await deliveries(city) if r["channel"] == "whatsapp")
    assert (waiting["status"], waiting["attempts"]) == ("pending", 0)
    assert waiting["next_attempt_at"] == clock() + timedelta(seconds=300)

    await city.write(
        lambda conn: set_plugin(
            conn, registry, "64.71", "slow", enabled=True, config={}, user_id=None
        )
    )
    clock.advance(minutes=5)
    assert (await _pass(city, registry, clock)).sent == 1
    assert slow.sent == [(PHONE, "Pesan")]


async def test_sender_results_are_stored_masked(city: Database) -> None:
    plugin = SlowChannel(delay=0)
    registry = registry_of(slow=plugin)
    await enable(city, registry)
    await post_event(city, RT_A)
    await _pass(city, registry, Clock())
    [row] = await deliveries(city)
    assert row["status"] == "sent"
    [stored] = json.loads(row["result"])
    assert stored["target"] == "+62812****7890"
    assert (stored["service"], stored["status"], stored["attempts"]) == ("Fake API", "SUCCESS", 1)
    assert stored["errors"] == ["retry-after for +62812****7890 token=***"]
    assert "81234567890" not in row["result"] and "s3cret" not in row["result"]


# -- the real plugins, to real servers on loopback ---------------------------------------


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    server = start_gateway(gw)
    yield gw
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp()
    yield server
    controller.stop()


async def _enable_real(db: Database, gateway: Gateway, smtp: SmtpServer) -> PluginRegistry:
    registry = registry_of(email=rtbook_email, whatsapp=rtbook_whatsapp)
    configs = {
        "whatsapp": {
            "provider": "evolution",
            "base_url": gateway.base_url,
            "api_key": API_KEY,
            "instance": "rt005",
            "timeout_seconds": 5,
        },
        "email": {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "security": "none",
            "from": "rtbook@kelurahan.id",
        },
    }

    async def unit(conn):
        for name, config in configs.items():
            await set_plugin(
                conn, registry, "64.71", name, enabled=True, config=config, user_id=None
            )

    await db.write(unit)
    return registry


async def test_real_plugins_results_kept_and_shown_masked(
    city: Database, db_env: DatabaseURL, gateway: Gateway, smtp: SmtpServer
) -> None:
    registry = await _enable_real(city, gateway, smtp)
    admin_token = (await city.write(lambda conn: add_user(conn, "admin", Role.ADMIN)))[1]
    await post_event(city, RT_A)  # ketua005: whatsapp and email
    clock = Clock()

    stats = await _pass(city, registry, clock)

    assert stats.sent == 2
    assert [r.body["number"] for r in gateway.requests] == [PHONE[1:]]
    assert [m.rcpt_tos for m in smtp.inbox.messages] == [["ketua005@example.org"]]
    by_channel = {r["channel"]: r for r in await deliveries(city)}
    [wa] = json.loads(by_channel["whatsapp"]["result"])
    assert (wa["target"], wa["status"], wa["attempts"]) == ("+62812****7890", "SUCCESS", 1)
    [mail] = json.loads(by_channel["email"]["result"])
    assert (mail["target"], mail["status"]) == ("k***@example.org", "SUCCESS")

    gateway.status = 500  # the next whatsapp send is refused
    await post_event(city, RT_B)  # ketua006: e-mail only
    await post_event(city, RT_A)
    clock.advance(minutes=1)
    stats = await _pass(city, registry, clock)
    assert (stats.sent, stats.failed) == (2, 1)
    failed = next(r for r in await deliveries(city) if r["status"] == "failed")
    [refused] = json.loads(failed["result"])
    assert refused["status"] == "FAILURE" and refused["target"] == "+62812****7890"
    assert any("500" in e for e in refused["errors"])

    with TestClient(create_app(db_env)) as client:
        answer = client.get(
            "/api/v1/deliveries", headers={"Authorization": f"Bearer {admin_token}"}
        )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert len(items) == 5
    shown = sorted(
        (i["channel"], i["status"], r["target"], r["status"]) for i in items for r in i["results"]
    )
    assert shown == [
        ("email", "sent", "k***@example.org", "SUCCESS"),
        ("email", "sent", "k***@example.org", "SUCCESS"),
        ("email", "sent", "k***@example.org", "SUCCESS"),
        ("whatsapp", "failed", "+62812****7890", "FAILURE"),
        ("whatsapp", "sent", "+62812****7890", "SUCCESS"),
    ]
    refused_shown = next(i for i in items if i["status"] == "failed")["results"][0]
    assert set(refused_shown) == {"target", "service", "status", "attempts", "elapsed", "errors"}
    assert any("500" in e for e in refused_shown["errors"])
    for secret in (API_KEY, "81234567890", "ketua005@", "k006@"):
        assert secret not in answer.text


async def test_real_plugins_unusable_addresses_are_dead_without_a_send(
    city: Database, gateway: Gateway, smtp: SmtpServer
) -> None:
    registry = await _enable_real(city, gateway, smtp)
    await post_event(city, RT_A)
    clock = Clock()
    await _pass(city, registry, clock, send_batch=1)  # plans both; sends one
    await city.write(
        lambda conn: conn.execute(
            "UPDATE delivery SET address = CASE channel WHEN 'whatsapp' THEN '12345'"
            " ELSE 'bukan-alamat' END WHERE status = 'pending'"
        )
    )
    stats = await _pass(city, registry, clock)
    assert stats.dead == 1
    dead = next(r for r in await deliveries(city) if r["status"] == "dead")
    assert dead["attempts"] == 1
    assert "tidak dapat dipakai" in dead["last_error"]
    if dead["channel"] == "whatsapp":
        assert "nomor WhatsApp tidak sah" in dead["last_error"]
        assert len(gateway.requests) == 0
    else:
        assert "alamat email tidak sah" in dead["last_error"]
        assert len(smtp.inbox.messages) == 0
