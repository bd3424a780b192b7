"""A generation cleanup carried out on one host, after its preview was shown
and confirmed: delete the planned generations, collect garbage, refresh the
boot entries, and measure what was freed.

The boot entries are refreshed with the system profile's
`bin/switch-to-configuration boot`, not /run/current-system's: a boot default
set for the next boot (a pending upgrade) stays the default, and the boot
menu stops listing the deleted generations.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from console.changes import HostChange, detached_argv
from console.cleanup import (
    CleanupPlan,
    CleanupPolicy,
    FreedEstimate,
    estimate_freed,
    plan_cleanup,
)
from console.errors import NixdeckError
from console.generations import (
    PROFILE,
    SystemGeneration,
    list_generations,
    store_disk_available,
)
from console.humanize import human_bytes
from console.privilege import ElevatedTransport
from console.transport import Transport

DELETE_TIMEOUT = 300.0
GC_TIMEOUT = 3600.0
BOOT_TIMEOUT = 600.0

# nix-store --gc's last line: "1234 store paths deleted, 567.89 MiB freed".
_GC_SUMMARY = re.compile(r"(\d+) store paths? deleted, ([\d.]+) (B|KiB|MiB|GiB|TiB) freed")
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


class PlanChanged(NixdeckError):
    """The host's generations changed between the preview and the cleanup."""


@dataclass(frozen=True, slots=True)
class CleanupPreview:
    """What a cleanup would do to one host, before anything is touched."""

    host: str
    policy: CleanupPolicy
    generations: tuple[SystemGeneration, ...]
    plan: CleanupPlan
    estimate: FreedEstimate
    disk_available: int | None
    """Bytes free on the store's file system (None if df failed)."""


@dataclass(frozen=True, slots=True)
class CleanupResult:
    """What a cleanup did: the generations deleted, what GC reported freeing
    (None if its summary line was missing), the store's free space before and
    after, and the generations left."""

    host: str
    deleted: tuple[int, ...]
    gc_paths_deleted: int | None
    gc_bytes_freed: int | None
    available_before: int | None
    available_after: int | None
    generations: tuple[SystemGeneration, ...]

    @property
    def disk_freed(self) -> int | None:
        if self.available_before is None or self.available_after is None:
            return None
        return self.available_after - self.available_before


async def preview_cleanup(host: str, transport: Transport, policy: CleanupPolicy,
                          now: float | None = None) -> CleanupPreview:
    """The plan and the space it would free (read-only; the estimate needs
    root: pass an ElevatedTransport when the login is not root)."""
    generations = tuple(await list_generations(transport))
    plan = plan_cleanup(generations, policy, time.time() if now is None else now)
    estimate = await estimate_freed(transport, plan)
    return CleanupPreview(host, policy, generations, plan, estimate, await store_disk_available(transport))


def parse_gc_summary(output: str) -> tuple[int, int] | None:
    """(paths deleted, bytes freed) from `nix-store --gc`'s output, if it says."""
    found = _GC_SUMMARY.findall(output)
    if not found:
        return None
    paths, amount, unit = found[-1]
    return int(paths), round(float(amount) * _UNITS[unit])


def cleanup_detail(preview: CleanupPreview) -> str:
    """The audit record's detail; `console.recheck` reads it back."""
    numbers = " ".join(str(g.number) for g in preview.plan.delete) or "none"
    return f"delete generations {numbers}; collect garbage; refresh boot entries"


def delete_generations_argv(numbers: tuple[int, ...]) -> list[str]:
    return ["nix-env", "-p", PROFILE, "--delete-generations", *(str(n) for n in numbers)]


GC_ARGV = ["nix-store", "--gc"]
BOOT_REFRESH_ARGV = [f"{PROFILE}/bin/switch-to-configuration", "boot"]


async def run_cleanup(change: HostChange, preview: CleanupPreview) -> CleanupResult:
    """Carry out a confirmed preview. The generations are listed again first:
    if the current or booted one, or the set of generations, is no longer what
    the preview showed, nothing is deleted (PlanChanged)."""
    transport = ElevatedTransport(change.transport, change.elevation)
    now_listed = tuple(await list_generations(transport))
    replanned = plan_cleanup(now_listed, preview.policy, time.time())
    planned = tuple(g.number for g in preview.plan.delete)
    if tuple(g.number for g in replanned.delete) != planned or not set(planned) <= {g.number for g in now_listed}:
        raise PlanChanged("the host's generations changed since the preview: preview again")
    available_before = await store_disk_available(transport)
    if planned:
        await change.run("delete generations", delete_generations_argv(planned), timeout=DELETE_TIMEOUT)
    else:
        change.note("delete generations", "none to delete")
    collected = await change.run("collect garbage", GC_ARGV, timeout=GC_TIMEOUT)
    summary = parse_gc_summary(collected.stdout + collected.stderr)
    await change.run("refresh boot entries", detached_argv(BOOT_REFRESH_ARGV), timeout=BOOT_TIMEOUT)
    available_after = await store_disk_available(transport)
    left = tuple(await list_generations(transport))
    result = CleanupResult(
        change.host, planned, summary[0] if summary else None, summary[1] if summary else None,
        available_before, available_after, left,
    )
    change.note("done", describe_result(result))
    return result


def describe_result(result: CleanupResult) -> str:
    deleted = ", ".join(str(n) for n in result.deleted) or "none"
    freed = human_bytes(result.gc_bytes_freed) if result.gc_bytes_freed is not None else "an unreported amount"
    left = ", ".join(str(g.number) for g in result.generations)
    return f"deleted generations {deleted}; garbage collection freed {freed}; generations left: {left}"
