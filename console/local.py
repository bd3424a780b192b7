"""The transport for the machine nixdeck runs on: plain local processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Sequence

from console.errors import CommandTimeout, TransportError
from console.model import CommandResult
from console.transport import LineStream, Transport

# journalctl -o json lines can be long; asyncio's default limit (64 KiB) is
# too small for an entry printed with --all.
LINE_LIMIT = 4 * 1024 * 1024


class LocalTransport(Transport):
    is_local = True

    def __init__(self) -> None:
        self._closed = asyncio.Event()
        self._streams: set[LocalLineStream] = set()

    async def connect(self) -> None:
        self._closed.clear()

    async def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> CommandResult:
        process = await _spawn(argv, stdin=input is not None)
        try:
            async with asyncio.timeout(timeout):
                stdout, stderr = await process.communicate(input.encode() if input is not None else None)
        except TimeoutError:
            _kill(process)
            await process.wait()
            raise CommandTimeout(f"{argv[0]} did not finish within {timeout:g} s") from None
        return CommandResult(
            argv=tuple(argv),
            exit_status=process.returncode,
            stdout=stdout.decode("utf-8", "replace"),
            stderr=stderr.decode("utf-8", "replace"),
        )

    async def stream(self, argv: Sequence[str]) -> LineStream:
        process = await _spawn(argv, stdin=False)
        line_stream = LocalLineStream(process, self._streams)
        self._streams.add(line_stream)
        return line_stream

    async def wait_closed(self) -> str:
        await self._closed.wait()
        return "closed"

    async def close(self) -> None:
        for line_stream in list(self._streams):
            await line_stream.close()
        self._closed.set()


class LocalLineStream(LineStream):
    def __init__(self, process: asyncio.subprocess.Process, registry: set[LocalLineStream]) -> None:
        super().__init__()
        self._process = process
        self._registry = registry
        self._stderr_task = asyncio.create_task(self._collect_stderr())

    async def _collect_stderr(self) -> None:
        assert self._process.stderr is not None
        async for raw in self._process.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))

    async def batches(self) -> AsyncIterator[list[str]]:
        # Line by line: only this machine's own journal is read here, and
        # readline's LINE_LIMIT keeps a runaway line from filling memory.
        assert self._process.stdout is not None
        while True:
            try:
                raw = await self._process.stdout.readline()
            except ValueError:
                # A line over LINE_LIMIT: skip what was buffered rather than die.
                continue
            if not raw:
                break
            yield [raw.decode("utf-8", "replace").rstrip("\n")]
        self.exit_status = await self._process.wait()
        # gather, not a suppressed await: suppressing CancelledError here
        # would also swallow a cancellation of the task that awaits.
        await asyncio.gather(self._stderr_task, return_exceptions=True)

    async def close(self) -> None:
        self._registry.discard(self)
        if self._process.returncode is None:
            _kill(self._process)
            await self._process.wait()
        self._stderr_task.cancel()
        # gather, not a suppressed await: suppressing CancelledError here
        # would also swallow a cancellation of the task that awaits.
        await asyncio.gather(self._stderr_task, return_exceptions=True)


async def _spawn(argv: Sequence[str], *, stdin: bool) -> asyncio.subprocess.Process:
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
            start_new_session=True,
        )
    except OSError as exc:
        raise TransportError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None


def _kill(process: asyncio.subprocess.Process) -> None:
    # The command leads its own session, so this also stops what a `sh -c`
    # script started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
