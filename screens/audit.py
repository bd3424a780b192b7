"""The audit log, read-only: every change nixdeck made to a host, newest
first, filtered by host, outcome and text; enter shows one in full.

The log is SQLite (console.audit): it is read in a thread, never on the
event loop, and the app opens it on first use, so a log that cannot be
opened is a message here rather than a console that does not start.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from console.audit import AuditEntry, Outcome
from console.errors import NixdeckError
from console.fleet import Fleet

ENTRY_LIMIT = 1000  # entries read at most: the newest
DETAIL_WIDTH = 60  # characters of the detail or reason shown in the list
ALL = ""  # a filter's value when it keeps everything
OUTCOME_STYLES = {
    Outcome.SUCCEEDED: "bold green",
    Outcome.FAILED: "bold red",
    Outcome.REFUSED: "bold red",
    Outcome.UNKNOWN: "bold yellow",
    Outcome.RUNNING: "bold blue",
}
COLUMNS = (("started", "Started"), ("user", "User"), ("host", "Host"), ("operation", "Operation"),
           ("outcome", "Outcome"), ("detail", "Detail"))


def stamp(epoch: float, *, seconds: bool = False) -> str:
    return time.strftime("%a %Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(epoch))


def outcome_text(entry: AuditEntry) -> Text:
    """The outcome as recorded and, for an unknown one checked later, what the check found."""
    text = Text(entry.outcome.value, style=OUTCOME_STYLES[entry.outcome])
    if entry.resolved_outcome is not None:
        text.append(" → ", style="dim")
        text.append(entry.resolved_outcome.value, style=OUTCOME_STYLES[entry.resolved_outcome])
    return text


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def detail_text(entry: AuditEntry) -> Text:
    """What the operation did and, when it did not succeed, why."""
    text = Text(one_line(entry.detail, DETAIL_WIDTH))
    if entry.reason:
        if text:
            text.append(" · ", style="dim")
        room = max(12, DETAIL_WIDTH - len(text))
        text.append(one_line(entry.reason, room), style="red" if entry.outcome is not Outcome.UNKNOWN else "yellow")
    return text


def preview_text(entry: AuditEntry) -> Text:
    text = Text.assemble((f"#{entry.id} ", "dim"), entry.detail)
    if entry.reason:
        text.append(" · " if entry.detail else "", style="dim")
        text.append(entry.reason, style="red" if entry.outcome is not Outcome.UNKNOWN else "yellow")
    return text


def entry_cells(entry: AuditEntry) -> tuple[Text, ...]:
    return (Text(stamp(entry.started)), Text(entry.local_user), Text(entry.host, style="bold"),
            Text(entry.operation), outcome_text(entry), detail_text(entry))


def duration_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def entry_details(entry: AuditEntry) -> RenderableType:
    """Everything recorded about one operation. Every text from the log is
    shown as it is, never read as markup."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Outcome", outcome_text(entry))
    grid.add_row("Host", Text(entry.host))
    grid.add_row("User", Text(f"{entry.local_user} (nixdeck pid {entry.pid})"))
    grid.add_row("Started", Text(stamp(entry.started, seconds=True)))
    if entry.ended is not None:
        ended = Text(f"{stamp(entry.ended, seconds=True)}, after {duration_text(entry.ended - entry.started)}")
    elif entry.outcome is Outcome.RUNNING:
        ended = Text("still running", style=OUTCOME_STYLES[Outcome.RUNNING])
    else:
        ended = Text("never seen to end", style="yellow")
    grid.add_row("Ended", ended)
    grid.add_row("Exit status", Text(str(entry.exit_status)) if entry.exit_status is not None else Text("-", "dim"))
    if entry.detail:
        grid.add_row("Detail", Text(entry.detail))
    if entry.reason:
        grid.add_row("Reason", Text(entry.reason))
    if entry.resolved_at is not None:
        resolved = Text(f"{stamp(entry.resolved_at, seconds=True)}: ")
        if entry.resolved_outcome is not None:
            resolved.append(entry.resolved_outcome.value, style=OUTCOME_STYLES[entry.resolved_outcome])
        grid.add_row("Resolved", resolved)
        grid.add_row("Resolution", Text(entry.resolution or ""))
    commands = Text("\n".join(f"$ {line}" for line in entry.command_lines)) if entry.commands \
        else Text("none recorded", style="dim")
    output = Text(entry.output_tail) if entry.output_tail else Text("none recorded", style="dim")
    return Group(grid, Text(), Text("Commands", style="bold underline"), commands, Text(),
                 Text("Output, last lines", style="bold underline"), output)


