"""One host in the side-by-side view: a title with its state and figures,
CPU and memory history, its alerts, and the tail of its journal."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.fleet import Fleet
from console.overview import Severity, host_alerts, live_sample
from console.sparkline import plain_terminal, sparkline
from widgets.host_info import host_summary
from widgets.journal_pane import JournalPane


class HostPane(Vertical, can_focus=True):
    DEFAULT_CSS = """
    HostPane {
        border: round $panel-lighten-2;
        border-title-style: bold;
        height: 1fr;
    }
    HostPane:focus-within, HostPane:focus { border: round $accent; }
    HostPane > .host-pane-figures { height: auto; padding: 0 1; }
    HostPane > JournalPane { height: 1fr; }
    """

    def __init__(self, fleet: Fleet, host: str) -> None:
        super().__init__(id=f"pane-{host}")
        self.fleet = fleet
        self.host = host
        self.ascii = plain_terminal()
        self._figures = Text()

    def compose(self) -> ComposeResult:
        yield Static(classes="host-pane-figures")
        yield JournalPane(self.fleet, self.host, compact=True)

    def on_mount(self) -> None:
        self.border_title = self.host

    def on_resize(self) -> None:
        self.show(self.app.clock())  # the graphs take the new width

    def show(self, now: float) -> None:
        monitor = self.fleet[self.host]
        self.border_subtitle = host_summary(monitor, now, ascii=self.ascii).plain
        figures = Text()
        sample = live_sample(monitor)
        width = max(10, self.content_size.width - 6)
        if sample is not None:
            figures.append("cpu ", style="bold")
            figures.append(sparkline([s.cpu_percent for s in monitor.history], width, ascii=self.ascii), style="green")
            figures.append("\nmem ", style="bold")
            figures.append(sparkline([s.raw.mem.percent for s in monitor.history], width, ascii=self.ascii),
                           style="blue")
        for alert in host_alerts(monitor, now):
            figures.append("\n" if figures else "")
            figures.append(alert.detail, style="bold red" if alert.severity == Severity.CRITICAL else "bold yellow")
        if figures != self._figures:
            self._figures = figures
            self.query_one(".host-pane-figures", Static).update(figures)

    def journal_changed(self) -> None:
        self.query_one(JournalPane).hosts_changed([self.host])

    def resync(self, now: float) -> None:
        self.show(now)
        self.query_one(JournalPane).resync()
