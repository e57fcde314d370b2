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

A notice may carry :class:`Attachment` files (e.g. the monthly B.3 XLSX). They are
stored once per city and key (table ``notice_attachment``, in the transaction that
plans the deliveries) and handed only to channel senders that take an
``attachments`` keyword (e-mail; WhatsApp gets the text only). A delivery over such
a channel is never held for the daily digest: it is due now, or at the end of the
recipient's quiet hours (docs/notifications.md, Attachments).
"""

from __future__ import annotations

import functools
import inspect
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
from rtbook.core.notify.recipients import Recipient, quiet_until, users_by_id

KEY_MAX = 64
FILENAME_MAX = 100
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024  # one file
ATTACHMENTS_MAX_BYTES = 10 * 1024 * 1024  # all files of one notice
MEDIA_TYPE_MAX = 127
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
# feed event ids ("64.71-12") and digest keys belong to the hub
_RESERVED_KEY = re.compile(r"[0-9]{2}\.[0-9]{2}-[0-9]+|digest:.*", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a notice over the channels that take files (e-mail):
    ``filename`` a plain name (no folder), ``media_type`` e.g. ``"application/pdf"``."""

    filename: str
    media_type: str
    content: bytes


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
    attachments: Sequence[Attachment] = ()  # for channels that take files (e-mail)


def accepts_attachments(sender: Callable[..., Any]) -> bool:
    """Whether a channel sender names an ``attachments`` parameter (keyword or
    positional-or-keyword; ``**kwargs`` alone does not count: such a sender may not
    know what to do with files). Cached per sender."""
    try:
        return _accepts_cached(sender)
    except TypeError:  # an unhashable callable: not cached
        return _accepts(sender)


@functools.lru_cache(maxsize=256)
def _accepts_cached(sender: Callable[..., Any]) -> bool:
    return _accepts(sender)


def _accepts(sender: Callable[..., Any]) -> bool:
    try:
        parameter = inspect.signature(sender).parameters.get("attachments")
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


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
    check_attachments(notice.attachments)


def check_attachments(attachments: Sequence[Attachment]) -> None:
    """ValueError unless every attachment has a plain, unique file name of at most
    :data:`FILENAME_MAX` characters, a media type, bytes of at most
    :data:`ATTACHMENT_MAX_BYTES`, and all of them together at most
    :data:`ATTACHMENTS_MAX_BYTES`."""
    if isinstance(attachments, str | bytes) or not isinstance(attachments, Sequence):
        raise ValueError("Notice.attachments harus daftar Attachment (must be a list)")
    total = 0
    names: set[str] = set()
    for item in attachments:
        if not isinstance(item, Attachment):
            raise ValueError("Notice.attachments hanya berisi Attachment (Attachment items only)")
        name = item.filename
        if (
            not isinstance(name, str)
            or not name.strip()
            or len(name) > FILENAME_MAX
            or any(ch in name for ch in "/\\\0")
            or name.strip() in (".", "..")
            or any(ord(ch) < 32 for ch in name)
        ):
            raise ValueError(
                f"nama berkas lampiran harus nama biasa 1..{FILENAME_MAX} karakter tanpa folder "
                f"(attachment filename must be a plain name of 1..{FILENAME_MAX} chars)"
            )
        if name in names:
            raise ValueError(
                f"nama berkas lampiran {name!r} dipakai dua kali (attachment filename repeated)"
            )
        names.add(name)
        media = item.media_type
        if (
            not isinstance(media, str)
            or len(media) > MEDIA_TYPE_MAX
            or not _MEDIA_TYPE.fullmatch(media)
        ):
            raise ValueError(
                f"jenis lampiran {name!r} tidak sah (attachment media type must be type/subtype)"
            )
        if not isinstance(item.content, bytes):
            raise ValueError(f"isi lampiran {name!r} harus bytes (content must be bytes)")
        size = len(item.content)
        if size > ATTACHMENT_MAX_BYTES:
            raise ValueError(
                f"lampiran {name!r} lebih dari 5 MB (attachment larger than 5 MB: {size} bytes)"
            )
        total += size
    if total > ATTACHMENTS_MAX_BYTES:
        raise ValueError(
            f"lampiran bersama lebih dari 10 MB (attachments larger than 10 MB together: "
            f"{total} bytes)"
        )


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
        takes_files = {
            ch.name for chs in offered.values() for ch in chs if accepts_attachments(ch.sender)
        }
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
                    when = due
                    if when is None and notice.attachments and channel in takes_files:
                        # a digest carries no files: this one is sent on its own
                        when = quiet_until(recipient, now, timezone) or now
                    (held if when is None else pending).append(
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
                            due_at=when or now,
                        )
                    )
        with_files = {n.key: n.attachments for n in notices if n.attachments}
        planned_keys = {p.event_id for p in pending} | {p.event_id for p in held}

        async def write(conn: Connection) -> int:
            inserted = await insert_counted(conn, pending, now) + await insert_counted(
                conn, held, now, status=DIGESTED
            )
            for key, attachments in with_files.items():
                if key in planned_keys:
                    await store_attachments(conn, self.city, key, attachments, now)
            return inserted

        return await self.db.write(write) if pending or held else 0


INSERT_ATTACHMENT = (
    "INSERT INTO notice_attachment (city_code, notice_key, filename, media_type, content,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (city_code, notice_key, filename) DO NOTHING"
)


async def store_attachments(
    conn: Connection, city: str, key: str, attachments: Sequence[Attachment], now: datetime
) -> int:
    """Store a notice's files once per city and key: nothing when the key has files
    already (a notice sent again, a retried hook); the number stored."""
    if await conn.fetchval(
        "SELECT 1 FROM notice_attachment WHERE city_code = $1 AND notice_key = $2 LIMIT 1",
        city,
        key,
    ):
        return 0
    stored = 0
    for item in attachments:
        stored += await conn.execute(
            INSERT_ATTACHMENT, city, key, item.filename, item.media_type, item.content, now
        )
    return stored


async def read_attachments(
    conn: Connection, wanted: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[Attachment]]:
    """(city, key) -> its files, for the ``wanted`` pairs, in one query."""
    pairs = set(wanted)
    if not pairs:
        return {}
    keys = sorted({key for _, key in pairs})
    marks = ", ".join(f"${i}" for i in range(1, len(keys) + 1))
    rows = await conn.fetch(
        "SELECT city_code, notice_key, filename, media_type, content FROM notice_attachment"
        f" WHERE notice_key IN ({marks}) ORDER BY id",
        *keys,
    )
    found: dict[tuple[str, str], list[Attachment]] = {}
    for row in rows:
        pair = (row["city_code"], row["notice_key"])
        if pair in pairs:
            found.setdefault(pair, []).append(
                Attachment(row["filename"], row["media_type"], bytes(row["content"]))
            )
    return found


__all__ = [
    "ATTACHMENTS_MAX_BYTES",
    "ATTACHMENT_MAX_BYTES",
    "FILENAME_MAX",
    "KEY_MAX",
    "Attachment",
    "Notice",
    "Notifier",
    "accepts_attachments",
    "check_attachments",
    "check_notice",
    "read_attachments",
    "store_attachments",
]
