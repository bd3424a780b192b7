"""The fleet overview: the screen nixdeck opens on."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from console.fleet import Fleet
from console.model import HostState
from console.overview import fleet_alerts, matches_filter, sort_hosts
from widgets.alerts_panel import AlertsPanel
from widgets.fleet_table import SORTABLE, FleetTable
from widgets.messages import HostsChanged

# How often the ages of down hosts ("down 2 min") and the spinner move on.
AGE_REFRESH_S = 1.0
# Engine news is shown in batches this often: soon enough to look instant,
# rare enough that a big fleet costs a few repaints a second, not dozens.
CHANGES_FLUSH_S = 0.25
# Views of several hosts show this many at most.
MULTI_VIEW_MAX = 4


class FleetScreen(Screen[None]):
    CSS_PATH = "fleet.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Short labels: at 80 columns the footer shows every key, q and ? included.
        Binding("j", "journal", "Log", tooltip="journal viewer"),
        Binding("J", "fleet_journal", "All logs"),
        Binding("space", "mark", "Mark"),
        Binding("m", "multi_view", "Split"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "next_sort", "Sort"),
        Binding("g", "generations", "Gens", tooltip="generations"),
        Binding("A", "audit", "Audit log", show=False),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, fleet: Fleet) -> None:
        super().__init__()
        self.fleet = fleet
        self.sort_column = "host"
        self.descending = False
        self.filter_text = ""
        self._changed: set[str] = set()  # hosts with news not yet shown
        self._shown_at = float("-inf")  # when news was last shown (time.monotonic)
        self._summary = Text()  # as shown: an unchanged summary is not redrawn

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="fleet-summary")
        yield FleetTable(id="fleet-table")
        yield AlertsPanel(id="fleet-alerts")
        yield Input(placeholder="filter by name or tag", id="fleet-filter")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(FleetTable)
        table.register_hosts(self.fleet.monitors.values(), self.app.clock())
        self._apply_view()
        self.set_interval(AGE_REFRESH_S, self._refresh_ages)
        table.focus()

    # --- live updates ----------------------------------------------------------------

    def on_hosts_changed(self, message: HostsChanged) -> None:
        if not message.hosts:
            return  # journal news only: nothing here shows it
        pending = bool(self._changed)
        self._changed |= message.hosts
        if pending:
            return  # a flush is already due
        # After a quiet spell at once, else when the batch is due.
        wait = self._shown_at + CHANGES_FLUSH_S - time.monotonic()
        if wait <= 0:
            self._show_changed()
        else:
            self.set_timer(wait, self._show_changed)

    def _show_changed(self) -> None:
        """Show what changed since the last flush, all hosts in one repaint:
        twenty hosts sampling at their own moments would otherwise repaint
        the table twenty times a second."""
        if not self._changed:
            return
        self._shown_at = time.monotonic()
        changed, self._changed = self._changed, set()
        table = self.query_one(FleetTable)
        now = self.app.clock()
        with self.app.batch_update():
            for host in changed:
                table.show_host(self.fleet[host], now)
            self._apply_view()

    def on_screen_resume(self) -> None:
        self._refresh_all()

    def _refresh_ages(self) -> None:
        table = self.query_one(FleetTable)
        now = self.app.clock()
        for monitor in self.fleet.monitors.values():
            if monitor.status.state != HostState.UP:
                table.show_host(monitor, now)
        self._show_alerts()

    def _refresh_all(self) -> None:
        table = self.query_one(FleetTable)
        now = self.app.clock()
        for monitor in self.fleet.monitors.values():
            table.show_host(monitor, now)
        self._apply_view()

    def _apply_view(self) -> None:
        """Order and filter the rows, then say so in the summary line."""
        shown = [m for m in self.fleet.monitors.values() if matches_filter(m.config, self.filter_text)]
        self.query_one(FleetTable).show_rows(sort_hosts(shown, self.sort_column, descending=self.descending))
        self._show_summary(len(shown))
        self._show_alerts()

    def _show_alerts(self) -> None:
        self.query_one(AlertsPanel).show_alerts(fleet_alerts(self.fleet.monitors.values(), self.app.clock()))

    def _show_summary(self, shown: int) -> None:
        states = [m.status.state for m in self.fleet.monitors.values()]
        total, up = len(states), states.count(HostState.UP)
        summary = Text()
        summary.append(f"{up}/{total} up", style="bold green" if up == total else "bold yellow")
        problems = total - up - states.count(HostState.CONNECTING)
        if problems:
            summary.append(f" · {problems} unreachable", style="bold red")
        arrow = "↓" if self.descending else "↑"
        summary.append(f"   sort: {self.sort_column} {arrow}", style="dim")
        if self.filter_text:
            summary.append(f"   filter: {self.filter_text!r} ({shown} of {total})", style="bold cyan")
        if summary != self._summary:
            self._summary = summary
            self.query_one("#fleet-summary", Static).update(summary)

    # --- actions -----------------------------------------------------------------------

    def _highlighted(self) -> str | None:
        return self.query_one(FleetTable).highlighted_host

    def on_fleet_table_host_selected(self, event: FleetTable.HostSelected) -> None:
        event.stop()
        self.app.open_host(event.host)

    def on_fleet_table_sort_requested(self, event: FleetTable.SortRequested) -> None:
        event.stop()
        column = event.column
        if column not in SORTABLE:
            return
        if column == self.sort_column:
            self.descending = not self.descending
        else:
            self.sort_column, self.descending = column, column != "host"
        self._apply_view()

    def action_journal(self) -> None:
        host = self._highlighted()
        if host is not None:
            self.app.open_journal(host)

    def action_fleet_journal(self) -> None:
        self.app.open_journal(None)

    def action_generations(self) -> None:
        self.app.open_generations(None)

    def action_audit(self) -> None:
        self.app.open_audit()

    def action_mark(self) -> None:
        table = self.query_one(FleetTable)
        host = table.highlighted_host
        if host is None:
            return
        table.marked.symmetric_difference_update({host})
        table.show_host(self.fleet[host], self.app.clock())
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_multi_view(self) -> None:
        table = self.query_one(FleetTable)
        shown = table.shown_hosts
        hosts = [host for host in shown if host in table.marked]
        if not hosts:
            # Nothing marked: the highlighted host and the ones below it.
            start = shown.index(table.highlighted_host) if table.highlighted_host in shown else 0
            hosts = (shown[start:] + shown[:start])[:MULTI_VIEW_MAX]
        self.app.open_side_by_side(hosts[:MULTI_VIEW_MAX])

    def action_next_sort(self) -> None:
        index = SORTABLE.index(self.sort_column) if self.sort_column in SORTABLE else -1
        self.sort_column = SORTABLE[(index + 1) % len(SORTABLE)]
        self.descending = self.sort_column != "host"
        self._apply_view()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._apply_view()

    def action_filter(self) -> None:
        field = self.query_one("#fleet-filter", Input)
        field.add_class("-open")
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#fleet-filter", Input)
        field.value = ""
        field.remove_class("-open")
        self.query_one(FleetTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "fleet-filter":
            self.filter_text = event.value.strip()
            self._apply_view()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "fleet-filter":
            if not event.value.strip():
                event.input.remove_class("-open")
            self.query_one(FleetTable).focus()
