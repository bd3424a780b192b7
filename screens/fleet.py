"""The fleet overview: the screen nixdeck opens on."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from console.fleet import Fleet
from console.model import HostState
from widgets.fleet_table import FleetTable
from widgets.messages import HostChanged

# How often "seen N s ago" on down hosts is brought up to date.
AGE_REFRESH_S = 1.0


class FleetScreen(Screen[None]):
    CSS_PATH = "fleet.tcss"

    def __init__(self, fleet: Fleet) -> None:
        super().__init__()
        self.fleet = fleet

    def compose(self) -> ComposeResult:
        yield Header()
        yield FleetTable(id="fleet-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(FleetTable)
        for monitor in self.fleet.monitors.values():
            table.show_host(monitor)
        self.set_interval(AGE_REFRESH_S, self._refresh_down_hosts)

    def on_host_changed(self, message: HostChanged) -> None:
        self.query_one(FleetTable).show_host(self.fleet[message.host])

    def _refresh_down_hosts(self) -> None:
        table = self.query_one(FleetTable)
        for monitor in self.fleet.monitors.values():
            if monitor.status.state != HostState.UP:
                table.show_host(monitor)
