"""Every field of one journal entry, as `journalctl -o verbose` would list them."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from console.journal import PRIORITY_NAMES
from console.model import JournalEntry


def field_order(name: str) -> tuple[int, str]:
    """The entry's own fields first (MESSAGE, PRIORITY...), then those
    journald adds (_PID, _SYSTEMD_UNIT...), then its addresses (__CURSOR...)."""
    return len(name) - len(name.lstrip("_")), name


class JournalEntryScreen(ModalScreen[None]):
    CSS_PATH = "journal_entry.tcss"
    AUTO_FOCUS = "#entry-fields"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, host: str, entry: JournalEntry) -> None:
        super().__init__()
        self.host = host
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        stamp = time.strftime("%a %Y-%m-%d %H:%M:%S", time.localtime(entry.timestamp))
        micros = round(entry.timestamp % 1 * 1e6) % 1_000_000
        with Vertical(id="entry-dialog"):
            yield Static(f"{self.host} · {stamp}.{micros:06d} · {PRIORITY_NAMES[entry.priority]}", id="entry-title")
            yield DataTable(id="entry-fields", cursor_type="row", show_header=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("field", "value")
        for name in sorted(self.entry.fields, key=field_order):
            # Text, not str: a value is shown as is, never read as markup.
            table.add_row(name, Text(self.entry.fields[name]), key=name, height=None)
