"""How the worker retries and paces itself: :class:`RetryPolicy` and :class:`WorkerOptions`.

Retries use exponential backoff with *full jitter* (the delay before attempt n+1 is
uniform in ``[0, min(cap, base * 2**(n-1))]``): failures of many streams at once (a
provider outage) spread out instead of coming back in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

HOOK = "rtbook_service_completed"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` counts every call of the hook for one event, the first one
    included: with 8, an event is tried once and retried up to 7 times, then dead."""

    base_seconds: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("need 0 < base_seconds <= cap_seconds")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def ceiling(self, attempts: int) -> float:
        """The longest wait after ``attempts`` failed calls (before the jitter)."""
        exponent = min(max(attempts - 1, 0), 62)  # 2**62 s is far past any cap
        return min(self.cap_seconds, self.base_seconds * (2**exponent))

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """The wait before the next call after ``attempts`` failed calls."""
        draw = (rng or random).uniform(0.0, self.ceiling(attempts))
        return timedelta(seconds=draw)

    def is_last(self, attempts: int) -> bool:
        """True when ``attempts`` failed calls mean the event is a dead letter."""
        return attempts >= self.max_attempts


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """Knobs of one worker. The defaults suit production; tests shrink them."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Events read per query of one stream.
    chunk: int = 200
    # The checkpoint is written after this many delivered events of a stream (and
    # always after a failure): after a SIGKILL at most this many events of each stream
    # are delivered again. 1 = per event, the tightest the database can give.
    checkpoint_every: int = 1
    # Streams one worker works on at the same time (and claims per round).
    max_streams: int = 8
    # A claimed stream is given back after this many events or seconds, so other
    # workers (PostgreSQL) and settings changes get a turn.
    slice_events: int = 5000
    slice_seconds: float = 2.0
    # Retries of one stream taken per slice.
    retries_per_slice: int = 200
    # Leases: renewed every lease_seconds / 3 while the worker runs.
    lease_seconds: float = 30.0
    # Pause between polls when nothing was due.
    poll_seconds: float = 1.0

    def __post_init__(self) -> None:
        for name in ("chunk", "checkpoint_every", "max_streams", "slice_events"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.lease_seconds <= 0 or self.poll_seconds <= 0 or self.slice_seconds <= 0:
            raise ValueError("lease_seconds, poll_seconds and slice_seconds must be positive")
