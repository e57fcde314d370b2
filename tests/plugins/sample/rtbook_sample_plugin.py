"""A third-party rtbook plugin, written only against the public plugin API.

Installed for the tests by the dist-info folder beside it (what ``pip install``
leaves behind): entry points ``sample`` (this module, sync hooks) and
``sample_async`` (``async_plugin``: the same behaviour with ``async def`` hooks).

It keeps no state: every event it receives becomes one JSON line appended to a sink
file: the config's ``sink`` or else the environment's ``RTBOOK_SAMPLE_SINK`` (no
sink: it does nothing). It raises, on purpose, for events whose sequence is in
``fail_sequences`` or whose RT is in ``fail_subjects``, and for every event while the
file ``fail_flag`` exists. See tests/plugins/README.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import msgspec

import rtbook
from rtbook.core.plugins import MenuItem, Secret, StartupSettings

HERE = Path(__file__).resolve().parent
SINK_ENV = "RTBOOK_SAMPLE_SINK"


class SampleConfig(msgspec.Struct, forbid_unknown_fields=True):
    sink: str | None = None
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "sample"
    fail_sequences: list[int] = msgspec.field(default_factory=list)
    fail_subjects: list[str] = msgspec.field(default_factory=list)
    fail_flag: str | None = None
    token: Secret | None = None


class SampleFailure(RuntimeError):
    """Raised on purpose, for the dispatcher's retry and dead-letter tests."""


def sink_path(config: dict[str, Any]) -> Path | None:
    path = config.get("sink") or os.environ.get(SINK_ENV)
    return Path(path) if path else None


def append_line(config: dict[str, Any], record: dict[str, Any]) -> None:
    """One JSON line in one write (O_APPEND), so lines stay whole across kills."""
    path = sink_path(config)
    if path is None:
        return
    data = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def receive(plugin: str, event: dict[str, Any], city: str, config: dict[str, Any]) -> None:
    sequence = int(event["sequence"])
    flag = config.get("fail_flag")
    if (
        sequence in config.get("fail_sequences", ())
        or event.get("subject") in config.get("fail_subjects", ())
        or (flag and Path(flag).exists())
    ):
        raise SampleFailure(f"{plugin} menolak peristiwa {sequence} (refused event on purpose)")
    token = config.get("token")
    append_line(
        config,
        {
            "plugin": plugin,
            "city": city,
            "id": event["id"],
            "sequence": sequence,
            "subject": event.get("subject"),
            "effect": (event.get("data") or {}).get("effect"),
            "label": config.get("label"),
            # proves the plugin gets its secret unmasked, without writing it down
            "token_set": bool(token) and token != "***",
        },
    )


# -- hooks of plugin "sample" (module-level functions, sync) ----------------------------


@rtbook.hookimpl
def rtbook_plugin_info() -> dict[str, str]:
    # no version: it comes from the distribution's METADATA (0.1)
    return {"name": "sample", "description": "Contoh plugin (sample plugin)"}


@rtbook.hookimpl
def rtbook_config_schema() -> type[SampleConfig]:
    return SampleConfig


@rtbook.hookimpl
def rtbook_service_completed(event: dict[str, Any], city: str, config: dict[str, Any]) -> None:
    receive("sample", event, city, config)


def send_sample(address: str, text: str, *, subject: str | None, config: dict[str, Any]) -> str:
    append_line(config, {"channel": "sample", "address": address, "text": text})
    return f"sample-{abs(hash((address, text))) % 10**8}"


@rtbook.hookimpl
def rtbook_notification_channels() -> dict[str, Any]:
    return {"sample": send_sample}


@rtbook.hookimpl
def rtbook_compose_message(
    event: dict[str, Any], recipient: dict[str, Any], channel: str, language: str
) -> str | None:
    if channel != "sample":
        return None
    summary = (event.get("data") or {}).get("summary", "")
    greeting = "Yth." if language == "id" else "Dear"
    return f"{greeting} {recipient.get('username')}: {summary}"


@rtbook.hookimpl
def rtbook_api_routes() -> list[Any]:
    from litestar import get
    from litestar.params import PathParameter, QueryParameter

    @get("/sample/ping", sync_to_thread=False)
    def ping(city: Annotated[str | None, QueryParameter()] = None) -> dict[str, Any]:
        return {"plugin": "sample", "city": city}

    @get("/cities/{city:str}/sample/status", sync_to_thread=False)
    def status(city: Annotated[str, PathParameter()]) -> dict[str, Any]:
        return {"plugin": "sample", "city": city}

    return [ping, status]


@rtbook.hookimpl
def rtbook_page_routes() -> list[Any]:
    from litestar import MediaType, get
    from litestar.params import QueryParameter

    @get("/sample/page", media_type=MediaType.HTML, sync_to_thread=False)
    def page(city: Annotated[str | None, QueryParameter()] = None) -> str:
        return f"<h1>Contoh (sample) {city}</h1>"

    return [page]


@rtbook.hookimpl
def rtbook_template_dirs() -> list[str]:
    return [str(HERE / "templates")]


@rtbook.hookimpl
def rtbook_menu_items(city: str, principal: Any) -> list[MenuItem]:
    if getattr(principal, "role", None) == "integrator":
        return []
    return [MenuItem(label="Contoh (sample)", href=f"/sample/page?city={city}", order=50)]


@rtbook.hookimpl
def rtbook_piccolo_apps() -> list[str]:
    return ["rtbook_sample_plugin"]


@rtbook.hookimpl
def rtbook_startup_check(settings: StartupSettings) -> list[str]:
    path = settings.environ.get(SINK_ENV)
    if path and not Path(path).parent.is_dir():
        return [f"folder {SINK_ENV} tidak ada (sink folder missing): {Path(path).parent}"]
    return []


def _app_config() -> Any:
    from piccolo.conf.apps import AppConfig

    return AppConfig(
        app_name="sample",
        migrations_folder_path=str(HERE / "sample_migrations"),
        table_classes=[],
        migration_dependencies=[],
        commands=[],
    )


APP_CONFIG = _app_config()


# -- plugin "sample_async": an object whose hooks are async def -------------------------


class AsyncSample:
    @rtbook.hookimpl
    def rtbook_config_schema(self) -> type[SampleConfig]:
        return SampleConfig

    @rtbook.hookimpl
    async def rtbook_service_completed(
        self, event: dict[str, Any], city: str, config: dict[str, Any]
    ) -> None:
        receive("sample_async", event, city, config)

    @rtbook.hookimpl
    async def rtbook_compose_message(self, event: dict[str, Any], channel: str) -> str | None:
        # takes a subset of the hook's arguments, as pluggy allows
        return f"async {channel}: {event['id']}"


async_plugin = AsyncSample()
