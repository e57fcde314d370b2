"""How the notification hub retries, leases and batches, and what one pass did."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class NotifyOptions:
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    lease_seconds: float = 300.0  # how long a claimed delivery is ours while sending
    plan_chunk: int = 200
    send_batch: int = 200  # deliveries read per pass
    send_concurrency: int = 16  # sends in flight at once within a pass
    # a delivery whose channel's plugin is off in its city is looked at again after this
    channel_off_wait_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.send_batch < 1 or self.send_concurrency < 1:
            raise ValueError("send_batch and send_concurrency must be at least 1")

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempts-1))]."""
        ceiling = min(self.retry_cap_seconds, self.retry_base_seconds * 2 ** (attempts - 1))
        return timedelta(seconds=rng.uniform(0, ceiling))


@dataclass
class NotifyStats:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    full_batch: bool = False  # the pass read a whole send_batch: more may be due now
