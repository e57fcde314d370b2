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
    send_batch: int = 200

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
