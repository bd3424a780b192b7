"""The one interface the engine uses to reach a host, local or over SSH.

Commands are always argument lists. A transport that needs a shell command
line (SSH) quotes them itself, so a host name or an argument can never be
read as shell syntax.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Self

from console.model import CommandResult, HostState

STDERR_TAIL_LINES = 20


class ConnectFailed(Exception):
    """A connection attempt failed; `state` says how the engine should show it."""

    def __init__(self, state: HostState, reason: str, fingerprint: str | None = None) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason
        self.fingerprint = fingerprint


class LineStream(ABC):
    """A long-running command whose stdout is read line by line.

    `batches()` gives the lines (without the newline) as they arrive, each
    batch a list of what came at once; when it ends the command has exited
    and `exit_status` and `stderr_tail` tell how. Batches, not single lines:
    a sampler frame is a hundred lines, a journal flood thousands a second,
    and a round through an async iterator per line was a cost of its own.
    Always `close()` it (it is an async context manager) so the remote process
    is stopped.
    """

    def __init__(self) -> None:
        self.exit_status: int | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    @abstractmethod
    def batches(self) -> AsyncIterator[list[str]]: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class Transport(ABC):
    """How to run commands on one host."""

    is_local: bool = False

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection; raises ConnectFailed."""

    @abstractmethod
    async def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> CommandResult:
        """Run a command to completion; raises CommandTimeout or TransportError."""

    @abstractmethod
    async def stream(self, argv: Sequence[str]) -> LineStream:
        """Start a long-running command; raises TransportError."""

    @abstractmethod
    async def wait_closed(self) -> str:
        """Return once the connection is gone, with the reason."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection and every channel on it."""


def command_line(argv: Sequence[str]) -> str:
    """One shell command line for an argument list, every argument quoted."""
    if not argv:
        raise ValueError("empty command")
    return shlex.join(argv)
