"""The retry schedule and what a failure may leave in logs (pure functions)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from rtbook.core.dispatch.options import RetryPolicy, WorkerOptions
from rtbook.core.dispatch.redact import error_text, scrub, secret_values


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=8)
    assert [policy.ceiling(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    rng = random.Random(7)
    for attempts in range(1, 8):
        delays = [policy.delay(attempts, rng) for _ in range(200)]
        ceiling = timedelta(seconds=policy.ceiling(attempts))
        assert all(timedelta(0) <= d <= ceiling for d in delays)
        # full jitter: spread over the whole range, not bunched at the ceiling
        assert min(delays) < ceiling / 4 and max(delays) > ceiling * 3 / 4
    assert [policy.is_last(n) for n in (1, 7, 8, 9)] == [False, False, True, True]


@pytest.mark.parametrize(
    "bad",
    [
        {"base_seconds": 0},
        {"base_seconds": 10, "cap_seconds": 5},
        {"max_attempts": 0},
    ],
)
def test_a_nonsense_retry_policy_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


def test_nonsense_worker_options_are_refused() -> None:
    with pytest.raises(ValueError):
        WorkerOptions(chunk=0)
    with pytest.raises(ValueError):
        WorkerOptions(lease_seconds=0)


def test_secrets_and_niks_are_masked() -> None:
    config = {
        "smtp_host": "mail.example.id",
        "password": "hunter2-long",
        "token": "abc",  # too short to mask safely: ordinary words would go too
        "provider": {"api_key": "key-123456", "instance": "rt005"},
        "extra": ["not-secret"],
        "webhook": "https://hooks.example/x?sig=zz-99-yy",
    }
    found = secret_values(config, secret_fields=("webhook",))
    assert set(found) == {"hunter2-long", "key-123456", "https://hooks.example/x?sig=zz-99-yy"}
    text = scrub(
        "login hunter2-long at mail.example.id via https://hooks.example/x?sig=zz-99-yy for "
        "NIK 6471060507800001 (KK 64710601012000019)",
        found,
    )
    assert text == (
        "login *** at mail.example.id via *** for NIK ************0001 (KK *************0019)"
    )
    assert (
        error_text(ValueError("  two\n lines  key-123456 "), found) == "ValueError: two lines ***"
    )
    assert error_text(KeyError()) == "KeyError"
