"""Plugin discovery and hook calls: :class:`PluginRegistry`.

Plugins, built-in and third-party alike, are entry points in the group ``rtbook``.
A plugin that fails to import or register is reported by name in
``registry.failures`` (and logged) and skipped: start-up never stops for it.

Environment (read by :meth:`PluginRegistry.load`):

- ``RTBOOK_PLUGINS=a,b``: load only these (a listed name that is not installed is
  reported as a failure);
- ``RTBOOK_DISABLE_PLUGINS=c``: never load these (not even imported);
- ``RTBOOK_TRACE_PLUGINS=1``: log every hook call with plugin, hook, city and its time
  in ms (logger ``rtbook.plugins.trace``, INFO; to stderr when logging is not set up).

pluggy stops at the first exception and mixes every plugin's answers, so hooks are
called one plugin at a time: :meth:`PluginRegistry.call` runs exactly one plugin's
implementation, awaits an awaitable result and lets exceptions through to the caller
(the dispatcher isolates, retries and parks them); :meth:`PluginRegistry.collect`
asks many plugins and isolates each.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from importlib.metadata import Distribution, EntryPoint, entry_points
from typing import Any

import pluggy

from rtbook import PROJECT_NAME
from rtbook.core import hookspecs
from rtbook.core.errors import NotFound, RtbookError
from rtbook.core.plugins.api import PluginInfo, StartupSettings
from rtbook.core.plugins.config import (
    ConfigSchema,
    inspect_schema,
    mask_config,
    validate_config,
)

ENTRY_POINT_GROUP = "rtbook"
ENV_ONLY = "RTBOOK_PLUGINS"
ENV_DISABLE = "RTBOOK_DISABLE_PLUGINS"
ENV_TRACE = "RTBOOK_TRACE_PLUGINS"

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
HOOK_NAMES: tuple[str, ...] = tuple(
    sorted(
        name
        for name, value in vars(hookspecs).items()
        if name.startswith("rtbook_") and callable(value)
    )
)
_REASON_MAX = 300

log = logging.getLogger("rtbook.plugins")
trace_log = logging.getLogger("rtbook.plugins.trace")


class PluginLoadError(RtbookError):
    """A plugin could not be registered (bad hooks, bad info or schema)."""


def one_line(text: str, limit: int = _REASON_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exception_reason(exc: BaseException) -> str:
    return one_line(f"{type(exc).__name__}: {exc}")


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _dist_metadata(dist: Distribution | None) -> tuple[str | None, str | None, str | None]:
    """(distribution name, version, summary) of an entry point's distribution."""
    if dist is None:
        return None, None, None
    meta = dist.metadata
    return meta.get("Name"), meta.get("Version"), meta.get("Summary")


def _text(info: Any, key: str) -> str | None:
    value = info.get(key) if isinstance(info, Mapping) else getattr(info, key, None)
    return None if value is None else str(value)


