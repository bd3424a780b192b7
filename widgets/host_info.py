"""A host's facts and metrics as text panels, drawn to the width they get.

Both read a HostMonitor when told to (`show`) and keep the text until the
next call; history graphs take whatever width the panel has.
"""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from console.host import HostMonitor
from console.humanize import human_bytes
from console.model import Sample
from console.overview import (
    Severity,
    age_text,
    host_alerts,
    live_sample,
    rate_text,
    uptime_text,
)
from console.sparkline import plain_terminal, sparkline
from widgets.host_state import state_cell

LABEL_WIDTH = 6
CORE_CELL_WIDTH = 18  # "12 ▁▂▃▅▇▆▅ 100%" and a gap


class HostFacts(Widget):
    """Who the host is: identity, system, generations, boot, failed units, alerts."""

    DEFAULT_CSS = """
    HostFacts { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._content: RenderableType = Text("")

    def show(self, monitor: HostMonitor, now: float) -> None:
        self._content = facts_renderable(monitor, now, ascii=plain_terminal())
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        return self._content


class HostMetrics(Widget):
    """What the host is doing: CPU per core, memory, disks, network, sensors, battery."""

    DEFAULT_CSS = """
    HostMetrics { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._monitor: HostMonitor | None = None
        self.ascii = plain_terminal()

    def show(self, monitor: HostMonitor) -> None:
        self._monitor = monitor
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        if self._monitor is None:
            return Text("")
        return metrics_renderable(self._monitor, max(self.content_size.width, 20), ascii=self.ascii)


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", width=LABEL_WIDTH, no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def facts_renderable(monitor: HostMonitor, now: float, *, ascii: bool = False) -> RenderableType:
    grid = _grid()
    status = monitor.status
    state = state_cell(status, now, ascii=ascii)
    state.append(f" since {time.strftime('%H:%M:%S', time.localtime(status.since))}", style="dim")
    grid.add_row("State", state)
    facts = monitor.facts
    if facts is None:
        grid.add_row("Facts", Text(monitor.facts_error or "not read yet", style="dim"))
    else:
        grid.add_row("Host", f"{facts.hostname} · {monitor.config.target}")
        system = facts.nixos_version if facts.is_nixos and facts.nixos_version else facts.os_name
        grid.add_row("System", f"{system} · kernel {facts.kernel}")
        generation = Text(f"{_number(facts.current_generation)} current · {_number(facts.booted_generation)} booted")
        if facts.reboot_pending:
            generation.append(" · reboot pending", style="bold yellow")
        if facts.profile_generation is not None and facts.profile_generation != facts.current_generation:
            generation.append(f" · profile at {facts.profile_generation}", style="yellow")
        generation.append(f" · {len(facts.generations)} kept", style="dim")
        grid.add_row("Gen", generation)
        sample = monitor.sample
        booted = Text()
        if sample is not None:
            boot_epoch = sample.taken_at - sample.raw.uptime_s
            booted.append(f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(boot_epoch))} "
                          f"(up {uptime_text(sample.raw.uptime_s)})")
        if facts.boot_time is not None:
            booted.append(f" in {facts.boot_time.total_s:.1f} s", style="dim")
        if booted:
            grid.add_row("Booted", booted)
        failed = Text(", ".join(u.unit for u in facts.failed_units) or "none",
                      style="bold red" if facts.failed_units else "green")
        grid.add_row("Failed", failed)
    for alert in host_alerts(monitor, now):
        if alert.flag in ("reboot",) or alert.flag.endswith("failed"):
            continue  # already said above
        grid.add_row(Text("Alert", style="bold red"),
                     Text(alert.detail, style="bold red" if alert.severity == Severity.CRITICAL else "bold yellow"))
    return grid


def _number(value: int | None) -> str:
    return "?" if value is None else str(value)


