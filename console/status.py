"""`nixdeck status`: one snapshot of the fleet, as JSON or a plain table.

This is the scripting interface (cron, CI) and it must start fast, so it
prints plain text and imports no UI library.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from config.settings import Settings
from console.fleet import Fleet
from console.host import HostMonitor
from console.humanize import human_bytes
from console.model import HostState

# Two samples this far apart give a CPU figure without slowing the snapshot.
STATUS_SAMPLE_INTERVAL_S = 0.1
STATUS_SETTLE_MARGIN_S = 10.0


async def take_snapshot(settings: Settings) -> list[HostMonitor]:
    """Connect to every host at once and wait until each has answered or
    failed; the monitors then hold what was learnt."""
    fleet = Fleet(settings, sample_interval=STATUS_SAMPLE_INTERVAL_S, sample_count=2, follow_journal=False)
    async with fleet:
        await fleet.wait_settled(settings.ssh.connect_timeout + STATUS_SETTLE_MARGIN_S)
    return list(fleet.monitors.values())


def host_report(monitor: HostMonitor) -> dict[str, Any]:
    """A host as the JSON object `nixdeck status --json` prints."""
    status, facts, sample = monitor.status, monitor.facts, monitor.sample
    raw = sample.raw if sample else None
    return {
        "name": monitor.name,
        "state": status.state.value,
        "error": status.error,
        "fingerprint": status.fingerprint,
        "last_seen": monitor.last_seen,
        "tags": list(monitor.config.tags),
        "hostname": facts.hostname if facts else None,
        "os": facts.os_name if facts else None,
        "is_nixos": facts.is_nixos if facts else None,
        "nixos_version": facts.nixos_version if facts else None,
        "kernel": facts.kernel if facts else None,
        "current_generation": facts.current_generation if facts else None,
        "booted_generation": facts.booted_generation if facts else None,
        "reboot_pending": facts.reboot_pending if facts else None,
        "uptime_s": raw.uptime_s if raw else None,
        "load": list(raw.load) if raw else None,
        "cpu_percent": round(sample.cpu_percent, 1) if sample and sample.cpu_percent is not None else None,
        "mem_used_bytes": raw.mem.used if raw else None,
        "mem_total_bytes": raw.mem.total if raw else None,
        "swap_used_bytes": raw.mem.swap_used if raw else None,
        "swap_total_bytes": raw.mem.swap_total if raw else None,
        "disks": [{"mount": d.mount, "used": d.used, "total": d.total} for d in raw.disks] if raw else [],
        "battery_percent": sample.battery_percent if sample else None,
        "on_ac": sample.on_ac if sample else None,
        "failed_units": [unit.unit for unit in facts.failed_units] if facts else [],
        "problems": problems(monitor),
    }


def problems(monitor: HostMonitor) -> list[str]:
    """Commands that failed on a host that is reachable."""
    return [problem for problem in (monitor.facts_error, monitor.sampler_error) if problem]


def all_reached(monitors: Sequence[HostMonitor]) -> bool:
    return all(monitor.status.state == HostState.UP for monitor in monitors)


def render_json(monitors: Sequence[HostMonitor]) -> str:
    return json.dumps([host_report(monitor) for monitor in monitors], indent=2)


def render_table(monitors: Sequence[HostMonitor]) -> str:
    headers = ("HOST", "STATE", "CPU", "MEM", "LOAD", "DISK", "BAT", "NIXOS", "GEN", "FAILED")
    rows = [headers] + [_table_row(monitor) for monitor in monitors]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    for monitor in monitors:
        for problem in [monitor.status.error, *problems(monitor)]:
            if problem:
                lines.append(f"{monitor.name}: {problem}")
    return "\n".join(lines)


def _table_row(monitor: HostMonitor) -> tuple[str, ...]:
    facts, sample = monitor.facts, monitor.sample
    up = monitor.status.state == HostState.UP
    raw = sample.raw if sample else None
    fullest = sample.fullest_disk if sample else None
    generation = "-"
    if facts is not None and facts.current_generation is not None:
        generation = str(facts.current_generation)
        if facts.reboot_pending and facts.booted_generation is not None:
            generation += f" (booted {facts.booted_generation})"
    if facts is None:
        nixos = "-"
    else:
        nixos = facts.nixos_version or ("not NixOS" if not facts.is_nixos else "-")
    return (
        monitor.name,
        monitor.status.state.value,
        "-" if sample is None or sample.cpu_percent is None else f"{sample.cpu_percent:.0f}%",
        "-" if raw is None or not raw.mem.total else f"{raw.mem.percent:.0f}% of {human_bytes(raw.mem.total)}",
        "-" if raw is None else f"{raw.load[0]:.2f}",
        "-" if fullest is None or not fullest.total else f"{fullest.percent:.0f}% {fullest.mount}",
        "-" if sample is None or sample.battery_percent is None else f"{sample.battery_percent}%",
        nixos,
        generation,
        str(len(facts.failed_units)) if facts is not None else ("0" if up else "-"),
    )
