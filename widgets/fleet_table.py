"""The fleet table: one row per host, updated cell by cell.

Columns have fixed widths, so a changing figure never reflows the table, and
a priority: when the terminal is narrow the least important columns are left
out, never the host, its state, CPU, memory, disk, generation or alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from console.host import HostMonitor
from console.model import HostState
from console.overview import (
    Severity,
    host_alerts,
    live_sample,
    rate_text,
    short_nixos_version,
    uptime_text,
)
from console.sparkline import plain_terminal, sparkline
from widgets.host_state import state_cell

ESSENTIAL = 0
HISTORY_WIDTH = 8
ALERTS_MIN_WIDTH = 14
CELL_PADDING = 1  # columns of space either side of each cell


@dataclass(frozen=True, slots=True)
class Column:
    """`priority` 0 is always shown; higher numbers are dropped first."""

    key: str
    label: str
    width: int
    priority: int


COLUMNS = (
    Column("mark", "", 1, ESSENTIAL),
    Column("host", "Host", 4, ESSENTIAL),  # widened to the longest name
    Column("state", "State", 11, ESSENTIAL),
    Column("cpu", "CPU", 4, ESSENTIAL),
    Column("cpu_history", "", HISTORY_WIDTH, 1),
    Column("mem", "Mem", 4, ESSENTIAL),
    Column("mem_history", "", HISTORY_WIDTH, 2),
    Column("swap", "Swap", 4, 6),
    Column("disk", "Disk", 4, ESSENTIAL),
    Column("load", "Load", 5, 4),
    Column("net", "Net ↓ ↑", 11, 5),
    Column("temp", "Temp", 4, 7),
    Column("battery", "Bat", 5, 3),
    Column("uptime", "Up", 5, 8),
    Column("nixos", "NixOS", 5, 9),
    Column("generation", "Gen", 3, ESSENTIAL),
    Column("alerts", "Alerts", ALERTS_MIN_WIDTH, ESSENTIAL),  # takes what is left
)
SORTABLE = tuple(c.key for c in COLUMNS if c.key not in {"mark", "cpu_history", "mem_history"})
_BY_KEY = {c.key: c for c in COLUMNS}
_HISTORY_OF = {"cpu_history": "cpu", "mem_history": "mem"}


def fitting_columns(available: int, host_width: int) -> list[Column]:
    """The columns that fit in `available` cells, in display order, with their
    final widths: the host column as wide as the longest name, the alerts
    column taking whatever is left."""
    sized = {c.key: replace(c, width=host_width) if c.key == "host" else c for c in COLUMNS}

    def width(column: Column) -> int:
        return column.width + 2 * CELL_PADDING

    chosen = {key for key, c in sized.items() if c.priority == ESSENTIAL}
    used = sum(width(sized[key]) for key in chosen)
    for column in sorted((c for c in sized.values() if c.priority != ESSENTIAL), key=lambda c: c.priority):
        if used + width(column) <= available:
            chosen.add(column.key)
            used += width(column)
    alerts = sized["alerts"]
    sized["alerts"] = replace(alerts, width=max(ALERTS_MIN_WIDTH, alerts.width + available - used))
    return [sized[c.key] for c in COLUMNS if c.key in chosen]


class FleetTable(DataTable[Text]):
    """Rows are keyed by host name; only cells whose text changed are redrawn."""

    DEFAULT_CSS = """
    FleetTable { height: 1fr; }
    """
    # DataTable's own enter is hidden; here it opens the host, so say so.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING)
        self._cells: dict[str, dict[str, Text]] = {}
        self._order: list[str] = []  # the hosts shown, in display order
        self._columns: list[Column] = []
        self._host_width = 4
        self.marked: set[str] = set()
        self.ascii = plain_terminal()

    # --- what is shown ---------------------------------------------------------------

    @property
    def visible_columns(self) -> list[str]:
        return [column.key for column in self._columns]

    @property
    def shown_hosts(self) -> list[str]:
        """The hosts the filter keeps, in display order."""
        return list(self._order)

    @property
    def highlighted_host(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def show_host(self, monitor: HostMonitor, now: float) -> None:
        """Bring one host's row up to date (if it is shown)."""
        cells = host_cells(monitor, now, ascii=self.ascii)
        cells["mark"] = Text("▌" if monitor.name in self.marked else " ", style="bold cyan")
        self._cells[monitor.name] = cells
        if monitor.name not in self.rows:
            return
        for column in self._columns:
            text = self._fit(column, cells[column.key])
            if self.get_cell(monitor.name, column.key) != text:
                self.update_cell(monitor.name, column.key, text)

    def show_rows(self, order: Iterable[str]) -> None:
        """Show these hosts in this order (after a sort or a filter change)."""
        order = list(order)
        if order == self._order:
            return
        highlighted = self.highlighted_host
        if set(order) != set(self._order) or not self._columns:
            self._order = order
            self._rebuild(highlighted)
            return
        self._order = order
        position = {host: index for index, host in enumerate(order)}
        self.sort("host", key=lambda cell: position[cell.plain])
        self._restore_cursor(highlighted)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        host_width = max([4, *(len(name) for name in self._cells)])
        # Room for the vertical scrollbar, which comes and goes with the rows.
        available = self.size.width - self.styles.scrollbar_size_vertical
        columns = fitting_columns(available, host_width)
        if columns != self._columns:
            self._columns = columns
            self._rebuild(self.highlighted_host)

    def _rebuild(self, highlighted: str | None) -> None:
        self.clear(columns=True)
        for column in self._columns:
            self.add_column(column.label, width=column.width, key=column.key)
        for host in self._order:
            cells = self._cells.get(host)
            if cells is not None:
                self.add_row(*(self._fit(c, cells[c.key]) for c in self._columns), key=host)
        self._restore_cursor(highlighted)

    def _restore_cursor(self, host: str | None) -> None:
        if host is not None and host in self.rows:
            self.move_cursor(row=self.get_row_index(host), animate=False)

    def _fit(self, column: Column, text: Text) -> Text:
        """Cells are cut to the column: a long alert must not widen the table."""
        if text.cell_len <= column.width:
            return text
        cut = text.copy()
        cut.truncate(column.width, overflow="ellipsis")
        return cut

    def register_hosts(self, monitors: Iterable[HostMonitor], now: float) -> None:
        """Learn every host's cells (before the first show_rows)."""
        for monitor in monitors:
            self.show_host(monitor, now)
        self._fit_columns()


