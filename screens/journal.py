"""The journal viewer: one host's journal or every host's merged, live or
the previous boot, filtered by priority, unit and text."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header

from console.fleet import Fleet
from widgets.journal_log import JournalLog
from widgets.journal_pane import JournalPane
from widgets.messages import HostsChanged


class JournalScreen(Screen[None]):
    CSS_PATH = "journal.tcss"
    AUTO_FOCUS = "JournalLog"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, fleet: Fleet, host: str | None = None) -> None:
        super().__init__()
        self.fleet = fleet
        self.host = host

    def compose(self) -> ComposeResult:
        yield Header()
        yield JournalPane(self.fleet, self.host, id="journal")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = "journal"

    def on_hosts_changed(self, message: HostsChanged) -> None:
        self.query_one(JournalPane).hosts_changed(message.journals)

    def on_screen_resume(self) -> None:
        self.query_one(JournalPane).resync()

    def action_back(self) -> None:
        """Out of the filter bar first, then off the screen."""
        log = self.query_one(JournalLog)
        if self.focused is not None and self.focused is not log:
            log.focus()
        else:
            self.app.pop_screen()