class AuditTable(DataTable[Text]):
    """The list of operations: enter shows the highlighted one in full."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details"),
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]


class AuditEntryScreen(ModalScreen[None]):
    """One operation in full: commands, times, exit status, output, resolution."""

    CSS_PATH = "audit.tcss"
    AUTO_FOCUS = "#audit-entry-body"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, entry: AuditEntry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        with Vertical(id="audit-entry-dialog"):
            yield Static(Text(f"#{entry.id} {entry.operation} on {entry.host}"), id="audit-entry-title")
            with VerticalScroll(id="audit-entry-body"):
                yield Static(entry_details(entry), id="audit-entry-details")
        yield Footer(compact=True, show_command_palette=False)


class AuditScreen(Screen[None]):
    CSS_PATH = "audit.tcss"
    AUTO_FOCUS = "#audit-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "focus_search", "Search"),
        Binding("h", "cycle_host", "Host"),
        Binding("o", "cycle_outcome", "Outcome"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, fleet: Fleet) -> None:
        super().__init__()
        self.fleet = fleet
        self.entries: dict[str, AuditEntry] = {}
        """The entries shown, by row key (their id)."""
        self._hosts = sorted(fleet.monitors)  # the host filter's choices, widened by the log's
        self._request = 0  # the newest read asked for; older answers are dropped
        self._started = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="audit-filters"):
            yield Select(self._host_options(), value=ALL, allow_blank=False, compact=True, id="audit-host")
            outcomes = [("all outcomes", ALL), *((outcome.value, outcome.value) for outcome in Outcome)]
            yield Select(outcomes, value=ALL, allow_blank=False, compact=True, id="audit-outcome")
            yield Input(placeholder="search commands, output, reasons", compact=True, id="audit-search")
        yield AuditTable(cursor_type="row", zebra_stripes=True, id="audit-table")
        yield Static(id="audit-preview")
        yield Static("reading the audit log…", id="audit-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = "audit log"
        table = self.query_one(AuditTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self._started = True
        self.read_entries()

    def on_screen_resume(self) -> None:
        # Back from an entry's details, say: what was recorded meanwhile shows.
        if self._started:
            self.read_entries()

    # --- reading ------------------------------------------------------------------------------

    def _host_options(self) -> list[tuple[str, str]]:
        return [("all hosts", ALL), *((host, host) for host in self._hosts)]

    @property
    def filters(self) -> tuple[str | None, Outcome | None, str | None]:
        """(host, outcome, text) as the filter bar sets them; None keeps all."""
        host = self.query_one("#audit-host", Select).value
        outcome = self.query_one("#audit-outcome", Select).value
        text = self.query_one("#audit-search", Input).value.strip()
        return (host if isinstance(host, str) and host else None,
                Outcome(outcome) if isinstance(outcome, str) and outcome else None, text or None)

    def read_entries(self) -> None:
        """Read the entries the filters keep, in a thread; shown when read."""
        self._request += 1
        self._read(self._request, *self.filters)

    @work(thread=True, exclusive=True, group="audit", exit_on_error=False)
    def _read(self, request: int, host: str | None, outcome: Outcome | None, text: str | None) -> None:
        try:
            entries = self.app.audit.entries(host=host, outcome=outcome, text=text, limit=ENTRY_LIMIT)
        except (NixdeckError, sqlite3.Error) as exc:
            self.app.call_from_thread(self._show_problem, request, f"cannot read the audit log: {exc}")
            return
        self.app.call_from_thread(self._show_entries, request, entries)

    # --- what is shown ------------------------------------------------------------------------

    def _show_problem(self, request: int, problem: str) -> None:
        if request == self._request:
            self.query_one("#audit-status", Static).update(Text(problem, style="bold red"))

    def _show_entries(self, request: int, entries: list[AuditEntry]) -> None:
        if request != self._request:
            return  # the filters changed meanwhile: a newer read is on its way
        self._widen_hosts(entry.host for entry in entries)
        table = self.query_one(AuditTable)
        highlighted = self._highlighted_key()
        shown = {str(entry.id): entry for entry in entries}
        with self.app.batch_update():
            self.query_one("#audit-preview", Static).display = False
            table.clear()
            for key, entry in shown.items():
                table.add_row(*entry_cells(entry), key=key)
            if highlighted in shown:
                table.move_cursor(row=table.get_row_index(highlighted))
        self.entries = shown
        self._show_status(len(entries))

    def _widen_hosts(self, hosts: Iterable[str]) -> None:
        """Hosts in the log that the config no longer has are choices too
        (learnt from what is read while every host is shown)."""
        found = set(hosts) - set(self._hosts)
        if not found:
            return
        self._hosts = sorted({*self._hosts, *found})
        select = self.query_one("#audit-host", Select)
        value = select.value
        with self.prevent(Select.Changed):
            select.set_options(self._host_options())
            select.value = value

    def _highlighted_key(self) -> str | None:
        table = self.query_one(AuditTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _show_status(self, count: int) -> None:
        host, outcome, text = self.filters
        filtered = host is not None or outcome is not None or text is not None
        if count == 0:
            status = Text("no operation matches the filters" if filtered else "no operations recorded yet",
                          style="dim")
        else:
            status = Text(f"{count} operation{'s' if count != 1 else ''}")
            if count >= ENTRY_LIMIT:
                status.append(f" (the newest {ENTRY_LIMIT})", style="yellow")
            status.append(" · newest first · enter: details", style="dim")
        self.query_one("#audit-status", Static).update(status)

    # --- filters and actions ------------------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.read_entries()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.read_entries()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(AuditTable).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The highlighted operation's detail and reason in full: on a narrow
        # terminal the Detail column is off to the right.
        event.stop()
        entry = self.entries.get(str(event.row_key.value))
        preview = self.query_one("#audit-preview", Static)
        preview.update(preview_text(entry) if entry is not None else Text())
        preview.display = entry is not None and bool(entry.detail or entry.reason)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        entry = self.entries.get(str(event.row_key.value))
        if entry is not None:
            self.app.push_screen(AuditEntryScreen(entry))

    def action_back(self) -> None:
        """Out of the filter bar first, then off the screen."""
        table = self.query_one(AuditTable)
        if self.focused is not None and self.focused is not table:
            table.focus()
        else:
            self.app.pop_screen()

    def action_focus_search(self) -> None:
        self.query_one("#audit-search", Input).focus()

    def action_refresh(self) -> None:
        self.read_entries()

    def _cycle(self, select_id: str, values: list[str]) -> None:
        select = self.query_one(select_id, Select)
        current = select.value if select.value in values else ALL
        select.value = values[(values.index(current) + 1) % len(values)]  # type: ignore[arg-type]

    def action_cycle_host(self) -> None:
        """All hosts, then each host in turn."""
        self._cycle("#audit-host", [ALL, *self._hosts])

    def action_cycle_outcome(self) -> None:
        """All outcomes, then each outcome in turn."""
        self._cycle("#audit-outcome", [ALL, *(outcome.value for outcome in Outcome)])
