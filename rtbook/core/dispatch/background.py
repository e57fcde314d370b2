"""The worker on a thread of its own, beside a server in the same process (``rtbook
demo``): its own event loop, its own database pool, stopped with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from rtbook.core.db import make_database
from rtbook.core.dispatch.leases import WorkerBusy
from rtbook.core.dispatch.options import WorkerOptions
from rtbook.core.dispatch.worker import WorkerStats, run_worker
from rtbook.core.settings import DatabaseURL

log = logging.getLogger("rtbook.worker")


class BackgroundWorker:
    """``start()`` runs ``run_worker`` (not ``once``) on a daemon thread; ``stop()``
    asks it to finish the events in flight, give its leases back, and waits."""

    def __init__(self, url: DatabaseURL, options: WorkerOptions | None = None) -> None:
        self.url = url
        self.options = options
        self.stats: WorkerStats | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name="rtbook-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()  # seen by _run if its loop is not up yet
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop has just finished
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except WorkerBusy as exc:
            self.error = exc
            log.warning("worker tidak dijalankan (worker not started): %s", exc)
        except BaseException as exc:
            self.error = exc
            log.exception("worker berhenti karena galat (worker stopped on an error)")
        finally:
            self._ready.set()

    async def _run(self) -> None:
        from rtbook.core.plugins.registry import PluginRegistry

        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self._stopping.is_set():
            return
        registry = PluginRegistry.load()
        db = make_database(self.url)
        await db.open()
        try:
            self._ready.set()
            self.stats = await run_worker(
                db, registry, once=False, stop=self._stop, options=self.options
            )
        finally:
            await db.close()
