"""Several hosts side by side, so two or four can be watched at once."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer, Header

from console.fleet import Fleet
from widgets.host_pane import HostPane
from widgets.messages import HostsChanged

AGE_REFRESH_S = 1.0
# Below this width two panes side by side would each be too narrow to read.
SIDE_BY_SIDE_MIN_WIDTH = 100


def grid_shape(count: int, width: int) -> tuple[int, int]:
    """(columns, rows) for `count` panes on a terminal `width` cells wide."""
    if count <= 1:
        return 1, 1
    if count == 2:
        return (2, 1) if width >= SIDE_BY_SIDE_MIN_WIDTH else (1, 2)
    columns = 2 if width >= 2 * 40 else 1
    return columns, -(-count // columns)


class MultiHostScreen(Screen[None]):
    CSS_PATH = "multihost.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "open_host", "Open host"),
        Binding("tab", "next_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "next_pane(-1)", "Previous pane", show=False),
    ]

    def __init__(self, fleet: Fleet, hosts: list[str]) -> None:
        super().__init__()
        self.fleet = fleet
        self.hosts = hosts

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid(id="panes"):
            for host in self.hosts:
                yield HostPane(self.fleet, host)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = " · ".join(self.hosts)
        self._refresh_all()
        self.set_interval(AGE_REFRESH_S, self._refresh_all)
        self.query(HostPane).first().focus()

    def on_resize(self, event: events.Resize) -> None:
        columns, rows = grid_shape(len(self.hosts), event.size.width)
        grid = self.query_one("#panes", Grid)
        grid.styles.grid_size_columns = columns
        grid.styles.grid_size_rows = rows

    def on_hosts_changed(self, message: HostsChanged) -> None:
        now = self.app.clock()
        for pane in self.query(HostPane):
            if pane.host in message.hosts:
                pane.show(now)
            if pane.host in message.journals:
                pane.journal_changed()

    def on_screen_resume(self) -> None:
        for pane in self.query(HostPane):
            pane.resync(self.app.clock())

    def _refresh_all(self) -> None:
        for pane in self.query(HostPane):
            pane.show(self.app.clock())

    def _focused_host(self) -> str | None:
        node = self.focused
        while node is not None and not isinstance(node, HostPane):
            node = node.parent
        return node.host if isinstance(node, HostPane) else None

    def action_next_pane(self, step: int) -> None:
        """Tab moves between panes, not through every widget inside them."""
        panes = list(self.query(HostPane))
        current = self._focused_host()
        index = next((i for i, pane in enumerate(panes) if pane.host == current), -step)
        panes[(index + step) % len(panes)].focus()

    def action_open_host(self) -> None:
        host = self._focused_host()
        if host is not None:
            self.app.open_host(host)
