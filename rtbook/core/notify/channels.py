"""The channels that enabled plugins offer (``rtbook_notification_channels``), what
their senders answer, and the thread pool their blocking sends run in."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

CHANNELS_HOOK = "rtbook_notification_channels"

T = TypeVar("T")

MAX_TARGETS = 20  # per-target results kept per attempt
MAX_ERRORS = 10  # error lines kept per target
TEXT_MAX = 500  # characters kept per text field


@dataclass(frozen=True, slots=True)
class Channel:
    plugin: str
    name: str
    sender: Callable[..., Any]


def channel_senders(registry: Any) -> dict[str, list[Channel]]:
    """plugin -> the channels it offers (installed plugins; the city's enabled ones
    are picked per event)."""
    offered: dict[str, list[Channel]] = {}
    collect = getattr(registry, "collect", None)
    if not callable(collect):
        return offered
    for plugin, answer in collect(CHANNELS_HOOK):
        if isinstance(answer, Mapping):
            offered[plugin] = [
                Channel(plugin, str(name), sender)
                for name, sender in answer.items()
                if callable(sender)
            ]
    return offered


# -- what a sender answers ------------------------------------------------------------


class TargetOutcome(msgspec.Struct, frozen=True):
    """How one recipient (target) of one send fared, as stored on the delivery
    (``delivery.result``) and shown to admins: the shape of Apprise 2.x's per-target
    results (``TargetResult.as_dict()`` of the email and whatsapp plugins)."""

    target: str  # the masked address
    service: str = ""  # e.g. "Evolution API", "E-Mail"
    status: str = ""  # SUCCESS | FAILURE | TIMEOUT | NOMATCH
    attempts: int = 0
    elapsed: float = 0.0  # seconds
    errors: tuple[str, ...] = ()

    def cleaned(self, clean: Callable[[str], str]) -> TargetOutcome:
        """This outcome with ``clean`` applied to every text (masking)."""
        return TargetOutcome(
            target=clean(self.target),
            service=clean(self.service),
            status=self.status,
            attempts=self.attempts,
            elapsed=self.elapsed,
            errors=tuple(clean(e) for e in self.errors),
        )


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """A sender's answer, read: the provider's message id and per-target results."""

    message_id: str | None = None
    results: tuple[TargetOutcome, ...] = ()


def _text(value: Any) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        return kind(0)
    return number if math.isfinite(number) and number >= 0 else kind(0)


def _outcome(item: Any) -> TargetOutcome | None:
    as_dict = getattr(item, "as_dict", None)
    data = as_dict() if callable(as_dict) else item
    if not isinstance(data, Mapping):
        return None
    errors = data.get("errors") or ()
    if isinstance(errors, str | bytes) or not isinstance(errors, Iterable):
        errors = (errors,)
    return TargetOutcome(
        target=_text(data.get("target")),
        service=_text(data.get("service")),
        status=_text(data.get("status")).upper()[:16],
        attempts=_number(data.get("attempts"), int),
        elapsed=round(_number(data.get("elapsed"), float), 3),
        errors=tuple(_text(e) for e in list(errors)[:MAX_ERRORS]),
    )


def target_outcomes(items: Any) -> tuple[TargetOutcome, ...]:
    """Per-target results as a sender gives them (objects with ``as_dict()``, or
    mappings with the keys of :class:`TargetOutcome`); anything else is skipped."""
    if items is None:
        return ()
    if isinstance(items, Mapping) or callable(getattr(items, "as_dict", None)):
        items = (items,)
    elif isinstance(items, str | bytes) or not isinstance(items, Iterable):
        return ()
    found = (_outcome(item) for item in list(items)[:MAX_TARGETS])
    return tuple(o for o in found if o is not None)


def read_answer(answer: Any) -> SendReceipt:
    """What a :class:`~rtbook.core.plugins.ChannelSender` returned once the provider
    accepted the message: None, the provider's message id, or a mapping (or an object)
    with ``message_id`` and ``results``."""
    if answer is None:
        return SendReceipt()
    if isinstance(answer, Mapping):
        message_id, results = answer.get("message_id"), answer.get("results")
    elif hasattr(answer, "message_id") or hasattr(answer, "results"):
        message_id = getattr(answer, "message_id", None)
        results = getattr(answer, "results", None)
    else:  # a provider message id (the answer ChannelSender always allowed)
        message_id, results = answer, None
    text = None if message_id is None else str(message_id)[:255] or None
    return SendReceipt(text, target_outcomes(results))


def error_outcomes(exc: BaseException) -> tuple[TargetOutcome, ...]:
    """The per-target results a failed send carries (``ChannelSendError.results``)."""
    return target_outcomes(getattr(exc, "results", None))


# -- blocking sends -------------------------------------------------------------------

SEND_THREADS = 64
"""Threads for blocking sends (Apprise is synchronous). asyncio's default executor has
min(32, CPUs + 4) threads (6 on two CPUs), which would cap the hub's
``send_concurrency`` whatever it is set to."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _send_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="rtbook-send")
        return _pool


async def run_blocking(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``await run_blocking(send_sync, ...)``: run a channel's blocking send in the
    channels' thread pool (threads are started as needed, up to ``SEND_THREADS``),
    keeping the caller's context variables, like ``asyncio.to_thread``."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await loop.run_in_executor(_send_pool(), call)
