"""asyncio helpers the engine needs in more than one place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

# How long to wait before cancelling again a task that has not finished.
RECANCEL_S = 0.2


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object]]) -> None:
    """Cancel tasks and return once every one has finished.

    A cancellation can be lost: on Python 3.11, asyncio.wait_for (used inside
    asyncssh) returns the inner result when it completes in the same loop
    iteration as the cancel, and the task runs on. So a task that is still
    running after a short wait is cancelled again.
    """
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_S)
    # A task that failed before it was cancelled (a stream cut by the same
    # disconnect) has an exception no one will read now; reading it here
    # keeps asyncio from logging it as "never retrieved".
    for task in tasks:
        if not task.cancelled():
            task.exception()
