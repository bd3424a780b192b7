"""A journal to embed anywhere: one host's or every host's merged, live or
the previous boot, with a one-line status and (unless compact) a one-line
filter bar.

The containing screen calls hosts_changed() when the engine has news for a
host and resync() when it comes back on top; the pane then takes only what
the host's JournalBuffer stored since it last looked (JournalBuffer.since).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select, Static
from textual.worker import Worker, WorkerState

from console.errors import NixdeckError
from console.fleet import Fleet
from console.journal import PRIORITY_NAMES, JournalMark
from console.journalview import DEBUG, JournalFilter, JournalView, parse_units
from console.model import JournalEntry
from screens.journal_entry import JournalEntryScreen
from widgets.journal_log import JournalLog

ALL_HOSTS = ""  # the host selector's value for the merged view
PREVIOUS_BOOT_GROUP = "previous-boot"

PreviousBoot = tuple[tuple[str, ...], list[list[JournalEntry] | NixdeckError]]
"""The hosts asked, and for each its previous boot's entries or why there are none."""


class JournalPane(Vertical):
    DEFAULT_CSS = """
    JournalPane {
        height: 1fr;
        & > #journal-filters {
            height: 1;
            & > Select { width: 16; margin-right: 1; }
            & > #journal-unit { width: 20; margin-right: 1; }
            & > #journal-search { width: 1fr; }
        }
        & > JournalLog { height: 1fr; }
        & > #journal-status { height: 1; background: $panel; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Keys that change what the status line reports are the pane's, so
        # that it says so in the same turn: a message from the log would
        # wait two turns of the event loop, long ones in a flood.
        Binding("p", "toggle_pause", "Pause"),
        Binding("space", "toggle_pause", "Pause", show=False),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("enter", "open_entry", "Entry"),
        Binding("slash", "focus('journal-search')", "Find"),
        Binding("u", "focus('journal-unit')", "Unit", show=False),
        Binding("l", "cycle_priority", "Prio"),
        Binding("b", "toggle_boot", "Boot"),
        Binding("h", "cycle_host", "Host"),
    ]
    # Without a filter bar there is nothing to filter or switch.
    _FULL_ONLY: ClassVar[set[str]] = {"focus", "cycle_priority", "toggle_boot", "cycle_host"}

    def __init__(self, fleet: Fleet, host: str | None, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fleet = fleet
        self.host = host
        """The host shown, or None for every host merged."""
        self.compact = compact
        self.previous_boot = False
        self._boot_note = ""  # how reading the previous boot went
        self._marks: dict[str, JournalMark | None] = {}
        self._log = JournalLog(self._new_view(JournalFilter()))
        self._started = False

    def compose(self) -> ComposeResult:
        if not self.compact:
            with Horizontal(id="journal-filters"):
                hosts = [("all hosts", ALL_HOSTS), *((name, name) for name in self.fleet.monitors)]
                yield Select(hosts, value=self.host or ALL_HOSTS, allow_blank=False, compact=True, id="journal-host")
                levels = [(name if level < DEBUG else "all levels", level) for level, name in enumerate(PRIORITY_NAMES)]
                yield Select(levels, value=DEBUG, allow_blank=False, compact=True, id="journal-priority")
                yield Input(placeholder="unit", compact=True, id="journal-unit")
                yield Input(placeholder="search", compact=True, id="journal-search")
        yield self._log
        yield Static(id="journal-status")

    def on_mount(self) -> None:
        self._started = True
        self._show_hosts(self.host)

    @property
    def log(self) -> JournalLog:
        return self._log

    @property
    def shown_hosts(self) -> tuple[str, ...]:
        return (self.host,) if self.host is not None else tuple(self.fleet.monitors)

    # --- news from the engine ------------------------------------------------------------

    def hosts_changed(self, hosts: Iterable[str]) -> None:
        """The engine has news for `hosts`: take their new journal entries."""
        shown = [host for host in hosts if host in self.shown_hosts] if self._started else []
        if not shown:
            return
        if not self.previous_boot:
            for host in shown:
                self._pull(host)
        self._show_status()

    def resync(self) -> None:
        """Catch up with everything that came while the pane was not looking."""
        if not self._started:
            return
        if not self.previous_boot:
            for host in self.shown_hosts:
                self._pull(host)
        self._show_status()

    def _pull(self, host: str) -> None:
        entries, replace_all, self._marks[host] = self.fleet[host].journal.since(self._marks.get(host))
        if replace_all:
            self._log.replace_host(host, entries)
        elif entries:
            self._log.add(host, entries)

    # --- what is shown ---------------------------------------------------------------------

    def _new_view(self, journal_filter: JournalFilter) -> JournalView:
        hosts = self.shown_hosts
        # Each host's buffer is bounded by its settings; the view holds at most all of them.
        maxlen = sum(self.fleet[host].journal.maxlen for host in hosts)
        tag_width = max(map(len, hosts)) if self.host is None else 0
        return JournalView(maxlen, filter=journal_filter, tag_width=tag_width)

    def _show_hosts(self, host: str | None) -> None:
        """Start afresh on `host` (None: all), live or the previous boot."""
        self.host = host
        self._marks.clear()
        self._log.view = self._new_view(self._log.view.filter)
        self.workers.cancel_group(self, PREVIOUS_BOOT_GROUP)
        if self.previous_boot:
            self._boot_note = "loading previous boot…"
            self._read_previous_boot(self.shown_hosts)
        else:
            self._boot_note = ""
            for name in self.shown_hosts:
                self._pull(name)
        self._show_status()

    def _filter_from_bar(self) -> JournalFilter:
        return JournalFilter(
            priority=self.query_one("#journal-priority", Select).value,  # type: ignore[arg-type]
            units=parse_units(self.query_one("#journal-unit", Input).value),
            text=self.query_one("#journal-search", Input).value,
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._log.set_filter(self._filter_from_bar())
        self._show_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._log.focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "journal-host":
            host = event.value or None
            if host != self.host:
                self._show_hosts(host)  # type: ignore[arg-type]
        else:
            self._log.set_filter(self._filter_from_bar())
            self._show_status()

    def action_toggle_pause(self) -> None:
        self._log.toggle_pause()
        self._show_status()

    def on_journal_log_followed(self, event: JournalLog.Followed) -> None:
        event.stop()
        self._show_status()

    def action_toggle_wrap(self) -> None:
        self._log.toggle_wrap()
        self._show_status()

    def _show_status(self) -> None:
        view = self._log.view
        parts: list[Text] = []
        if self.previous_boot:
            parts.append(Text("previous boot", style="bold"))
        elif view.paused:
            parts.append(Text(f"paused · {view.pending} new", style="bold yellow"))
        else:
            parts.append(Text("● live", style="bold green"))
        if self._boot_note:
            parts.append(Text(self._boot_note))
        # Problems before figures: a narrow pane cuts the end of the line.
        for host in self.shown_hosts:
            if error := self.fleet[host].journal_error:
                parts.append(Text(error if self.host else f"{host}: {error}", style="red"))
        parts.append(Text(f"{len(view.visible)}/{len(view)} lines"))
        if self._log.wrap:
            parts.append(Text("wrapped"))
        if summary := view.filter.describe():
            parts.append(Text(summary))
        status = Text(" · ").join(parts)
        widget = self.query_one("#journal-status", Static)
        if widget.content != status:
            # One line, as wide as the pane whatever it says: no layout pass,
            # which in a flood would run for every batch of lines.
            widget.update(status, layout=False)

    # --- the previous boot -------------------------------------------------------------------

    @work(exclusive=True, group=PREVIOUS_BOOT_GROUP, exit_on_error=False)
    async def _read_previous_boot(self, hosts: tuple[str, ...]) -> PreviousBoot:
        reads = [self.fleet[host].read_journal(boot="-1", lines=self.fleet[host].journal.maxlen) for host in hosts]
        results = await asyncio.gather(*reads, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, NixdeckError):
                raise result  # a bug, not a host's problem: the worker fails with it
        return hosts, results  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != PREVIOUS_BOOT_GROUP or not self.previous_boot:
            return
        if event.state == WorkerState.ERROR:
            self._boot_note = f"cannot read the previous boot: {worker.error}"
        elif event.state == WorkerState.SUCCESS:
            hosts, results = worker.result  # type: ignore[misc]
            if hosts != self.shown_hosts:
                return  # read for hosts no longer shown
            self._show_previous_boot(hosts, results)
        self._show_status()

    def _show_previous_boot(self, hosts: tuple[str, ...], results: list[list[JournalEntry] | NixdeckError]) -> None:
        missing, failed = [], []
        for host, result in zip(hosts, results, strict=True):
            if isinstance(result, NixdeckError):
                failed.append(f"{host}: {result}")
            elif not result:
                missing.append(host)
            else:
                self._log.add(host, result)
        if self.host is not None and missing:
            notes = ["no previous boot in this host's journal"]
        else:
            notes = [f"no previous boot: {', '.join(missing)}"] if missing else []
        self._boot_note = " · ".join(notes + failed)

    # --- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.compact and action in self._FULL_ONLY)

    def action_open_entry(self) -> None:
        row = self._log.cursor_row
        if row is None:
            self.app.bell()
            return
        self.app.push_screen(JournalEntryScreen(self.fleet[row.host], row.entry))

    def action_focus(self, widget_id: str) -> None:
        self.query_one(f"#{widget_id}").focus()

    def action_cycle_priority(self) -> None:
        """One level more severe each time, then back to all levels."""
        select = self.query_one("#journal-priority", Select)
        level: int = select.value  # type: ignore[assignment]
        select.value = level - 1 if level > 0 else DEBUG

    def action_cycle_host(self) -> None:
        """All hosts, then each host in turn."""
        select = self.query_one("#journal-host", Select)
        order = [ALL_HOSTS, *self.fleet.monitors]
        select.value = order[(order.index(select.value) + 1) % len(order)]  # type: ignore[arg-type]

    def action_toggle_boot(self) -> None:
        self.previous_boot = not self.previous_boot
        self._show_hosts(self.host)