def metrics_renderable(monitor: HostMonitor, width: int, *, ascii: bool = False) -> RenderableType:
    sample = live_sample(monitor)
    if sample is None:
        reason = monitor.sampler_error or f"host is {monitor.status.state.value}: no live figures"
        return Text(reason, style="dim")
    history = list(monitor.history)
    graph = max(8, width - LABEL_WIDTH - 28)
    raw = sample.raw
    rows: list[RenderableType] = []

    cpu = _line("CPU", _percent(sample.cpu_percent))
    cpu.append(sparkline([s.cpu_percent for s in history], graph, ascii=ascii), style="green")
    cpu.append(f" load {raw.load[0]:.2f} {raw.load[1]:.2f} {raw.load[2]:.2f}", style="dim")
    rows.append(cpu)
    rows.extend(_core_lines(history, sample, width, ascii=ascii))

    mem = _line("Mem", _percent(raw.mem.percent if raw.mem.total else None))
    mem.append(sparkline([s.raw.mem.percent for s in history], graph, ascii=ascii), style="blue")
    mem.append(f" {human_bytes(raw.mem.used)} of {human_bytes(raw.mem.total)}", style="dim")
    rows.append(mem)
    if raw.mem.swap_total:
        swap = _line("Swap", _percent(100 * raw.mem.swap_used / raw.mem.swap_total))
        swap.append(f"{human_bytes(raw.mem.swap_used)} of {human_bytes(raw.mem.swap_total)}", style="dim")
        rows.append(swap)

    mount_width = max((len(d.mount) for d in raw.disks), default=1)
    bar = max(6, min(30, width - LABEL_WIDTH - mount_width - 30))
    for index, disk in enumerate(raw.disks):
        line = _line("Disk" if index == 0 else "", "")
        line.append(disk.mount.ljust(mount_width) + " ")
        filled = round(bar * disk.percent / 100)
        style = "bold red" if disk.percent >= 90 else "yellow" if disk.percent >= 75 else "green"
        line.append(("#" if ascii else "█") * filled, style=style)
        line.append(("." if ascii else "░") * (bar - filled), style="dim")
        line.append(f" {disk.percent:3.0f}% {human_bytes(disk.used)} of {human_bytes(disk.total)}")
        rows.append(line)

    if sample.net_rx_bps is not None and sample.net_tx_bps is not None:
        net = _line("Net", "")
        net.append(f"↓{rate_text(sample.net_rx_bps):>5}/s ↑{rate_text(sample.net_tx_bps):>5}/s ")
        rates = [(s.net_rx_bps or 0) + (s.net_tx_bps or 0) if s.net_rx_bps is not None else None for s in history]
        peak = max((r for r in rates if r is not None), default=0.0)
        net.append(sparkline(rates, max(8, graph - 6), maximum=peak or 1.0, ascii=ascii), style="cyan")
        rows.append(net)
    if raw.temperatures:
        temps = _line("Temp", "")
        for index, sensor in enumerate(sorted(raw.temperatures, key=lambda t: -t.celsius)[:6]):
            style = "bold red" if sensor.celsius >= 85 else "yellow" if sensor.celsius >= 75 else ""
            temps.append(("  " if index else "") + f"{sensor.label} ")
            temps.append(f"{sensor.celsius:.0f}°C", style=style)
        rows.append(temps)
    for battery in sample.batteries:
        line = _line("Bat", "")
        line.append(f"{battery.name} {battery.capacity if battery.capacity is not None else '?'}%")
        line.append(f" {(battery.status or 'unknown').lower()}")
        if battery.power_now_w:
            line.append(f" {battery.power_now_w:.1f} W", style="dim")
        if sample.on_ac is not None:
            line.append(" · on AC" if sample.on_ac else " · on battery", style="dim")
        rows.append(line)
    if monitor.sampler_error:
        rows.append(Text(f"sampler: {monitor.sampler_error}", style="yellow"))
    return Group(*rows)


def _line(label: str, figure: str) -> Text:
    line = Text(label.ljust(LABEL_WIDTH) + " ", style="bold")
    line.append(figure, style="not bold")
    return line


def _percent(value: float | None) -> str:
    return "   - " if value is None else f"{value:3.0f}% "


def _core_lines(history: list[Sample], sample: Sample, width: int, *, ascii: bool) -> list[Text]:
    """Every core's load with its own short history, as many per line as fit."""
    cores = sample.per_cpu_percent
    if not cores or len(cores) < 2:
        return []
    per_line = max(1, (width - LABEL_WIDTH - 1) // CORE_CELL_WIDTH)
    graph = CORE_CELL_WIDTH - 10
    lines: list[Text] = []
    for start in range(0, len(cores), per_line):
        line = Text(" " * (LABEL_WIDTH + 1))
        for core in range(start, min(start + per_line, len(cores))):
            past = [s.per_cpu_percent[core] if s.per_cpu_percent and len(s.per_cpu_percent) > core else None
                    for s in history]
            line.append(f"{core:>2} ", style="dim")
            line.append(sparkline(past, graph, ascii=ascii), style="green")
            line.append(f" {cores[core]:3.0f}%  ")
        lines.append(line)
    return lines


def host_summary(monitor: HostMonitor, now: float, *, ascii: bool = False) -> Text:
    """One line for a pane's title bar: state and the main figures."""
    line = state_cell(monitor.status, now, ascii=ascii)
    sample = live_sample(monitor)
    if sample is not None:
        raw = sample.raw
        if sample.cpu_percent is not None:
            line.append(f"  cpu {sample.cpu_percent:.0f}%")
        if raw.mem.total:
            line.append(f"  mem {raw.mem.percent:.0f}%")
        if sample.fullest_disk is not None:
            line.append(f"  disk {sample.fullest_disk.percent:.0f}%")
        if sample.battery_percent is not None:
            line.append(f"  bat {sample.battery_percent}%")
    elif monitor.status.last_seen is not None:
        line.append(f"  seen {age_text(now - monitor.status.last_seen)} ago", style="dim")
    facts = monitor.facts
    if facts is not None and facts.current_generation is not None:
        line.append(f"  gen {facts.current_generation}")
    return line
