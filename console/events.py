"""What the engine tells its listeners. One class per kind of news.

Listeners are plain callables; the Textual app wraps these in messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.model import Facts, HostStatus, JournalEntry, Sample


@dataclass(frozen=True, slots=True)
class StatusChanged:
    host: str
    status: HostStatus


@dataclass(frozen=True, slots=True)
class FactsUpdated:
    host: str
    facts: Facts


@dataclass(frozen=True, slots=True)
class SampleTaken:
    host: str
    sample: Sample


@dataclass(frozen=True, slots=True)
class JournalAppended:
    host: str
    entries: tuple[JournalEntry, ...]


@dataclass(frozen=True, slots=True)
class JournalProblem:
    """The journal stream of a host failed or recovered (`error` None)."""

    host: str
    error: str | None


EngineEvent = StatusChanged | FactsUpdated | SampleTaken | JournalAppended | JournalProblem
