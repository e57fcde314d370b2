"""The types a plugin author works with, besides the hook specs themselves.

Import them from ``rtbook.core.plugins``::

    from rtbook.core.plugins import MenuItem, PluginInfo, Secret

Nothing here imports web code: a route hook returns Litestar objects that the web
layer mounts, but the contract between core and plugins is plain Python.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import msgspec

SECRET_MASK = "***"
"""What every read shows instead of a secret's value; sent back, it keeps the value."""

Secret = Annotated[str, msgspec.Meta(extra={"secret": True})]
"""A config field that is write-only: ``password: Secret`` or ``token: Secret | None``.

Any ``Annotated[..., msgspec.Meta(extra={"secret": True})]`` field counts the same."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What the registry knows about an installed plugin.

    ``name`` is the entry-point name (the one in URLs, settings and the CLI);
    ``version`` and ``description`` come from ``rtbook_plugin_info`` or else from the
    distribution's metadata (Version, Summary).
    """

    name: str
    version: str
    description: str
    has_schema: bool = False
    secret_fields: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()  # the hooks it implements
    module: str = ""  # where it came from: the entry point's value
    distribution: str | None = None


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One entry of the phone pages' menu (``rtbook_menu_items``)."""

    label: str  # Bahasa Indonesia first, e.g. "Daftar lansia (elderly list)"
    href: str
    order: int = 100  # lower comes first
    icon: str | None = None


@dataclass(frozen=True, slots=True)
class StartupSettings:
    """What ``rtbook_startup_check`` gets to look at (no secrets are added here: a
    plugin that needs its own environment variables reads them from ``environ``)."""

    database_dialect: str  # "sqlite" | "postgres"
    environ: Mapping[str, str] = field(default_factory=dict)


SendAnswer = str | Mapping[str, Any] | None
"""What a :class:`ChannelSender` returns for an accepted message (see there)."""


class ChannelSender(Protocol):
    """Sends one message over a channel (``rtbook_notification_channels``).

    ``address`` is the recipient's address for that channel (E.164 phone number,
    e-mail address), ``config`` the providing plugin's config in the recipient's city.
    May be ``async def``; the hub runs several sends at once (``send_concurrency``),
    so a blocking sender should run its blocking part in a thread
    (``rtbook.core.notify.channels.run_blocking``).

    Once the provider accepted the message it returns one of:

    - None, or the provider's message id (``str``);
    - a mapping (or an object with these attributes) with ``message_id`` (``str`` or
      None) and ``results``: the per-target results, each a mapping or an object
      with ``as_dict()`` giving ``target`` (the address, masked), ``service``,
      ``status`` (``SUCCESS``, ``FAILURE``, ``TIMEOUT``), ``attempts``, ``elapsed``
      (seconds) and ``errors`` (a list of texts), as Apprise 2.x reports them.

    The hub records the id and the results on the delivery (addresses masked and the
    plugin's secrets redacted once more) and shows the results to admins.

    It raises to report a send that was not accepted:

    - ``ValueError`` only for an address that can never work (not a phone number,
      not an e-mail address): the delivery is ``dead`` at once, not retried;
    - any other exception: the hub retries with backoff. An exception may carry the
      per-target results in ``.results`` (as above), recorded with the error.
    """

    def __call__(
        self,
        address: str,
        text: str,
        *,
        subject: str | None,
        config: Mapping[str, Any],
    ) -> SendAnswer | Awaitable[SendAnswer]: ...
