"""What an operation cut off by a lost connection really did, checked once
the host is back and recorded in the audit log.

An operation whose connection dropped is recorded with the outcome
"unknown": its commands may or may not have run. Its audit detail says what
it set out to do (written by `RollbackPreview.detail` and
`cleanup_detail`); this module reads that back and looks at the host: is the
target generation the boot default (and running, for a switch); are the
generations to delete gone.
"""

from __future__ import annotations

import re

from console.audit import AuditLog, Outcome
from console.generations import SystemGeneration, list_generations
from console.transport import Transport

_ROLLBACK = re.compile(r"^to generation (\d+) \((switch|boot)\) from (\d+)$")
_CLEANUP = re.compile(r"^delete generations ((?:\d+ )*\d+|none);")


def parse_rollback_detail(detail: str) -> tuple[int, str] | None:
    """(target generation, "switch" or "boot") from a rollback's detail."""
    match = _ROLLBACK.match(detail)
    return (int(match.group(1)), match.group(2)) if match else None


def parse_cleanup_detail(detail: str) -> tuple[int, ...] | None:
    """The generations a cleanup set out to delete, from its detail."""
    match = _CLEANUP.match(detail)
    if not match:
        return None
    return () if match.group(1) == "none" else tuple(int(n) for n in match.group(1).split())


CHECKED = "checked when the host was back: "


def check_rollback(target: int, mode: str, current: SystemGeneration | None) -> tuple[str, Outcome]:
    if current is not None and current.number == target and (mode == "boot" or current.running):
        running = " and running" if mode == "switch" else ""
        return f"{CHECKED}generation {target} is the boot default{running}", Outcome.SUCCEEDED
    found = current.number if current is not None else "none"
    return f"{CHECKED}the boot default is generation {found}, not {target}", Outcome.FAILED


def check_cleanup(doomed: tuple[int, ...], numbers: set[int]) -> tuple[str, Outcome]:
    left = sorted(numbers & set(doomed))
    if left:
        return f"{CHECKED}generations {' '.join(map(str, left))} are still there", Outcome.FAILED
    return f"{CHECKED}generations {' '.join(map(str, doomed)) or 'none'} are gone", Outcome.SUCCEEDED


async def resolve_unknown(audit: AuditLog, host: str, transport: Transport) -> int:
    """Check each of the host's unresolved "unknown" operations and record
    what was found; returns how many were resolved."""
    entries = audit.unresolved(host)
    if not entries:
        return 0
    generations = await list_generations(transport)
    current = next((g for g in generations if g.current), None)
    resolved = 0
    for entry in entries:
        rollback = parse_rollback_detail(entry.detail) if entry.operation == "rollback" else None
        doomed = parse_cleanup_detail(entry.detail) if entry.operation == "cleanup" else None
        if rollback is not None:
            finding = check_rollback(*rollback, current)
        elif doomed is not None:
            finding = check_cleanup(doomed, {g.number for g in generations})
        else:
            continue
        if audit.resolve(entry.id, *finding):
            resolved += 1
    return resolved
