"""A flood of journal entries on a test host, at a steady rate.

`Journal.append` starts one systemd-journal-remote per call, which is right
for a few entries but cannot reach thousands a second. A flood keeps ONE
`systemd-journal-remote -o FILE -` running and feeds it export-format entries
in batches, so a host's journal grows the way a chatty service makes it grow.

journal-remote does not buffer: it appends each entry to the file as soon as
it has read the entry's closing blank line, and tells readers at once, so a
`journalctl -f` inside the host prints an entry within milliseconds of its
batch being written and a plain `journalctl` run after a batch counts every
entry of it (tests/test_flood.py checks the latter).
"""

from __future__ import annotations

import fcntl
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import IO, Self

from .journal import JOURNAL_REMOTE, Journal, JournalSource, export_entry

# A batch every 50 ms, or one entry at a time when they are further apart.
BATCH_INTERVAL_S = 0.05

# Access-log lines of a busy web backend: mostly info, a warning now and then.
_PATHS = ("/api/items", "/api/users", "/healthz", "/static/app.js", "/api/search")
_WARNING_EVERY = 50


class JournalFlood:
    """Appends entries to one host's journal at `rate` a second until stop(),
    or until `total` entries are written.

    Each entry is stamped with its own place in the schedule (start + n/rate),
    and every batch writes what the schedule says is due by then, so a late
    batch is caught up by the next one and the rate stays steady.

    The journal file has one writer at a time: the flood holds the host's
    journal lock from start() to stop(), so `TestHost.log()` on that host
    waits until the flood stops (calling it from the thread that stops the
    flood, while the flood runs, would never return).
    """

    def __init__(
        self, journal: Journal, source: JournalSource, rate: float, *, total: int | None = None,
        unit: str = "flood.service", identifier: str = "flood",
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self.total = total
        self._interval = max(BATCH_INTERVAL_S, 1 / rate)
        self.written = 0
        self._journal = journal
        self._source = source
        self._unit = unit
        self._identifier = identifier
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None
        self._started = 0.0
        self._finished: float | None = None
        self._error: Exception | None = None

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("a flood starts once")
        self._journal.path.parent.mkdir(parents=True, exist_ok=True)
        # The lock file Journal.append takes (same package, same convention).
        self._lock = self._journal._lock_path.open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._writer = subprocess.Popen(
                [JOURNAL_REMOTE, "-o", str(self._journal.path), "-"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        except OSError:
            self._lock.close()
            self._lock = None
            raise
        self._started = time.time()
        self._thread = threading.Thread(target=self._feed, name="journal-flood", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until a flood with a `total` has written it all; True if it has."""
        if self._thread is None:
            raise RuntimeError("the flood was not started")
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stop feeding, let journal-remote finish the file, release the lock.
        Raises if journal-remote failed. Idempotent."""
        if self._thread is None or self._lock is None:
            return
        self._stopping.set()
        self._thread.join()
        assert self._writer is not None and self._writer.stdin is not None and self._writer.stderr is not None
        try:
            self._writer.stdin.close()
        except BrokenPipeError:
            pass  # journal-remote died; its exit status and stderr say why
        returncode = self._writer.wait(timeout=30)
        stderr = self._writer.stderr.read().decode(errors="replace")
        self._lock.close()  # releases the flock
        self._lock = None
        if returncode != 0 or self._error is not None:
            raise RuntimeError(f"journal flood failed ({self._error or f'exit status {returncode}'}): {stderr[-2000:]}")

    @property
    def achieved_rate(self) -> float:
        """Entries written per second so far (up to the end, once finished)."""
        end = self._finished if self._finished is not None else time.time()
        return self.written / max(end - self._started, 1e-9)

    def __enter__(self) -> Self:
        # `with host.flood(rate) as flood:` enters a flood already started.
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _feed(self) -> None:
        assert self._writer is not None and self._writer.stdin is not None
        try:
            while not self._stopping.is_set():
                due = int((time.time() - self._started) * self.rate)
                if self.total is not None:
                    due = min(due, self.total)
                if due > self.written:
                    batch = b"".join(export_entry(entry) for entry in self._entries(self.written, due))
                    self._writer.stdin.write(batch)
                    self._writer.stdin.flush()
                    self.written = due
                if self.total is not None and self.written >= self.total:
                    break
                self._stopping.wait(self._interval)
        except Exception as exc:  # noqa: BLE001 - stop() reports it, in the caller's thread
            self._error = exc
        finally:
            self._finished = time.time()

    def _entries(self, first: int, end: int) -> Iterator[dict[str, str | bytes]]:
        for n in range(first, end):
            warning = n % _WARNING_EVERY == _WARNING_EVERY - 1
            path = _PATHS[n % len(_PATHS)]
            message = (f"{path}/{n} took {n % 900 + 100} ms, slower than 500 ms" if warning
                       else f"GET {path}/{n} 200 {n % 40 + 2} ms")
            yield self._source.entry(
                self._started + n / self.rate, message, priority=4 if warning else 6,
                identifier=self._identifier, unit=self._unit, pid=4343,
            )
