"""One host up close: facts, metrics with history, and its live journal."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header

from console.fleet import Fleet
from widgets.host_info import HostFacts, HostMetrics
from widgets.journal_pane import JournalPane
from widgets.messages import HostsChanged

AGE_REFRESH_S = 1.0


class HostScreen(Screen[None]):
    CSS_PATH = "host.tcss"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("right_square_bracket", "switch_host(1)", "Next host"),
        Binding("left_square_bracket", "switch_host(-1)", "Previous host"),
        Binding("j", "journal", "Journal viewer"),
        Binding("g", "generations", "Gens", tooltip="this host's system generations"),
    ]

    def __init__(self, fleet: Fleet, host: str) -> None:
        super().__init__()
        self.fleet = fleet
        self.host = host

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="host-body"):
            with VerticalScroll(id="host-info"):
                yield HostFacts(id="host-facts")
                yield HostMetrics(id="host-metrics")
            yield JournalPane(self.fleet, self.host, compact=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = self.host
        self._show()
        self.set_interval(AGE_REFRESH_S, self._show_facts)

    def on_hosts_changed(self, message: HostsChanged) -> None:
        if self.host in message.hosts:
            self._show()
        if self.host in message.journals:
            self.query_one(JournalPane).hosts_changed([self.host])

    def on_screen_resume(self) -> None:
        self._show()
        self.query_one(JournalPane).resync()

    def _show(self) -> None:
        self._show_facts()
        self.query_one(HostMetrics).show(self.fleet[self.host])

    def _show_facts(self) -> None:
        self.query_one(HostFacts).show(self.fleet[self.host], self.app.clock())

    def action_switch_host(self, step: int) -> None:
        order = self.app.host_order
        if self.host not in order:
            order = sorted(self.fleet.monitors)
        following = order[(order.index(self.host) + step) % len(order)]
        if following != self.host:
            self.app.switch_screen(HostScreen(self.fleet, following))

    def action_journal(self) -> None:
        self.app.open_journal(self.host)

    def action_generations(self) -> None:
        self.app.open_generations(self.host)
