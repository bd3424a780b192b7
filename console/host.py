"""One host, watched live: its connection, facts, metrics and journal.

A HostMonitor keeps its host connected (reconnecting by itself with backoff),
runs one long-lived sampler stream, refreshes the facts now and then and
follows the journal, resuming from the last cursor after a drop. It reports
everything it learns as engine events; it never raises out of `run()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence

from config.settings import HostConfig, Settings
from console.aio import cancel_and_wait
from console.backoff import reconnect_delay
from console.errors import NixdeckError, ParseError, TransportError
from console.events import (
    EngineEvent,
    FactsUpdated,
    JournalAppended,
    JournalProblem,
    SampleTaken,
    StatusChanged,
)
from console.facts import facts_argv, parse_facts
from console.journal import (
    JournalBuffer,
    entry_argv,
    journal_argv,
    parse_entry,
    parse_entry_at,
)
from console.model import (
    CommandResult,
    Facts,
    HostState,
    HostStatus,
    JournalEntry,
    RawSample,
    Sample,
)
from console.sampler import FrameReader, compute_sample, sampler_argv
from console.transport import ConnectFailed, Transport

HISTORY_SAMPLES = 120
FACTS_TIMEOUT_S = 30.0
# A stream that failed is restarted after this long (the connection is fine,
# the command is not: retrying fast would only spin).
STREAM_RETRY_S = 5.0
# Journal entries are handed out in batches at most this often, so a flood of
# lines becomes a few events per second instead of thousands.
JOURNAL_FLUSH_S = 0.05
# Journal lines parsed between two chances for the event loop to run other work.
JOURNAL_YIELD_LINES = 64
# The gap between a host's first two samples, the first with a CPU figure:
# short, so that a host's figures show at once. A tenth of a second still
# spans ten clock ticks of every core, and the next sample spans a whole interval.
FIRST_SAMPLE_GAP_S = 0.1

Listener = Callable[[EngineEvent], None]


class HostMonitor:
    def __init__(
        self,
        config: HostConfig,
        settings: Settings,
        transport: Transport,
        emit: Listener,
        *,
        sample_interval: float | None = None,
        sample_count: int = 0,
        follow_journal: bool = True,
    ) -> None:
        self.config = config
        self.name = config.name
        self.transport = transport
        self._settings = settings
        self._emit = emit
        self._sample_interval = sample_interval or settings.refresh_interval
        self._sample_count = sample_count
        self._follow_journal = follow_journal

        self.status = HostStatus(HostState.CONNECTING, since=time.time())
        self.facts: Facts | None = None
        self.facts_error: str | None = None
        self.history: deque[Sample] = deque(maxlen=HISTORY_SAMPLES)
        self.sampler_error: str | None = None
        self.journal = JournalBuffer(settings.journal_buffer)
        self.journal_error: str | None = None
        self.journal_units: tuple[str, ...] = ()
        self.journal_priority: str | None = None
        self.last_seen: float | None = None
        """When the host last answered anything (epoch seconds)."""

        self._journal_restart = asyncio.Event()
        self.settled = asyncio.Event()
        """Set once the host has shown what it is: facts and a full sample, or a failure."""

    # --- lifecycle -------------------------------------------------------------

    async def run(self) -> None:
        """Keep the host connected and watched until cancelled."""
        attempt = 0
        try:
            while True:
                try:
                    await self.transport.connect()
                except ConnectFailed as failure:
                    delay = reconnect_delay(attempt, self._settings.ssh.reconnect_max)
                    attempt += 1
                    self._set_status(
                        failure.state,
                        error=failure.reason,
                        fingerprint=failure.fingerprint,
                        next_attempt=time.time() + delay,
                    )
                    self.settled.set()
                    await asyncio.sleep(delay)
                    continue
                attempt = 0
                self._mark_seen()
                self._set_status(HostState.UP)
                reason = await self._watch_while_connected()
                delay = reconnect_delay(0, self._settings.ssh.reconnect_max)
                error = reason if "connection" in reason.lower() else f"connection lost: {reason}"
                self._set_status(HostState.DOWN, error=error, next_attempt=time.time() + delay)
                await asyncio.sleep(delay)
        finally:
            with contextlib.suppress(Exception):
                await self.transport.close()

    async def _watch_while_connected(self) -> str:
        workers = [asyncio.create_task(self._facts_loop(), name=f"{self.name}:facts")]
        workers.append(asyncio.create_task(self._sample_loop(), name=f"{self.name}:samples"))
        if self._follow_journal:
            workers.append(asyncio.create_task(self._journal_loop(), name=f"{self.name}:journal"))
        try:
            return await self.transport.wait_closed()
        finally:
            await cancel_and_wait(workers)

    # --- facts -------------------------------------------------------------------

    async def _facts_loop(self) -> None:
        while True:
            await self.refresh_facts()
            delay = self._settings.facts_interval if self.facts_error is None else STREAM_RETRY_S
            await asyncio.sleep(delay)

    async def refresh_facts(self) -> None:
        """Fetch the facts now (also used after an operation changed the host)."""
        try:
            result = await self.transport.run(facts_argv(), timeout=FACTS_TIMEOUT_S)
            self._mark_seen()
            facts = parse_facts(result.stdout)
        except (TransportError, ParseError) as exc:
            self.facts_error = str(exc)
            self._check_settled()
            return
        self.facts = facts
        self.facts_error = None
        self._emit(FactsUpdated(self.name, facts))
        self._check_settled()

    # --- metrics -----------------------------------------------------------------

    async def _sample_loop(self) -> None:
        if self.transport.is_local:
            await self._sample_locally()
            return
        while True:
            try:
                finished = await self._sample_remotely()
            except TransportError as exc:
                self.sampler_error = str(exc)
                finished = False
            self._check_settled()
            if finished:
                return
            await asyncio.sleep(STREAM_RETRY_S)

    async def _sample_remotely(self) -> bool:
        """Read the sampler stream until it ends; True if it ended as asked."""
        reader = FrameReader()
        previous: RawSample | None = None
        argv = sampler_argv(self._sample_interval, self._sample_count, first_gap=self._first_gap)
        async with await self.transport.stream(argv) as lines:
            async for batch in lines.batches():
                self._mark_seen()
                for line in batch:
                    raw = reader.feed(line)
                    if raw is not None:
                        self._record_sample(compute_sample(previous, raw, time.time()))
                        previous = raw
            if self._sample_count and lines.exit_status == 0:
                return True
            self.sampler_error = f"sampler exited with status {lines.exit_status}: {lines.stderr_tail or 'no message'}"
            return False

    async def _sample_locally(self) -> None:
        from console.localsampler import (
            read_local_sample,  # psutil only when a local host is watched
        )

        previous: RawSample | None = None
        taken = 0
        while not self._sample_count or taken < self._sample_count:
            started = time.monotonic()
            try:
                raw = await asyncio.to_thread(read_local_sample)
            except OSError as exc:
                self.sampler_error = f"cannot read local metrics: {exc}"
                self._check_settled()
            else:
                self._mark_seen()
                self._record_sample(compute_sample(previous, raw, time.time()))
                previous = raw
            taken += 1
            gap = self._first_gap if taken == 1 else self._sample_interval
            await asyncio.sleep(max(0.0, gap - (time.monotonic() - started)))

    @property
    def _first_gap(self) -> float:
        """CPU % and rates need two samples: the second comes soon, not a whole interval later."""
        return min(FIRST_SAMPLE_GAP_S, self._sample_interval)

    @property
    def sample(self) -> Sample | None:
        """The newest sample."""
        return self.history[-1] if self.history else None

    def _record_sample(self, sample: Sample) -> None:
        self.sampler_error = None
        self.history.append(sample)
        self._emit(SampleTaken(self.name, sample))
        self._check_settled()

    # --- journal -----------------------------------------------------------------

    def follow_journal(self, units: Sequence[str] = (), priority: str | None = None) -> None:
        """Change what the journal stream shows; the buffer starts afresh."""
        self.journal_units = tuple(units)
        self.journal_priority = priority
        self.journal.clear()
        self._journal_restart.set()

    async def read_journal(self, *, boot: str, lines: int, timeout: float = 30.0) -> list[JournalEntry]:
        """The last `lines` entries of one boot (journalctl's -b: `-1` is the
        boot before the current one), read once, not followed. An empty list
        when the journal holds no such boot; NixdeckError when journalctl
        fails otherwise, TransportError when the host cannot be reached."""
        result = await self.transport.run(journal_argv(follow=False, boot=boot, lines=lines), timeout=timeout)
        self._mark_seen()
        if not result.ok:
            # Older systemd says the first, newer the second.
            if any(words in result.stderr for words in ("No such boot ID", "No journal boot entry found")):
                return []
            raise _journalctl_failed(result)
        entries = []
        for line in result.stdout.splitlines():
            try:
                entries.append(parse_entry(line))
            except ParseError:
                continue  # one unreadable line must not hide the others
        return entries

    async def read_entry(self, cursor: str, *, timeout: float = 30.0) -> JournalEntry:
        """The journal entry at `cursor` with every field (the live stream
        carries only STREAM_FIELDS). NixdeckError when journalctl fails or no
        longer holds it, TransportError when the host cannot be reached."""
        result = await self.transport.run(entry_argv(cursor), timeout=timeout)
        self._mark_seen()
        if not result.ok:
            raise _journalctl_failed(result)
        return parse_entry_at(result.stdout, cursor)

    async def _journal_loop(self) -> None:
        attempt = 0
        while True:
            self._journal_restart.clear()
            follow = asyncio.create_task(self._follow_journal_stream())
            restart = asyncio.create_task(self._journal_restart.wait())
            try:
                await asyncio.wait([follow, restart], return_when=asyncio.FIRST_COMPLETED)
            finally:
                await cancel_and_wait([follow, restart])
            if self._journal_restart.is_set():
                attempt = 0
                continue
            problem = follow.exception() if not follow.cancelled() else None
            error = str(problem) if problem else follow.result()
            if error != self.journal_error:
                self.journal_error = error
                self._emit(JournalProblem(self.name, error))
            await asyncio.sleep(max(STREAM_RETRY_S, reconnect_delay(attempt, self._settings.ssh.reconnect_max)))
            attempt += 1

    async def _follow_journal_stream(self) -> str:
        """Follow the journal until journalctl ends; returns why it ended."""
        argv = journal_argv(
            after_cursor=self.journal.last_cursor,
            lines=self._settings.journal_backlog,
            units=self.journal_units,
            priority=self.journal_priority,
        )
        pending: list[JournalEntry] = []
        loop = asyncio.get_running_loop()
        flush_handle: asyncio.TimerHandle | None = None

        def flush() -> None:
            nonlocal flush_handle
            flush_handle = None
            if pending:
                fresh = self.journal.extend(pending)
                pending.clear()
                if fresh:
                    self._emit(JournalAppended(self.name, tuple(fresh)))

        try:
            async with await self.transport.stream(argv) as lines:
                parsed = 0
                async for batch in lines.batches():
                    self._mark_seen()
                    for line in batch:
                        parsed += 1
                        if parsed % JOURNAL_YIELD_LINES == 0:
                            # A stream read hands over a whole chunk of lines
                            # at once; in a flood, parsing it in one go would
                            # hold the event loop (and the UI's key presses)
                            # for tens of milliseconds.
                            await asyncio.sleep(0)
                        try:
                            pending.append(parse_entry(line))
                        except ParseError:
                            continue  # one unreadable line must not stop the stream
                        if self.journal_error is not None:
                            self.journal_error = None
                            self._emit(JournalProblem(self.name, None))
                        if flush_handle is None:
                            flush_handle = loop.call_later(JOURNAL_FLUSH_S, flush)
                return f"journalctl exited with status {lines.exit_status}: {lines.stderr_tail or 'no message'}"
        finally:
            if flush_handle is not None:
                flush_handle.cancel()
            flush()

    # --- state -------------------------------------------------------------------

    def _mark_seen(self) -> None:
        self.last_seen = time.time()

    def _set_status(
        self,
        state: HostState,
        *,
        error: str | None = None,
        fingerprint: str | None = None,
        next_attempt: float | None = None,
    ) -> None:
        current = self.status
        since = current.since if current.state == state else time.time()
        status = HostStatus(
            state=state,
            since=since,
            error=error,
            last_seen=self.last_seen,
            fingerprint=fingerprint,
            next_attempt=next_attempt,
        )
        if status != current:
            self.status = status
            self._emit(StatusChanged(self.name, status))

    def _check_settled(self) -> None:
        has_facts = self.facts is not None or self.facts_error is not None
        has_sample = (self.sample is not None and self.sample.cpu_percent is not None) or self.sampler_error is not None
        if has_facts and has_sample:
            self.settled.set()


def _journalctl_failed(result: CommandResult) -> NixdeckError:
    return NixdeckError(f"journalctl exited with status {result.exit_status}: {result.stderr.strip() or 'no message'}")
