"""Fixtures of the channel tests: real servers on loopback (tests/channel_servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from channel_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    Gateway,
    PasswordCheck,
    SmtpServer,
    start_gateway,
    start_smtp,
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp()
    yield server
    controller.stop()


@pytest.fixture
def smtp_auth() -> Iterator[SmtpServer]:
    controller, server = start_smtp(PasswordCheck(SMTP_USER, SMTP_PASSWORD))
    yield server
    controller.stop()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    server = start_gateway(gw)
    yield gw
    server.shutdown()
    server.server_close()
