"""The fleet table: one row per host, drawn with Textual's line API.

Columns have fixed widths, so a changing figure never reflows the table, and
a priority: when the terminal is narrow the least important columns are left
out, never the host, its state, CPU, memory, disk, generation or alerts.

Each row is rendered once per change of its cells and kept; a host whose
figures changed repaints its own line and nothing else. (Textual's DataTable
re-renders every row whenever any cell changes, which with twenty hosts
sampling every second was most of the console's CPU.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import accumulate, islice
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

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
HEADER_LINES = 1


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


def fitted(text: Text, width: int) -> Text:
    """A cell's text padded (as it is justified) or cut to exactly `width`:
    a long alert must not widen the table."""
    if text.cell_len > width:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
    left, right = padding(text, width)
    return Text.assemble(left, text, right)


def padding(text: Text, width: int) -> tuple[str, str]:
    """The spaces before and after a cell's text that fits in `width`, as it
    is justified, CELL_PADDING included."""
    gap = width - text.cell_len
    left = gap if text.justify == "right" else gap // 2 if text.justify == "center" else 0
    return " " * (CELL_PADDING + left), " " * (gap - left + CELL_PADDING)


def same_cells(cells: dict[str, Text], before: dict[str, Text] | None) -> bool:
    """Whether two rows of cells look alike (rich's Text equality leaves out
    the base style and the justification)."""
    return before is not None and all(
        (text.plain, text.style, text.spans, text.justify) == (old.plain, old.style, old.spans, old.justify)
        for text, old in zip(cells.values(), before.values(), strict=True))


@dataclass(frozen=True, slots=True)
class RowLook:
    """Everything a rendered row depends on besides its cells."""

    version: int
    width: int
    cursor: bool
    odd: bool
    focused: bool


class FleetTable(ScrollView, can_focus=True):
    """Rows keyed by host name, a header that stays put, a row cursor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"fleet-table--header", "fleet-table--cursor", "fleet-table--odd-row"}
    DEFAULT_CSS = """
    FleetTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        & > .fleet-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .fleet-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .fleet-table--odd-row { background: $surface-lighten-1 50%; }
        &:dark > .fleet-table--odd-row { background: $surface-darken-1 40%; }
        & > .fleet-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .fleet-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
    ]

    class HostSelected(Message):
        """Enter, or a click on the highlighted row: open this host."""

        def __init__(self, host: str) -> None:
            super().__init__()
            self.host = host

    class SortRequested(Message):
        """A click on a column's header."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cells: dict[str, dict[str, Text]] = {}
        self._versions: dict[str, int] = {}  # bumped whenever a host's shown cells change
        self._rendered: dict[str, tuple[RowLook, Strip]] = {}
        self._order: list[str] = []  # the hosts shown, in display order
        self._columns: list[Column] = []
        self._header: Strip | None = None
        self.cursor_row = 0
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
    def row_count(self) -> int:
        return len(self._order)

    @property
    def highlighted_host(self) -> str | None:
        return self._order[self.cursor_row] if self._order else None

    def show_host(self, monitor: HostMonitor, now: float) -> None:
        """Bring one host's row up to date; its line is repainted only when
        what it shows changed."""
        cells = host_cells(monitor, now, ascii=self.ascii)
        cells["mark"] = Text("▌" if monitor.name in self.marked else " ", style="bold cyan")
        if same_cells(cells, self._cells.get(monitor.name)):
            return
        self._cells[monitor.name] = cells
        self._versions[monitor.name] = self._versions.get(monitor.name, 0) + 1
        if monitor.name in self._order:
            self.refresh_line(HEADER_LINES + self._order.index(monitor.name))

    def show_rows(self, order: Iterable[str]) -> None:
        """Show these hosts in this order (after a sort or a filter change),
        the cursor staying on its host while it is shown."""
        order = list(order)
        if order == self._order:
            return
        highlighted = self.highlighted_host
        self._order = order
        self.cursor_row = order.index(highlighted) if highlighted in order else min(self.cursor_row,
                                                                                     max(0, len(order) - 1))
        self._update_virtual_size()
        self.refresh()

    def register_hosts(self, monitors: Iterable[HostMonitor], now: float) -> None:
        """Learn every host's cells (before the first show_rows)."""
        for monitor in monitors:
            self.show_host(monitor, now)
        self._fit_columns()

    def move_cursor(self, row: int) -> None:
        if not self._order:
            return
        previous, self.cursor_row = self.cursor_row, max(0, min(row, len(self._order) - 1))
        self.refresh_line(HEADER_LINES + previous)
        self.refresh_line(HEADER_LINES + self.cursor_row)
        self._scroll_to_cursor()

    def rendered_row(self, host: str) -> str:
        """The host's row as it reads on screen (for tests and tools)."""
        return self._row_strip(host, self.size.width, self._order.index(host)).text

    def rendered_cell(self, host: str, column: str) -> str:
        """One cell of the host's row as it reads on screen, unpadded."""
        (shown,) = (c for c in self._columns if c.key == column)
        return fitted(self._cells[host][column], shown.width).plain.strip()

    # --- keys and mouse --------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self._rows_in_sight() - 1))

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self._order) - 1)

    def action_open(self) -> None:
        if (host := self.highlighted_host) is not None:
            self.post_message(self.HostSelected(host))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y < HEADER_LINES:
            if (column := self._column_at(offset.x)) is not None:
                self.post_message(self.SortRequested(column))
            return
        row = int(self.scroll_y) + offset.y - HEADER_LINES
        if row >= len(self._order):
            return
        if row == self.cursor_row or event.chain > 1:
            self.move_cursor(row)
            self.action_open()
        else:
            self.move_cursor(row)

    def _column_at(self, x: int) -> str | None:
        ends = accumulate(column.width + 2 * CELL_PADDING for column in self._columns)
        return next((column.key for column, end in zip(self._columns, ends) if x < end), None)

    # --- layout ------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns()
        self._scroll_to_cursor()

    def on_focus(self) -> None:
        self.refresh_line(HEADER_LINES + self.cursor_row)

    def on_blur(self) -> None:
        self.refresh_line(HEADER_LINES + self.cursor_row)

    def notify_style_update(self) -> None:
        # A new theme or CSS changes every rendered line.
        super().notify_style_update()
        self._rendered.clear()
        self._header = None

    def _fit_columns(self) -> None:
        host_width = max([4, *(len(name) for name in self._cells)])
        # Room for the vertical scrollbar, which comes and goes with the rows.
        available = self.size.width - self.styles.scrollbar_size_vertical
        columns = fitting_columns(available, host_width)
        if columns != self._columns:
            self._columns = columns
            self._rendered.clear()
            self._header = None
            self._update_virtual_size()
            self.refresh()

    def _update_virtual_size(self) -> None:
        width = sum(column.width + 2 * CELL_PADDING for column in self._columns)
        self.virtual_size = Size(width, HEADER_LINES + len(self._order))

    def _rows_in_sight(self) -> int:
        return max(1, self.scrollable_content_region.height - HEADER_LINES)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + self._rows_in_sight():
            self.scroll_to(y=self.cursor_row - self._rows_in_sight() + 1, animate=False)

    # --- rendering -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y < HEADER_LINES:
            if self._header is None or self._header.cell_length != width:
                self._header = self._line(
                    Text.assemble(*(fitted(Text(c.label), c.width) for c in self._columns)),
                    self.get_component_rich_style("fleet-table--header"), width)
            return self._header
        row = int(self.scroll_y) + y - HEADER_LINES
        if row >= len(self._order):
            return Strip.blank(width, self.rich_style)
        return self._row_strip(self._order[row], width, row)

    def _row_strip(self, host: str, width: int, row: int) -> Strip:
        look = RowLook(self._versions.get(host, 0), width, row == self.cursor_row, row % 2 == 1, self.has_focus)
        rendered = self._rendered.get(host)
        if rendered is not None and rendered[0] == look:
            return rendered[1]
        cells = self._cells[host]
        style = self.rich_style
        if look.odd:
            style += self.get_component_rich_style("fleet-table--odd-row")
        if look.cursor:
            style += self.get_component_rich_style("fleet-table--cursor")
        segments: list[Segment] = []
        for column in self._columns:
            segments += self._cell_segments(cells[column.key], column.width, style)
        # Neighbours of one style become one segment: each segment costs its
        # own escape codes on the way to the terminal.
        strip = Strip(Segment.simplify(segments)).crop_extend(0, width, style)
        self._rendered[host] = (look, strip)
        return strip

    def _cell_segments(self, text: Text, width: int, base: Style) -> list[Segment]:
        """The segments of one padded cell. A cell of one style that fits
        (nearly all of them) becomes segments directly: rendering rich Text
        for every cell of every row that changed cost the most CPU of a live
        fleet screen."""
        if text.spans or text.cell_len > width:
            line = fitted(text, width)
            line.stylize_before(base)
            return list(line.render(self.app.console))
        left, right = padding(text, width)
        style = base + Style.parse(text.style) if isinstance(text.style, str) else base + text.style
        return [Segment(left, base), Segment(text.plain, style), Segment(right, base)]

    def _line(self, text: Text, style: Style, width: int) -> Strip:
        text.stylize_before(style)
        return Strip(text.render(self.app.console), text.cell_len).crop_extend(0, width, style)


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
        recent = list(islice(reversed(monitor.history), HISTORY_WIDTH))[::-1]  # all a sparkline shows
        cpu = [s.cpu_percent for s in recent]
        mem = [s.raw.mem.percent if s.raw.mem.total else None for s in recent]
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
