"""System generations, read-only: one host's in full, or every host's in a
line each (how many, the boot default and the booted one, what their
closures weigh, how full the store's disk is).

Three generations are told apart, as console.generations does: the boot
default (the system profile, "current" there), the running one and the
booted one. The host view's "current" is the running one, so this screen
says "default" for the profile's to keep the two apart.

Everything is read through console.generations in workers, one per host:
a slow or failing host holds up only its own row.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from console.errors import NixdeckError
from console.fleet import Fleet
from console.generations import (
    StoreUsage,
    SystemGeneration,
    list_generations,
    store_usage,
    with_closure_sizes,
)
from console.humanize import human_bytes
from console.model import HostState
from console.overview import age_text
from console.sparkline import plain_terminal
from widgets.host_state import state_cell
from widgets.messages import HostsChanged

# How often the ages of down hosts ("down 2 min") move on.
AGE_REFRESH_S = 1.0
HOST_GROUP = "generations"  # the per-host mode's one worker
PENDING = Text("…", style="dim", justify="right")
UNKNOWN = Text("?", style="dim", justify="right")
NONE = Text("-", style="dim", justify="center")

# (key, header) of each mode's columns.
GENERATION_COLUMNS = (("number", "Gen"), ("roles", "D R B"), ("built", "Built"), ("age", "Age"),
                      ("nixos", "NixOS"), ("kernel", "Kernel"), ("closure", "Closure"))
HOST_COLUMNS = (("host", "Host"), ("state", "State"), ("count", "Gens"), ("default", "Default"),
                ("booted", "Booted"), ("closures", "Closures"), ("disk", "Store disk"))
LEGEND = "D boot default · R running · B booted"


class RowTable(DataTable[Text]):
    """A table of rows; home and end go to the first and last, as in the overview."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]


