"""The whole fleet: one HostMonitor per configured host, run concurrently,
with one place for listeners to subscribe to what they report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Self

from config.settings import HostConfig, Settings
from console.aio import cancel_and_wait
from console.events import EngineEvent
from console.host import HostMonitor, Listener
from console.local import LocalTransport
from console.ssh import SshTransport
from console.transport import Transport

log = logging.getLogger(__name__)


def make_transport(host: HostConfig, settings: Settings) -> Transport:
    return LocalTransport() if host.local else SshTransport(host, settings.ssh)


class Fleet:
    def __init__(
        self,
        settings: Settings,
        *,
        sample_interval: float | None = None,
        sample_count: int = 0,
        follow_journal: bool = True,
    ) -> None:
        self._listeners: list[Listener] = []
        self.monitors: dict[str, HostMonitor] = {
            host.name: HostMonitor(
                host,
                settings,
                make_transport(host, settings),
                self._dispatch,
                sample_interval=sample_interval,
                sample_count=sample_count,
                follow_journal=follow_journal,
            )
            for host in settings.fleet
        }
        self._tasks: list[asyncio.Task[None]] = []

    def __getitem__(self, name: str) -> HostMonitor:
        return self.monitors[name]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every engine event; returns the unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _dispatch(self, event: EngineEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # A broken listener must not stop the engine or the others.
                log.exception("listener %r failed on %r", listener, event)

    def start(self) -> None:
        """Start watching every host (in the running event loop)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(monitor.run(), name=f"host:{name}") for name, monitor in self.monitors.items()
            ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)

    async def wait_settled(self, timeout: float) -> None:
        """Wait until every host has shown its facts and a full sample, or failed."""
        waits = [monitor.settled.wait() for monitor in self.monitors.values()]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*waits)

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
