"""Plugin notices: messages a plugin sends to users it picks, through the hub
(docs/notifications.md, Plugin notices; docs/plugins.md).

The worker hands ``rtbook_service_completed`` and ``rtbook_daily`` a
:class:`Notifier` for the city; ``await notifier.notify([Notice(...)])`` plans one
delivery per user and channel like the hub does for feed events: over each channel
offered by a plugin enabled in the city, where the user has an address and wants the
channel (and the notice's ``service_type``, when it has one), due now or at the end of
the user's quiet hours, or held for the user's daily digest (a notice joins the
digest like any event). The delivery's key is the notice's ``key``: the same key,
user and channel is never planned twice, so a hook that runs again (a retry, a
replay) sends nothing twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rtbook.core.db import Connection, Database
from rtbook.core.dispatch.streams import EnabledPlugins
from rtbook.core.notify import deliveries as store
from rtbook.core.notify.channels import channel_senders
from rtbook.core.notify.compose import scrub
from rtbook.core.notify.digest import DIGESTED, insert_counted
from rtbook.core.notify.planning import due_at
from rtbook.core.notify.recipients import Recipient, users_by_id

KEY_MAX = 64
# feed event ids ("64.71-12") and digest keys belong to the hub
_RESERVED_KEY = re.compile(r"[0-9]{2}\.[0-9]{2}-[0-9]+|digest:.*", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to ``user_ids``; ``subject`` and ``body`` map a language ("id",
    required; "en", optional) to text. ``key`` (at most 64 characters) makes it
    idempotent, e.g. ``f"{event['id']}:lansia"`` or ``"lansia-week-2026-W48"``."""

    key: str
    user_ids: Sequence[int]
    subject: Mapping[str, str]
    body: Mapping[str, str]
    service_type: str | None = None  # for recipients' service-type preference


def check_notice(notice: Notice) -> None:
    """ValueError (a plugin's bug: the hook fails and is retried) for a notice the hub
    cannot plan."""
    key = notice.key
    if not isinstance(key, str) or not key.strip() or len(key) > KEY_MAX:
        raise ValueError(f"Notice.key harus 1..{KEY_MAX} karakter (must be 1..{KEY_MAX} chars)")
    if _RESERVED_KEY.fullmatch(key):
        raise ValueError(
            f"Notice.key {key!r} dipakai rtbook (reserved: a feed event id or digest key)"
        )
    for name in ("subject", "body"):
        texts = getattr(notice, name)
        if not isinstance(texts, Mapping) or not isinstance(texts.get("id"), str):
            raise ValueError(f'Notice.{name} perlu teks "id" (needs an "id" text)')
    if isinstance(notice.user_ids, str | bytes):
        raise ValueError("Notice.user_ids harus daftar id (must be a list of ids)")


def _text(texts: Mapping[str, str], language: str) -> tuple[str, str]:
    """(text, its language): the recipient's language when given, else Indonesian."""
    value = texts.get(language)
    if isinstance(value, str) and value.strip():
        return scrub(value), language
    return scrub(texts["id"]), "id"


class Notifier:
    """Plans plugin notices for one city (the worker makes one per hook call)."""

    def __init__(
        self,
        db: Database,
        registry: Any,
        city: str,
        *,
        enabled_plugins: EnabledPlugins,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.registry = registry
        self.city = city
        self.enabled_plugins = enabled_plugins
        self.now = now

    async def notify(self, notices: Sequence[Notice]) -> int:
        """Plan deliveries for ``notices``; the number planned now (those already
        planned under the same key, user and channel are not counted again)."""
        for notice in notices:
            check_notice(notice)
        if not notices:
            return 0
        offered = channel_senders(self.registry)
        user_ids = {int(u) for n in notices for u in n.user_ids}

        async def read(conn: Connection) -> tuple[str | None, list[str], list[Recipient]]:
            timezone = await conn.fetchval("SELECT timezone FROM city WHERE code = $1", self.city)
            enabled = await self.enabled_plugins(conn, self.city)
            channels = [ch.name for plugin in sorted(enabled) for ch in offered.get(plugin, [])]
            return timezone, channels, await users_by_id(conn, user_ids)

        timezone, channels, people = await self.db.read(read)
        if timezone is None:
            raise ValueError(f"kota {self.city} tidak ada (no such city)")
        by_id = {r.user_id: r for r in people}
        now = self.now()
        pending: list[store.PlannedDelivery] = []
        held: list[store.PlannedDelivery] = []
        for notice in notices:
            for user_id in dict.fromkeys(int(u) for u in notice.user_ids):
                recipient = by_id.get(user_id)
                if recipient is None:  # unknown or inactive
                    continue
                due = due_at(recipient, now, timezone)
                subject, language = _text(notice.subject, recipient.language)
                body, _ = _text(notice.body, language)
                for channel, address in recipient.routes(channels, notice.service_type):
                    (held if due is None else pending).append(
                        store.PlannedDelivery(
                            event_id=notice.key,
                            city_code=self.city,
                            seq=0,
                            user_id=user_id,
                            channel=channel,
                            address=address,
                            subject=subject,
                            body=body,
                            language=language,
                            due_at=due or now,
                        )
                    )

        async def write(conn: Connection) -> int:
            return await insert_counted(conn, pending, now) + await insert_counted(
                conn, held, now, status=DIGESTED
            )

        return await self.db.write(write) if pending or held else 0


__all__ = ["KEY_MAX", "Notice", "Notifier", "check_notice"]
