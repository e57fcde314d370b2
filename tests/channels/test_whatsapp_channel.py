"""The whatsapp channel against a local HTTP server that answers like an Evolution
API gateway, and like Meta's Graph API (pointed there by RTBOOK_WHATSAPP_GRAPH_URL)."""

from __future__ import annotations

import logging

import pytest
from channel_servers import free_port

import rtbook_whatsapp
from rtbook.core.plugins import StartupSettings
from rtbook.core.plugins.registry import PluginRegistry
from rtbook_whatsapp import ChannelSendError, send_whatsapp
from rtbook_whatsapp.rate import RateLimiter
from rtbook_whatsapp.sender import GRAPH_URL_ENV, cloud_url, evolution_url

TEXT = (
    "Yth. Ketua RT 005,\nlayanan Akta Kelahiran untuk Budi Santoso (NIK ****1234) "
    "telah selesai pada 20 November 2026."
)
API_KEY = "EvoKey-Rahasia-7781"
TOKEN = "EAAGrahasiaTOKEN123"


def registry() -> PluginRegistry:
    reg = PluginRegistry()
    reg.register("whatsapp", rtbook_whatsapp)
    return reg


def evolution(base_url: str, **extra: object) -> dict:
    raw = {"provider": "evolution", "base_url": base_url, "api_key": API_KEY, "instance": "rt005"}
    raw.update(extra)
    return registry().validate_config("whatsapp", raw)


def cloud(**extra: object) -> dict:
    raw = {
        "provider": "cloud",
        "token": TOKEN,
        "phone_number_id": "109876543210987",
        "template": "layanan_selesai",
        "language": "id",
    }
    raw.update(extra)
    return registry().validate_config("whatsapp", raw)


async def channel_sender():
    answers = dict(await registry().acollect("rtbook_notification_channels"))
    return answers["whatsapp"]["whatsapp"]


@pytest.mark.parametrize("address", ["081234567890", "6281234567890", "+62 812-3456-7890"])
async def test_evolution_gets_the_number_as_e164_digits_and_the_text(gateway, address) -> None:
    sender = await channel_sender()
    result = await sender(address, TEXT, subject="ignored", config=evolution(gateway.base_url))
    assert result["message_id"] is None  # Apprise gives no provider message id
    [target] = result["results"]  # Apprise 2.x's per-target result, number masked
    assert (target["target"], target["status"]) == ("+62812****7890", "SUCCESS")
    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request.path == "/message/sendText/rt005"
    assert request.headers["apikey"] == API_KEY
    assert request.body["number"] == "6281234567890"
    assert request.body["text"] == TEXT


async def test_gateway_error_500_raises_without_the_api_key(gateway, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    gateway.status = 500
    with pytest.raises(ChannelSendError) as raised:
        await send_whatsapp("081234567890", TEXT, subject=None, config=evolution(gateway.base_url))
    message = str(raised.value)
    assert "whatsapp (evolution) gagal dikirim ke +62812****7890" in message
    assert "500" in message
    assert API_KEY not in message and "81234567890" not in message
    assert raised.value.results[0].status == "FAILURE"
    assert API_KEY not in caplog.text
    assert len(gateway.requests) == 1  # one send = one request; retrying is the hub's job


async def test_refused_connection_raises() -> None:
    config = evolution(f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    with pytest.raises(ChannelSendError, match="gagal dikirim"):
        await send_whatsapp("081234567890", TEXT, subject=None, config=config)


async def test_slow_gateway_times_out_and_raises(gateway) -> None:
    gateway.delay = 2.0
    config = evolution(gateway.base_url, timeout_seconds=0.3)
    with pytest.raises(ChannelSendError, match="gagal dikirim"):
        await send_whatsapp("081234567890", TEXT, subject=None, config=config)


async def test_invalid_number_is_refused_before_sending(gateway) -> None:
    with pytest.raises(ValueError, match="nomor WhatsApp tidak sah"):
        await send_whatsapp("12345", TEXT, subject=None, config=evolution(gateway.base_url))
    assert gateway.requests == []


async def test_cloud_template_message_to_a_local_graph_api(gateway, monkeypatch) -> None:
    monkeypatch.setenv(GRAPH_URL_ENV, gateway.base_url)
    gateway.status = 200
    sender = await channel_sender()
    await sender("0812-3456-7890", TEXT, subject=None, config=cloud())
    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request.path.endswith("/109876543210987/messages")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    body = request.body
    assert body["messaging_product"] == "whatsapp" and body["to"] == "+6281234567890"
    assert body["type"] == "template"
    assert body["template"]["name"] == "layanan_selesai"
    assert body["template"]["language"] == {"code": "id"}
    [component] = body["template"]["components"]
    # Meta refuses new lines in template parameters: the text arrives on one line
    assert component["parameters"] == [{"type": "text", "text": " ".join(TEXT.split())}]


async def test_cloud_error_raises_without_the_token(gateway, monkeypatch) -> None:
    monkeypatch.setenv(GRAPH_URL_ENV, gateway.base_url)
    gateway.status = 400
    with pytest.raises(ChannelSendError) as raised:
        await send_whatsapp("081234567890", TEXT, subject=None, config=cloud())
    assert "gagal dikirim" in str(raised.value) and TOKEN not in str(raised.value)


def test_urls() -> None:
    evo = evolution_url(evolution("https://wa.example.id:8443"), "+6281234567890")
    assert evo.startswith(
        "evolutions://EvoKey-Rahasia-7781@wa.example.id:8443/rt005/6281234567890?"
    )
    cl = cloud_url(cloud(), "+6281234567890")
    assert cl.startswith(
        "whatsapp://layanan_selesai:EAAGrahasiaTOKEN123@109876543210987/%2B6281234567890?"
    )
    assert "lang=id" in cl and "%3Abody=1" in cl


def test_rate_limiter_spaces_sends() -> None:
    now = [100.0]
    limiter = RateLimiter(80, clock=lambda: now[0])
    waits = [limiter.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 1 / 80, 2 / 80, 3 / 80])
    now[0] += 1.0  # a second later the queue is empty again
    assert limiter.reserve() == 0.0


def test_startup_check_of_the_graph_url() -> None:
    reg = registry()
    assert reg.startup_problems(StartupSettings("sqlite", {})) == {}
    ok = {GRAPH_URL_ENV: "http://127.0.0.1:9000"}
    assert reg.startup_problems(StartupSettings("sqlite", ok)) == {}
    problems = reg.startup_problems(StartupSettings("sqlite", {GRAPH_URL_ENV: "ftp://x/y"}))
    assert list(problems) == ["whatsapp"] and GRAPH_URL_ENV in problems["whatsapp"][0]
