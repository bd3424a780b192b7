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
from console.model import HostState

# Two samples this far apart give a CPU figure without slowing the snapshot.
STATUS_SAMPLE_INTERVAL_S = 0.1
STATUS_SETTLE_MARGIN_S = 10.0


async def take_snapshot(settings: Settings) -> list[dict[str, Any]]:
    """Connect to every host at once, wait until each has answered or failed,
    and describe each one."""
    fleet = Fleet(settings, sample_interval=STATUS_SAMPLE_INTERVAL_S, sample_count=2, follow_journal=False)
    async with fleet:
        await fleet.wait_settled(settings.ssh.connect_timeout + STATUS_SETTLE_MARGIN_S)
        return [host_report(monitor) for monitor in fleet.monitors.values()]


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
        "problems": [p for p in (monitor.facts_error, monitor.sampler_error) if p],
    }


def all_reached(reports: Sequence[dict[str, Any]]) -> bool:
    return all(report["state"] == HostState.UP.value for report in reports)


def render_json(reports: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(reports), indent=2)


def render_table(reports: Sequence[dict[str, Any]]) -> str:
    headers = ("HOST", "STATE", "CPU", "MEM", "LOAD", "DISK", "BAT", "NIXOS", "GEN", "FAILED")
    rows = [headers] + [_table_row(report) for report in reports]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    for report in reports:
        if report["error"]:
            lines.append(f"{report['name']}: {report['error']}")
        for problem in report["problems"]:
            lines.append(f"{report['name']}: {problem}")
    return "\n".join(lines)


def _table_row(report: dict[str, Any]) -> tuple[str, ...]:
    cpu = report["cpu_percent"]
    mem_used, mem_total = report["mem_used_bytes"], report["mem_total_bytes"]
    disks = report["disks"]
    fullest = max(disks, key=lambda d: d["used"] / d["total"] if d["total"] else 0, default=None)
    generation = report["current_generation"]
    if generation is not None and report["booted_generation"] not in (None, generation):
        generation_text = f"{generation} (booted {report['booted_generation']})"
    else:
        generation_text = "-" if generation is None else str(generation)
    return (
        report["name"],
        report["state"],
        "-" if cpu is None else f"{cpu:.0f}%",
        "-" if not mem_total else f"{100 * mem_used / mem_total:.0f}% of {human_bytes(mem_total)}",
        "-" if report["load"] is None else f"{report['load'][0]:.2f}",
        "-" if fullest is None or not fullest["total"] else f"{100 * fullest['used'] / fullest['total']:.0f}% {fullest['mount']}",
        "-" if report["battery_percent"] is None else f"{report['battery_percent']}%",
        report["nixos_version"] or ("not NixOS" if report["is_nixos"] is False else "-"),
        generation_text,
        str(len(report["failed_units"])) if report["failed_units"] else "0" if report["state"] == "up" else "-",
    )


def human_bytes(count: float) -> str:
    if abs(count) < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        count /= 1024
        if abs(count) < 1024 or unit == "TiB":
            break
    return f"{count:.1f} {unit}"
