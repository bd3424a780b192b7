"""The fleet table: one row per host, updated cell by cell."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import DataTable

from console.host import HostMonitor
from console.humanize import human_bytes
from console.model import HostState

COLUMNS = (
    ("host", "Host"),
    ("state", "State"),
    ("cpu", "CPU"),
    ("mem", "Mem"),
    ("load", "Load"),
    ("disk", "Disk"),
    ("battery", "Bat"),
    ("nixos", "NixOS"),
    ("generation", "Gen"),
    ("failed", "Failed"),
)

STATE_STYLES = {
    HostState.UP: "bold green",
    HostState.CONNECTING: "yellow",
    HostState.DOWN: "bold red",
    HostState.AUTH_FAILED: "bold red",
    HostState.HOST_KEY_UNKNOWN: "bold magenta",
    HostState.HOST_KEY_CHANGED: "bold white on red",
}


class FleetTable(DataTable[Text]):
    """Rows are keyed by host name; only cells whose text changed are redrawn."""

    DEFAULT_CSS = """
    FleetTable { height: 1fr; }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show_host(self, monitor: HostMonitor) -> None:
        cells = host_cells(monitor)
        if monitor.name not in self.rows:
            self.add_row(*(cells[key] for key, _ in COLUMNS), key=monitor.name)
            return
        for key, _ in COLUMNS:
            if self.get_cell(monitor.name, key) != cells[key]:
                self.update_cell(monitor.name, key, cells[key], update_width=True)


def host_cells(monitor: HostMonitor) -> dict[str, Text]:
    """The text of each column for one host. Metrics of a host that is not up
    are not shown: they would be stale."""
    status, facts = monitor.status, monitor.facts
    sample = monitor.sample if status.state == HostState.UP else None
    cells = {key: Text("-") for key, _ in COLUMNS}
    cells["host"] = Text(monitor.name, style="bold")
    cells["state"] = Text(state_text(monitor), style=STATE_STYLES[status.state])
    if sample is not None:
        raw = sample.raw
        if sample.cpu_percent is not None:
            cells["cpu"] = Text(f"{sample.cpu_percent:3.0f}%")
        if raw.mem.total:
            cells["mem"] = Text(f"{raw.mem.percent:3.0f}% {human_bytes(raw.mem.total)}")
        cells["load"] = Text(f"{raw.load[0]:.2f}")
        fullest = sample.fullest_disk
        if fullest is not None:
            cells["disk"] = Text(f"{fullest.percent:3.0f}% {fullest.mount}", style="bold red" if fullest.percent >= 90 else "")
        if sample.battery_percent is not None:
            low = sample.battery_percent <= 15 and not sample.on_ac
            charging = "+" if sample.on_ac else ""
            cells["battery"] = Text(f"{sample.battery_percent}%{charging}", style="bold red" if low else "")
    if facts is not None:
        cells["nixos"] = Text(facts.nixos_version or ("?" if facts.is_nixos else "not NixOS"))
        generation = "-" if facts.current_generation is None else str(facts.current_generation)
        if facts.reboot_pending:
            cells["generation"] = Text(f"{generation} reboot pending", style="bold yellow")
        else:
            cells["generation"] = Text(generation)
        failed = len(facts.failed_units)
        cells["failed"] = Text(str(failed), style="bold red" if failed else "green")
    return cells


def state_text(monitor: HostMonitor) -> str:
    status = monitor.status
    if status.state == HostState.UP:
        return "up"
    if status.state == HostState.CONNECTING:
        return "connecting…"
    if status.state in (HostState.HOST_KEY_CHANGED, HostState.HOST_KEY_UNKNOWN):
        label = "KEY CHANGED" if status.state == HostState.HOST_KEY_CHANGED else "unknown key"
        return f"{label} {status.fingerprint}" if status.fingerprint else label
    text = f"{status.state.value}: {status.error}" if status.error else status.state.value
    if status.last_seen is not None:
        text += f" (seen {int(time.time() - status.last_seen)} s ago)"
    return text