class PluginRegistry:
    """The installed plugins of this process and the way to call their hooks."""

    def __init__(self, *, trace: bool = False) -> None:
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._schemas: dict[str, ConfigSchema | None] = {}
        self._impls: dict[tuple[str, str], pluggy.HookImpl] = {}
        self.failures: dict[str, str] = {}
        """Plugins that could not be loaded: name -> one-line reason."""
        self.trace = trace
        if trace:
            _enable_trace_output()

    # -- loading ---------------------------------------------------------------------

    @classmethod
    def load(
        cls, env: Mapping[str, str] = os.environ, *, log_failures: bool = True
    ) -> PluginRegistry:
        """Discover and register the plugins of the entry-point group ``rtbook``."""
        registry = cls(trace=_truthy(env.get(ENV_TRACE)))
        only = _names(env.get(ENV_ONLY))
        disabled = set(_names(env.get(ENV_DISABLE)))
        found: set[str] = set()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in disabled or (only and ep.name not in only):
                continue
            if ep.name in found:  # the first one stays; the other is reported beside it
                registry._fail(
                    f"{ep.name} ({ep.value})",
                    "nama sudah dipakai entry point lain (name taken by another entry point)",
                    log_failures,
                )
                continue
            found.add(ep.name)
            registry._load_entry_point(ep, log_failures)
        for name in only:
            if name not in found and name not in disabled:
                registry._fail(
                    name, f"tidak terpasang, dari {ENV_ONLY} (not installed)", log_failures
                )
        return registry

    def _fail(self, name: str, reason: str, log_it: bool) -> None:
        self.failures[name] = one_line(reason)
        if log_it:
            log.warning("plugin %s dilewati (skipped): %s", name, self.failures[name])

    def _load_entry_point(self, ep: EntryPoint, log_failures: bool) -> None:
        try:
            plugin = ep.load()
        except (Exception, SystemExit) as exc:
            log.debug("plugin %s failed to import", ep.name, exc_info=True)
            self._fail(
                ep.name, f"gagal diimpor (import failed): {exception_reason(exc)}", log_failures
            )
            return
        try:
            self.register(ep.name, plugin, dist=getattr(ep, "dist", None), module=ep.value)
        except PluginLoadError as exc:
            self._fail(ep.name, str(exc), log_failures)

    def register(
        self,
        name: str,
        plugin: object,
        *,
        dist: Distribution | None = None,
        module: str | None = None,
    ) -> PluginInfo:
        """Register one plugin object under ``name`` (what :meth:`load` does for each
        entry point; tests and benchmarks may call it with their own object).
        PluginLoadError, with nothing registered, when the plugin is unusable."""
        if not NAME_PATTERN.fullmatch(name):
            raise PluginLoadError(
                f"nama plugin {name!r} tidak sah, pakai a-z 0-9 _ (invalid plugin name)"
            )
        if name in self._infos:
            raise PluginLoadError(f"plugin {name} sudah terdaftar (already registered)")
        try:
            self._pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(
                f"hook tidak sah (invalid hook): {exception_reason(exc)}"
            ) from exc
        except ValueError as exc:  # the same object under another name
            raise PluginLoadError(
                f"tidak bisa didaftarkan (cannot register): {exception_reason(exc)}"
            ) from exc
        try:
            info, schema = self._inspect(name, plugin, dist, module)
        except Exception as exc:
            self._pm.unregister(name=name)
            self._impls = {k: v for k, v in self._impls.items() if k[0] != name}
            if isinstance(exc, PluginLoadError):
                raise
            raise PluginLoadError(exception_reason(exc)) from exc
        self._infos[name] = info
        self._schemas[name] = schema
        return info

    def _inspect(
        self, name: str, plugin: object, dist: Distribution | None, module: str | None
    ) -> tuple[PluginInfo, ConfigSchema | None]:
        hooks: list[str] = []
        for caller in self._pm.get_hookcallers(plugin) or []:
            if caller.spec is None:
                raise PluginLoadError(f"hook tidak dikenal (unknown hook): {caller.name}")
            for impl in caller.get_hookimpls():
                if impl.plugin_name != name:
                    continue
                if impl.wrapper or impl.hookwrapper:
                    raise PluginLoadError(
                        f"{caller.name}: wrapper tidak didukung (hook wrappers are not supported)"
                    )
                self._impls[(name, caller.name)] = impl
                hooks.append(caller.name)
        dist_name, dist_version, dist_summary = _dist_metadata(dist)
        version, description = dist_version, dist_summary
        if (name, "rtbook_plugin_info") in self._impls:
            info = self.call_sync(name, "rtbook_plugin_info")
            if info is not None:
                declared = _text(info, "name")
                if declared is not None and declared != name:
                    raise PluginLoadError(
                        f"rtbook_plugin_info menyebut nama {declared!r}, entry point {name!r} "
                        "(name differs from the entry-point name)"
                    )
                version = _text(info, "version") or version
                description = _text(info, "description") or description
        schema = None
        if (name, "rtbook_config_schema") in self._impls:
            raw_schema = self.call_sync(name, "rtbook_config_schema")
            if raw_schema is not None:
                try:
                    schema = inspect_schema(raw_schema)
                except TypeError as exc:
                    raise PluginLoadError(f"rtbook_config_schema: {exc}") from exc
        info = PluginInfo(
            name=name,
            version=version or "0",
            description=description or "",
            has_schema=schema is not None,
            secret_fields=schema.secret_fields if schema else (),
            hooks=tuple(sorted(hooks)),
            module=module or getattr(plugin, "__name__", type(plugin).__name__),
            distribution=dist_name,
        )
        return info, schema

    # -- what is installed -----------------------------------------------------------

    def names(self) -> list[str]:
        """Installed (successfully loaded) plugins, sorted."""
        return sorted(self._infos)

    def __contains__(self, name: object) -> bool:
        return name in self._infos

    def info(self, name: str) -> PluginInfo:
        try:
            return self._infos[name]
        except KeyError:
            raise NotFound(self.not_installed_message(name)) from None

    def not_installed_message(self, name: str) -> str:
        if name in self.failures:
            return f"plugin {name} gagal dimuat (failed to load): {self.failures[name]}"
        return f"plugin {name} tidak terpasang (plugin not installed)"

    def implements(self, name: str, hook: str) -> bool:
        return (name, hook) in self._impls

    def plugin(self, name: str) -> object:
        self.info(name)
        return self._pm.get_plugin(name)

    # -- config ----------------------------------------------------------------------

    def schema(self, name: str) -> ConfigSchema | None:
        self.info(name)
        return self._schemas[name]

    def validate_config(self, name: str, raw: Any) -> dict[str, Any]:
        """The config ready to store, or ConfigRejected with [{"field", "message"}]."""
        return validate_config(name, self.schema(name), raw)

    def mask_config(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config as reads show it (secrets as ``***``)."""
        return mask_config(config, self.info(name).secret_fields)

    # -- calling hooks ---------------------------------------------------------------

    def _impl(self, name: str, hook: str, kwargs: Mapping[str, Any]) -> pluggy.HookImpl | None:
        if hook not in HOOK_NAMES:
            raise ValueError(f"unknown hook {hook!r}")
        if self._pm.get_plugin(name) is None:
            raise NotFound(self.not_installed_message(name))
        caller = getattr(self._pm.hook, hook)
        expected = set(caller.spec.argnames)
        if set(kwargs) != expected:
            raise TypeError(
                f"{hook} takes {sorted(expected)} as keyword arguments, got {sorted(kwargs)}"
            )
        return self._impls.get((name, hook))

    async def call(self, name: str, hook: str, /, **kwargs: Any) -> Any:
        """Call ``name``'s implementation of ``hook`` (None when it has none), awaiting
        an awaitable result. Exceptions propagate to the caller."""
        impl = self._impl(name, hook, kwargs)
        if impl is None:
            return None
        start = time.perf_counter() if self.trace else 0.0
        outcome = "error"
        try:
            result = impl.function(*[kwargs[arg] for arg in impl.argnames])
            if inspect.isawaitable(result):
                result = await result
            outcome = "ok"
            return result
        finally:
            if self.trace:
                self._trace(name, hook, kwargs, start, outcome)

    def call_sync(self, name: str, hook: str, /, **kwargs: Any) -> Any:
        """Like :meth:`call` for the hooks answered at start-up (info, schema, routes):
        an implementation that returns an awaitable is an error."""
        impl = self._impl(name, hook, kwargs)
        if impl is None:
            return None
        start = time.perf_counter() if self.trace else 0.0
        outcome = "error"
        try:
            result = impl.function(*[kwargs[arg] for arg in impl.argnames])
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError(f"{hook} of plugin {name} must not be async")
            outcome = "ok"
            return result
        finally:
            if self.trace:
                self._trace(name, hook, kwargs, start, outcome)

    def collect(
        self, hook: str, *, names: Iterable[str] | None = None, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Ask every plugin (or those in ``names``) that implements ``hook``: a list of
        (plugin, answer), None answers left out. A plugin that raises is logged with
        its traceback and left out; the others still answer."""
        answers: list[tuple[str, Any]] = []
        for name in self._targets(hook, names):
            try:
                result = self.call_sync(name, hook, **kwargs)
            except Exception:
                log.exception("plugin %s: %s gagal (failed)", name, hook)
                continue
            if result is not None:
                answers.append((name, result))
        return answers

    async def acollect(
        self, hook: str, *, names: Iterable[str] | None = None, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """:meth:`collect` for hooks that may be ``async def``."""
        answers: list[tuple[str, Any]] = []
        for name in self._targets(hook, names):
            try:
                result = await self.call(name, hook, **kwargs)
            except Exception:
                log.exception("plugin %s: %s gagal (failed)", name, hook)
                continue
            if result is not None:
                answers.append((name, result))
        return answers

    def _targets(self, hook: str, names: Iterable[str] | None) -> list[str]:
        wanted = self.names() if names is None else [n for n in names if n in self._infos]
        return [n for n in wanted if (n, hook) in self._impls]

    def _trace(
        self, name: str, hook: str, kwargs: Mapping[str, Any], start: float, outcome: str
    ) -> None:
        elapsed = (time.perf_counter() - start) * 1000
        city = kwargs.get("city")
        trace_log.info(
            "plugin=%s hook=%s city=%s ms=%.3f %s",
            name,
            hook,
            city if isinstance(city, str) else "-",
            elapsed,
            outcome,
        )

    # -- start-up helpers ------------------------------------------------------------

    def piccolo_apps(self) -> list[str]:
        """Every plugin's Piccolo app modules (``rtbook_piccolo_apps``)."""
        apps: list[str] = []
        for _, answer in self.collect("rtbook_piccolo_apps"):
            apps.extend(str(a) for a in answer)
        return apps

    def template_dirs(self) -> list[str]:
        dirs: list[str] = []
        for _, answer in self.collect("rtbook_template_dirs"):
            dirs.extend(str(d) for d in answer)
        return dirs

    def startup_problems(self, settings: StartupSettings) -> dict[str, list[str]]:
        """plugin -> problems from ``rtbook_startup_check`` (a check that raises is a
        problem too); plugins without problems are left out."""
        problems: dict[str, list[str]] = {}
        for name in self._targets("rtbook_startup_check", None):
            try:
                answer = self.call_sync(name, "rtbook_startup_check", settings=settings)
            except Exception as exc:
                answer = [f"pemeriksaan gagal (check failed): {exception_reason(exc)}"]
            lines = [one_line(p) for p in (answer or []) if str(p).strip()]
            if lines:
                problems[name] = lines
        return problems


def _enable_trace_output() -> None:
    """Make the trace visible: INFO on its logger, and a stderr handler when logging
    has not been configured by anyone (CLI, uvicorn)."""
    if trace_log.level == logging.NOTSET or trace_log.level > logging.INFO:
        trace_log.setLevel(logging.INFO)
    if not trace_log.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        trace_log.addHandler(handler)