class HostsTable(RowTable):
    """The fleet mode's table: enter opens the highlighted host."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]


def roles_cell(generation: SystemGeneration) -> Text:
    """D R B, each letter there when the generation has that role."""
    cell = Text()
    for letter, present, style in (("D", generation.current, "bold"), ("R", generation.running, "bold green"),
                                   ("B", generation.booted, "bold cyan")):
        if cell:
            cell.append(" ")
        cell.append(letter if present else "·", style=style if present else "dim")
    return cell


def generation_cells(generation: SystemGeneration, now: float, *, sizes_pending: bool) -> dict[str, Text]:
    created = generation.created
    if generation.closure_size is not None:
        closure = Text(human_bytes(generation.closure_size), justify="right")
    else:
        closure = PENDING if sizes_pending else UNKNOWN
    return {
        "number": Text(str(generation.number), style="bold" if generation.current else "", justify="right"),
        "roles": roles_cell(generation),
        "built": Text(time.strftime("%Y-%m-%d", time.localtime(created))) if created is not None else UNKNOWN,
        "age": Text(age_text(now - created), justify="right") if created is not None else UNKNOWN,
        "nixos": Text(generation.nixos_version) if generation.nixos_version else UNKNOWN,
        "kernel": Text(generation.kernel_version) if generation.kernel_version else UNKNOWN,
        "closure": closure,
    }


def numbers(generations: list[SystemGeneration], role: str) -> list[int]:
    """The numbers of the generations with `role` (current, running, booted):
    several when they share a store path."""
    return [g.number for g in generations if getattr(g, role)]


def numbers_text(found: list[int]) -> str:
    return "/".join(map(str, found)) if found else "?"


def role_hints(generations: list[SystemGeneration]) -> list[str]:
    """What the roles say about the next boot: a reboot pending when the
    boot default is not the booted generation; a note when it is not the
    running one either (after `nixos-rebuild test` or `boot`)."""
    default = next((g for g in generations if g.current), None)
    if default is None:
        return []
    hints = []
    if not default.booted:
        booted = numbers(generations, "booted")
        was = f"generation {numbers_text(booted)} is booted" if booted else "the booted system is none of these"
        hints.append(f"reboot pending: generation {default.number} is the boot default, {was}")
    if not default.running:
        running = numbers(generations, "running")
        now = f"generation {numbers_text(running)} is running" if running else "the running system is none of these"
        hints.append(f"{now}, not the boot default {default.number}")
    return hints


def disk_text(usage: StoreUsage) -> Text:
    if usage.disk_total is None or usage.disk_used is None or not usage.disk_total:
        return UNKNOWN
    percent = 100 * usage.disk_used / usage.disk_total
    style = "bold red" if percent >= 90 else "yellow" if percent >= 75 else ""
    return Text(f"{percent:.0f}% of {human_bytes(usage.disk_total)}", style=style, justify="right")


class GenerationsScreen(Screen[None]):
    """`host` None: every host in a line; else that host's generations."""

    CSS_PATH = "generations.tcss"
    AUTO_FOCUS = "DataTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("right_square_bracket", "switch_host(1)", "Next", tooltip="next host"),
        Binding("left_square_bracket", "switch_host(-1)", "Prev", tooltip="previous host"),
        Binding("c", "clean_up", "Clean up", tooltip="delete old generations and collect garbage, after a preview"),
        Binding("b", "roll_back", "Roll back", tooltip="switch to another generation, after a preview"),
    ]

    def __init__(self, fleet: Fleet, host: str | None) -> None:
        super().__init__()
        self.fleet = fleet
        self.host = host
        self.generations: dict[str, list[SystemGeneration]] = {}
        """Each host's generations as last read (newest figures shown)."""
        self.usage: dict[str, StoreUsage] = {}
        """Each host's store usage as last read (fleet mode)."""
        self.problems: dict[str, str] = {}
        """Why a host's figures could not be read, by host."""
        self._states: dict[str, HostState] = {}  # the state each host was last seen in
        self._sizes_pending = False
        self._ascii = plain_terminal()
        self._started = False
        self._looks: dict[tuple[str, str], tuple[object, ...]] = {}  # each cell as shown, by (row, column)

    @property
    def hosts(self) -> list[str]:
        """The hosts shown: the overview's order, then any it filters out."""
        if self.host is not None:
            return [self.host]
        order = [host for host in self.app.host_order if host in self.fleet.monitors]
        return order + sorted(set(self.fleet.monitors) - set(order))

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="gens-summary")
        yield Static(id="gens-hints")
        table_type = RowTable if self.host else HostsTable
        yield table_type(cursor_type="row", zebra_stripes=True, id="gens-table")
        yield Static(id="gens-notes")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"generations · {self.host}" if self.host else "generations · every host"
        table = self.query_one(DataTable)
        for key, label in GENERATION_COLUMNS if self.host else HOST_COLUMNS:
            table.add_column(label, key=key)
        if self.host is None:
            for host in self.hosts:
                table.add_row(*[NONE] * len(HOST_COLUMNS), key=host)
        self.set_interval(AGE_REFRESH_S, self._refresh_ages)
        self._started = True
        self._sync_states(self.hosts, query_all=True)
        self._show()

    # --- what is read, and when ---------------------------------------------------------------

    def _sync_states(self, hosts: list[str], *, query_all: bool = False) -> None:
        """Show each host's state; read the figures of a host that is up,
        if it just came up (or `query_all`)."""
        for host in hosts:
            state = self.fleet[host].status.state
            came_up = state is HostState.UP and self._states.get(host) is not HostState.UP
            self._states[host] = state
            if state is HostState.UP and (came_up or query_all):
                self._query(host)
            else:
                self._show_row(host)
        self._show_summary()

    def _query(self, host: str) -> None:
        if self.host is not None:
            self.run_worker(self._read_generations(host), group=HOST_GROUP, exclusive=True, exit_on_error=False)
        else:
            self.run_worker(self._read_usage(host), name=host, group=f"generations:{host}", exclusive=True,
                            exit_on_error=False)

    async def _read_generations(self, host: str) -> None:
        """The list first, then its closure sizes (slow on a big store)."""
        transport = self.fleet[host].transport
        self._note(host, "reading the system generations…")
        try:
            self.generations[host] = await list_generations(transport)
        except NixdeckError as exc:
            self._note(host, f"cannot read the generations: {exc}")
            return
        if not self.generations[host]:
            self._note(host, "no system generations here (not NixOS?)")
            return
        self._sizes_pending = True
        self._note(host, "reading closure sizes…")
        try:
            self.generations[host] = await with_closure_sizes(transport, self.generations[host])
        except NixdeckError as exc:
            self._note(host, f"no closure sizes: {exc}")
            return
        finally:
            self._sizes_pending = False
        self._note(host, None)

    async def _read_usage(self, host: str) -> None:
        """The list first (count, default and booted), then the store usage."""
        transport = self.fleet[host].transport
        self._note(host, None)
        try:
            self.generations[host] = await list_generations(transport)
            self._show_row(host)
            self.usage[host] = await store_usage(transport)
        except NixdeckError as exc:
            self._note(host, f"cannot read: {exc}")
            return
        self._show_row(host)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A bug, not a host's answer: said on screen rather than lost.
        if event.state is WorkerState.ERROR:
            host = self.host or event.worker.name
            self._note(host, f"failed: {type(event.worker.error).__name__}: {event.worker.error}")

    def on_hosts_changed(self, message: HostsChanged) -> None:
        shown = [host for host in self.hosts if host in message.hosts]
        if shown:
            self._sync_states(shown)

    def on_screen_resume(self) -> None:
        # Back on top: hosts that came up meanwhile are read (no news came here).
        if self._started:
            self._sync_states(self.hosts)

    def _refresh_ages(self) -> None:
        """Down hosts' "down 2 min" moves on."""
        for host in self.hosts:
            if self.fleet[host].status.state is not HostState.UP:
                self._show_row(host)

    # --- what is shown ------------------------------------------------------------------------

    def _note(self, host: str, problem: str | None) -> None:
        """Say how reading the host goes (None: nothing to say); its row anew."""
        if problem is None:
            self.problems.pop(host, None)
        else:
            self.problems[host] = problem
        self._show_row(host)
        self._show_notes()

    def _show(self) -> None:
        for host in self.hosts:
            self._show_row(host)
        self._show_summary()
        self._show_notes()

    def _show_row(self, host: str) -> None:
        if self.host is None:
            self._show_host(host)
        else:
            self._show_generations()

    def _show_notes(self) -> None:
        notes = Text()
        for host in self.hosts:
            problem = self.problems.get(host)
            if problem is None:
                continue
            if notes:
                notes.append("\n")
            if self.host is None:
                notes.append(f"{host}: ", style="bold")
            reading = problem.endswith("…")
            notes.append(problem, style="dim" if reading else "yellow" if problem.startswith("no ") else "bold red")
        widget = self.query_one("#gens-notes", Static)
        widget.update(notes)
        widget.display = bool(notes)

    def _show_host(self, host: str) -> None:
        """One host's line in the fleet mode."""
        self._set_cells(host, self._host_cells(host, self.app.clock()))

    def _set_cells(self, row: str, cells: dict[str, Text]) -> None:
        """Update the cells of a row that look different from what is shown
        (hosts' news comes several times a second)."""
        table = self.query_one(DataTable)
        for column, cell in cells.items():
            look = (cell.plain, str(cell.style), tuple(cell.spans), cell.justify)
            if self._looks.get((row, column)) != look:
                self._looks[row, column] = look
                table.update_cell(row, column, cell, update_width=True)

    def _show_summary(self) -> None:
        if self.host is not None:
            return  # the per-host mode's is shown with its rows
        up = sum(self.fleet[h].status.state is HostState.UP for h in self.hosts)
        summary = Text(f"{len(self.hosts)} hosts, {up} up", style="bold")
        summary.append("   Closures: all system generations' closures together", style="dim")
        self.query_one("#gens-summary", Static).update(summary)
        self.query_one("#gens-hints", Static).display = False

    def _host_cells(self, host: str, now: float) -> dict[str, Text]:
        monitor = self.fleet[host]
        generations = self.generations.get(host)
        usage = self.usage.get(host)
        pending = PENDING if monitor.status.state is HostState.UP and host not in self.problems else NONE
        cells = {"host": Text(host, style="bold"), "state": state_cell(monitor.status, now, ascii=self._ascii)}
        if generations is None:
            cells |= dict.fromkeys(("count", "default", "booted"), pending)
        else:
            default, booted = numbers(generations, "current"), numbers(generations, "booted")
            cells["count"] = Text(str(len(generations)), justify="right")
            cells["default"] = Text(numbers_text(default), justify="right")
            cells["booted"] = Text(numbers_text(booted), justify="right",
                                   style="bold yellow" if default and booted and default != booted else "")
        if usage is None:
            cells |= dict.fromkeys(("closures", "disk"), pending if generations is not None else NONE)
        else:
            cells["closures"] = Text(human_bytes(usage.system_bytes), justify="right") \
                if usage.system_bytes is not None else UNKNOWN
            cells["disk"] = disk_text(usage)
        return cells

    def _show_generations(self) -> None:
        """The per-host mode: its summary, hints and one row per generation, newest first."""
        assert self.host is not None
        monitor = self.fleet[self.host]
        now = self.app.clock()
        generations = self.generations.get(self.host)
        summary = Text.assemble((self.host, "bold"), " ", state_cell(monitor.status, now, ascii=self._ascii))
        if generations:
            summary.append(f"   {len(generations)} generations · boot default "
                           f"{numbers_text(numbers(generations, 'current'))} · running "
                           f"{numbers_text(numbers(generations, 'running'))} · booted "
                           f"{numbers_text(numbers(generations, 'booted'))}")
            summary.append(f"\n{LEGEND}", style="dim")
        elif monitor.status.state is not HostState.UP:
            summary.append("   read once the host is up", style="dim")
        self.query_one("#gens-summary", Static).update(summary)
        hints = role_hints(generations or [])
        widget = self.query_one("#gens-hints", Static)
        widget.update(Text("\n".join(hints), style="bold yellow"))
        widget.display = bool(hints)

        table = self.query_one(DataTable)
        rows = {str(g.number): generation_cells(g, now, sizes_pending=self._sizes_pending)
                for g in reversed(generations or [])}
        if list(rows) != [str(key.value) for key in table.rows]:
            table.clear()
            self._looks.clear()
            for key in rows:
                table.add_row(*[NONE] * len(GENERATION_COLUMNS), key=key)
        for key, cells in rows.items():
            self._set_cells(key, cells)

    # --- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Moving from host to host and rolling back are the per-host mode's.
        return not (action in ("switch_host", "roll_back") and self.host is None)

    def action_refresh(self) -> None:
        self._sync_states(self.hosts, query_all=True)

    def action_switch_host(self, step: int) -> None:
        assert self.host is not None
        order = [host for host in self.app.host_order if host in self.fleet.monitors]
        if self.host not in order:
            order = sorted(self.fleet.monitors)
        following = order[(order.index(self.host) + step) % len(order)]
        if following != self.host:
            self.app.switch_screen(GenerationsScreen(self.fleet, following))

    def action_clean_up(self) -> None:
        self.app.open_cleanup(self.hosts)

    def action_roll_back(self) -> None:
        assert self.host is not None
        self.app.open_rollback(self.host)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.host is None and event.row_key.value is not None:
            self.app.open_generations(event.row_key.value)