def host_cells(monitor: HostMonitor, now: float, *, ascii: bool = False) -> dict[str, Text]:
    """The text of each column for one host. Metrics of a host that is not up
    are not shown: they would be stale."""
    facts = monitor.facts
    sample = live_sample(monitor)
    cells = {column.key: Text("-", style="dim", justify="center") for column in COLUMNS}
    cells["host"] = Text(monitor.name, style="bold")
    cells["state"] = state_cell(monitor.status, now, ascii=ascii)
    if sample is not None:
        raw = sample.raw
        if sample.cpu_percent is not None:
            cells["cpu"] = Text(f"{sample.cpu_percent:.0f}%", style=_load_style(sample.cpu_percent), justify="right")
        if raw.mem.total:
            cells["mem"] = Text(f"{raw.mem.percent:.0f}%", style=_load_style(raw.mem.percent), justify="right")
        if raw.mem.swap_total:
            swap = 100 * raw.mem.swap_used / raw.mem.swap_total
            cells["swap"] = Text(f"{swap:.0f}%", style=_load_style(swap), justify="right")
        cells["load"] = Text(f"{raw.load[0]:.2f}", style="yellow" if raw.load[0] > max(len(raw.per_cpu), 1) else "",
                             justify="right")
        fullest = sample.fullest_disk
        if fullest is not None:
            cells["disk"] = Text(f"{fullest.percent:.0f}%", style=_load_style(fullest.percent), justify="right")
        if sample.net_rx_bps is not None and sample.net_tx_bps is not None:
            cells["net"] = Text(f"{rate_text(sample.net_rx_bps):>5} {rate_text(sample.net_tx_bps):>5}", justify="right")
        hottest = sample.max_temperature
        if hottest is not None:
            cells["temp"] = Text(f"{hottest:.0f}°", justify="right", style="bold red" if hottest >= 85 else "yellow" if hottest >= 75 else "")
        if sample.battery_percent is not None:
            sign = " " if sample.on_ac is None else "+" if sample.on_ac else "-"  # charging or draining
            cells["battery"] = Text(f"{sample.battery_percent}%{sign}", justify="right")
        cells["uptime"] = Text(uptime_text(raw.uptime_s), justify="right")
    if monitor.status.state == HostState.UP:
        cpu = [s.cpu_percent for s in monitor.history]
        mem = [s.raw.mem.percent if s.raw.mem.total else None for s in monitor.history]
        cells["cpu_history"] = Text(sparkline(cpu, HISTORY_WIDTH, ascii=ascii), style="green")
        cells["mem_history"] = Text(sparkline(mem, HISTORY_WIDTH, ascii=ascii), style="blue")
    if facts is not None:
        cells["nixos"] = Text(short_nixos_version(facts.nixos_version) or ("?" if facts.is_nixos else "other"))
        if facts.current_generation is not None:
            cells["generation"] = Text(str(facts.current_generation), style="bold yellow" if facts.reboot_pending else "",
                                       justify="right")
    cells["alerts"] = alerts_cell(monitor, now)
    return cells


def alerts_cell(monitor: HostMonitor, now: float) -> Text:
    alerts = host_alerts(monitor, now)
    if not alerts:
        return Text("ok", style="green")
    cell = Text()
    for index, alert in enumerate(alerts):
        if index:
            cell.append(" ")
        cell.append(alert.flag, style="bold red" if alert.severity == Severity.CRITICAL else "bold yellow")
    return cell


def _load_style(percent: float) -> str:
    return "bold red" if percent >= 90 else "yellow" if percent >= 75 else ""
