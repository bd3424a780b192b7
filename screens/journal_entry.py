"""Every field of one journal entry, as `journalctl -o verbose` would list them."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from console.errors import NixdeckError
from console.host import HostMonitor
from console.journal import PRIORITY_NAMES
from console.model import JournalEntry


def field_order(name: str) -> tuple[int, str]:
    """The entry's own fields first (MESSAGE, PRIORITY...), then those
    journald adds (_PID, _SYSTEMD_UNIT...), then its addresses (__CURSOR...)."""
    return len(name) - len(name.lstrip("_")), name


class JournalEntryScreen(ModalScreen[None]):
    """Opens on the fields the live view has and reads the rest from the
    host: the live stream carries only what a line shows."""

    CSS_PATH = "journal_entry.tcss"
    AUTO_FOCUS = "#entry-fields"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, monitor: HostMonitor, entry: JournalEntry) -> None:
        super().__init__()
        self.monitor = monitor
        self.entry = entry

    @property
    def host(self) -> str:
        return self.monitor.name

    def compose(self) -> ComposeResult:
        entry = self.entry
        stamp = time.strftime("%a %Y-%m-%d %H:%M:%S", time.localtime(entry.timestamp))
        micros = round(entry.timestamp % 1 * 1e6) % 1_000_000
        with Vertical(id="entry-dialog"):
            yield Static(f"{self.host} · {stamp}.{micros:06d} · {PRIORITY_NAMES[entry.priority]}", id="entry-title")
            yield Static("reading every field from the host…", id="entry-note")
            yield DataTable(id="entry-fields", cursor_type="row", show_header=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("field", "value")
        self._show_fields(self.entry)
        self._read_every_field()

    def _show_fields(self, entry: JournalEntry) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for name in sorted(entry.fields, key=field_order):
            # Text, not str: a value is shown as is, never read as markup.
            table.add_row(name, Text(entry.fields[name]), key=name, height=None)

    @work(exclusive=True, exit_on_error=False)
    async def _read_every_field(self) -> None:
        note = self.query_one("#entry-note", Static)
        try:
            entry = await self.monitor.read_entry(self.entry.cursor)
        except NixdeckError as exc:
            note.update(Text(f"only the fields the live view has: {exc}", style="bold yellow"))
            return
        self.entry = entry
        self._show_fields(entry)
        note.display = False
