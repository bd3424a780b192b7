"""The whole fleet: one HostMonitor per configured host, run concurrently,
with one place for listeners to subscribe to what they report."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable, Sequence
from typing import Self

from config.settings import HostConfig, Settings
from console.aio import cancel_and_wait
from console.events import EngineEvent
from console.host import HostMonitor, Listener
from console.local import LocalTransport
from console.model import CommandResult
from console.transport import LineStream, Transport

log = logging.getLogger(__name__)


def make_transport(host: HostConfig, settings: Settings) -> Transport:
    return LocalTransport() if host.local else DeferredSshTransport(host, settings)


class DeferredSshTransport(Transport):
    """An SshTransport made on the first connect.

    asyncssh and the cryptography it loads take longer to import than all of
    Textual; importing them here, in a thread, on first use, lets the console
    draw its first frame without waiting for them.
    """

    def __init__(self, host: HostConfig, settings: Settings) -> None:
        self._host = host
        self._settings = settings
        self._transport: Transport | None = None

    async def _ssh(self) -> Transport:
        if self._transport is None:
            module = await asyncio.to_thread(importlib.import_module, "console.ssh")
            self._transport = module.SshTransport(self._host, self._settings.ssh)
        return self._transport

    async def connect(self) -> None:
        await (await self._ssh()).connect()

    async def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> CommandResult:
        return await (await self._ssh()).run(argv, timeout=timeout, input=input)

    async def stream(self, argv: Sequence[str]) -> LineStream:
        return await (await self._ssh()).stream(argv)

    async def wait_closed(self) -> str:
        return await (await self._ssh()).wait_closed()

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()


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
