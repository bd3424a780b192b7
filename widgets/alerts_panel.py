"""The fleet's alerts, one line each, loudest first: what must not be missed
even when the table has scrolled or dropped columns."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.overview import Alert, Severity


class AlertsPanel(Static):
    DEFAULT_CSS = """
    AlertsPanel {
        height: auto;
        max-height: 45%;
        border-top: solid $panel-lighten-2;
        padding: 0 1;
        overflow-y: auto;
    }
    AlertsPanel.-quiet { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: list[Alert] | None = None

    def show_alerts(self, alerts: Sequence[Alert]) -> None:
        alerts = list(alerts)
        if alerts == self._shown:
            return
        self._shown = alerts
        self.set_class(not alerts, "-quiet")
        # A grid keeps a wrapped detail indented under its own column.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for alert in alerts:
            loud = alert.severity == Severity.CRITICAL
            grid.add_row(Text("!!" if loud else " !", style="bold red" if loud else "bold yellow"), alert.host,
                         alert.detail)
        self.update(grid)
