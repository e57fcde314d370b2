"""Reading Apprise 2.x's per-target results and turning a failure into a clear error,
for the channel plugins that send through Apprise (rtbook_email, rtbook_whatsapp).

Apprise 2.x returns an ``AppriseResult`` from ``notify()``: one ``NotifyResult`` per
service it dispatched (here always one: one recipient per send), each with a status
(SUCCESS, FAILURE, TIMEOUT), its attempts and the log lines captured while sending.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SECRET_MASK = "***"


@dataclass(frozen=True, slots=True)
class TargetResult:
    """The outcome for one recipient, as safe to show as to log."""

    target: str  # masked address
    service: str
    status: str  # SUCCESS | FAILURE | TIMEOUT | NOMATCH
    attempts: int
    elapsed: float
    errors: tuple[str, ...] = ()  # Apprise's warnings, secrets and address masked

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "service": self.service,
            "status": self.status,
            "attempts": self.attempts,
            "elapsed": round(self.elapsed, 3),
            "errors": list(self.errors),
        }


class ChannelSendError(RuntimeError):
    """A send the provider did not accept; ``results`` holds the per-target outcome.

    The message names the channel, the masked recipient and the reason, never a
    secret (password, token, API key) nor the full address."""

    def __init__(self, message: str, results: Iterable[TargetResult] = ()) -> None:
        super().__init__(message)
        self.results = tuple(results)


def redact(text: str, secrets: Iterable[str | None], replacements: dict[str, str]) -> str:
    """``text`` with every secret (plain and URL-quoted) shown as ``***`` and every key
    of ``replacements`` (e.g. a full address) replaced by its value."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, SECRET_MASK)
    for plain, masked in replacements.items():
        if plain:
            text = text.replace(plain, masked)
    return text


def target_results(
    result: Any,
    *,
    target: str,
    secrets: Iterable[str | None],
    replacements: dict[str, str],
) -> list[TargetResult]:
    """The per-target results of an ``AppriseResult`` (secrets and address masked)."""
    secrets = list(secrets)
    out: list[TargetResult] = []
    for service in getattr(result, "results", ()):
        errors = tuple(
            redact(entry.message, secrets, replacements)
            for entry in service.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        )
        out.append(
            TargetResult(
                target=target,
                service=str(service.name),
                status=service.status.name,
                attempts=len(service),
                elapsed=float(service.elapsed),
                errors=errors,
            )
        )
    return out


def check_result(
    result: Any,
    *,
    channel: str,
    target: str,
    secrets: Iterable[str | None],
    replacements: dict[str, str],
    logger: logging.Logger,
) -> list[TargetResult]:
    """The per-target results when every target accepted the message; otherwise
    ChannelSendError with the reason of each target that did not."""
    results = target_results(result, target=target, secrets=secrets, replacements=replacements)
    for item in results:
        logger.info(
            "%s ke (to) %s: %s, %d percobaan (attempts), %.3f s",
            channel,
            item.target,
            item.status,
            item.attempts,
            item.elapsed,
        )
    if bool(result) and results and all(r.status == "SUCCESS" for r in results):
        return results
    if not results:
        reasons = [
            redact(entry.message, list(secrets), replacements)
            for entry in getattr(result, "call_logs", lambda: ())()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
        status = getattr(getattr(result, "status", None), "name", "FAILURE")
        detail = "; ".join(reasons) or status
    else:
        detail = "; ".join(
            f"{r.status}" + (f": {' / '.join(r.errors)}" if r.errors else "")
            for r in results
            if r.status != "SUCCESS"
        )
    raise ChannelSendError(f"{channel} gagal dikirim ke {target} (send failed): {detail}", results)
