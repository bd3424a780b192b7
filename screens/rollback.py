"""Guided rollback of one host: pick the generation to go to (the previous
one is highlighted), read what changes between the current closure and the
target's, then switch now (with the host's safety net) or make it the boot
default, confirm, and watch the steps and the verification."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from console.closures import ClosureDiff
from console.errors import NixdeckError
from console.fleet import Fleet
from console.generations import SystemGeneration, list_generations
from console.guided import carry_out_rollback, obtain_elevation
from console.privilege import ElevatedTransport, Elevation
from console.rollback import (
    RollbackMode,
    RollbackPreview,
    RollbackResult,
    choose_target,
    preview_rollback,
)
from screens.confirm import ConfirmScreen
from screens.password import ask_password
from widgets.step_log import StepLog

if TYPE_CHECKING:
    from console.app import NixdeckApp


def generation_label(generation: SystemGeneration) -> Text:
    """Two lines, so that it reads the same in a narrow column: the number,
    date and roles; then the NixOS version."""
    made = time.strftime("%Y-%m-%d %H:%M", time.localtime(generation.created)) if generation.created else "?"
    marks = [name for name, flag in (("booted", generation.booted), ("running", generation.running)) if flag]
    text = Text(f"{generation.number:>4}  {made}")
    if marks:
        text.append(f"  {' '.join(marks)}", style="bold")
    text.append(f"\n      {generation.nixos_version or '?'}", style="dim")
    return text


def diff_text(diff: ClosureDiff) -> Text:
    before, after = diff.before, diff.after
    text = Text(f"generation {before.number} → {after.number}\n", style="bold")
    # Before and after on lines of their own: a version is long, the column may not be.
    text.append(f"NixOS   {before.nixos_version or '?'}\n      → {after.nixos_version or '?'}\n")
    text.append(f"kernel  {before.kernel_version or '?'}\n      → {after.kernel_version or '?'}\n\n")
    packages = diff.packages
    if packages.changed:
        text.append("Version changes\n", style="bold")
        for change in packages.changed:
            text.append(f"  {change.name}: {', '.join(change.before)} → {', '.join(change.after)}\n", style="yellow")
    if packages.added:
        text.append("Added\n", style="bold")
        for change in packages.added:
            text.append(f"  + {change.name} {', '.join(change.after)}\n", style="green")
    if packages.removed:
        text.append("Removed\n", style="bold")
        for change in packages.removed:
            text.append(f"  - {change.name} {', '.join(change.before)}\n", style="red")
    if not (packages.changed or packages.added or packages.removed):
        text.append("no package changes\n", style="dim")
    return text


def result_text(result: RollbackResult) -> Text:
    if result.reverted:
        return Text(f"not confirmed in time: the host switched back to generation {result.current_after}",
                    style="bold red")
    if not result.ok:
        return Text(f"the host is not on generation {result.target}: the boot default is {result.current_after}",
                    style="bold red")
    text = Text(f"done: generation {result.target} is the boot default", style="bold green")
    if result.mode is RollbackMode.SWITCH:
        text.append(" and running", style="bold green")
    if result.new_failed_units:
        text.append(f"\nnewly failed units: {', '.join(result.new_failed_units)}", style="bold red")
    else:
        text.append("\nno newly failed units")
    return text


class RollbackScreen(Screen[None]):
    CSS_PATH = "rollback.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "roll_back('switch')", "Switch now"),
        Binding("b", "roll_back('boot')", "Boot default"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, fleet: Fleet, host: str) -> None:
        super().__init__()
        self.fleet = fleet
        self.host = host
        self.generations: tuple[SystemGeneration, ...] = ()
        self.preview: RollbackPreview | None = None
        self.elevation: Elevation | None = None
        """Root's rights on the host, obtained before the first diff (the
        store queries need them) and kept: a sudo password is asked once."""
        self.rolling_back = False

    @property
    def nixdeck(self) -> NixdeckApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="rollback-banner")
        with Horizontal(id="rollback-body"):
            yield OptionList(id="rollback-targets")
            with VerticalScroll(id="rollback-diff-box"):
                yield Static("reading the generations…", id="rollback-diff")
        yield StepLog(id="rollback-log")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"rollback: {self.host}"
        banner = self.query_one("#rollback-banner", Static)
        if self.nixdeck.settings.read_only:
            banner.update(Text("read-only mode: rollback is disabled (nixdeck was started with --read-only "
                               "or read_only = true)", style="bold yellow"))
        else:
            within = self.nixdeck.settings.rollback.confirm_within
            banner.update(f"Pick the generation to go to. s: switch now (the host switches back by itself unless "
                          f"nixdeck confirms within {within:g} s); b: make it the boot default for the next boot.")
        self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "roll_back":
            return None if self.nixdeck.settings.read_only or self.rolling_back or self.preview is None else True
        return True

    def action_refresh(self) -> None:
        self.run_worker(self._list(), group="list", exclusive=True, exit_on_error=False)

    async def _list(self) -> None:
        diff = self.query_one("#rollback-diff", Static)
        monitor = self.fleet[self.host]
        try:
            if self.elevation is None:
                self.elevation = await obtain_elevation(monitor.config, monitor.transport,
                                                        partial(ask_password, self.app))
            self.generations = tuple(await list_generations(monitor.transport))
            current, default = choose_target(self.generations, None)
        except NixdeckError as exc:
            diff.update(Text(f"cannot roll back: {exc}", style="bold red"))
            return
        targets = self.query_one(OptionList)
        targets.clear_options()
        choices = [g for g in reversed(self.generations) if not g.current]
        targets.add_options([Option(generation_label(g), id=str(g.number)) for g in choices])
        targets.border_title = f"current: {current.number}"
        targets.highlighted = choices.index(default)
        targets.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.preview = None
            self.refresh_bindings()
            self.query_one("#rollback-diff", Static).update("comparing the closures…")
            self.run_worker(self._preview(int(event.option.id)), group="preview", exclusive=True,
                            exit_on_error=False)

    async def _preview(self, target: int) -> None:
        diff = self.query_one("#rollback-diff", Static)
        assert self.elevation is not None
        try:
            self.preview = await preview_rollback(self.host, ElevatedTransport(self.fleet[self.host].transport,
                                                                               self.elevation), target)
        except NixdeckError as exc:
            diff.update(Text(f"cannot compare: {exc}", style="bold red"))
            return
        diff.update(diff_text(self.preview.diff))
        self.refresh_bindings()

    def action_roll_back(self, mode_name: str) -> None:
        preview = self.preview
        if preview is None:
            return
        mode = RollbackMode(mode_name)
        if mode is RollbackMode.SWITCH:
            within = self.nixdeck.settings.rollback.confirm_within
            what = (f"{self.host} switches to generation {preview.target.number} now and makes it the boot default. "
                    f"If nixdeck cannot confirm over a new connection within {within:g} s, the host switches back "
                    f"to generation {preview.current.number} by itself.")
        else:
            what = (f"Generation {preview.target.number} becomes {self.host}'s boot default; the running system "
                    f"(generation {preview.current.number}) is not changed until the next boot.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.rolling_back = True
                self.refresh_bindings()
                self.run_worker(self._roll_back(preview, mode), group="rollback", exclusive=True,
                                exit_on_error=False)

        self.app.push_screen(ConfirmScreen(f"Roll {self.host} back to generation {preview.target.number}?", what,
                                           "Switch now" if mode is RollbackMode.SWITCH else "Set boot default"),
                             answered)

    async def _roll_back(self, preview: RollbackPreview, mode: RollbackMode) -> None:
        monitor = self.fleet[self.host]
        banner = self.query_one("#rollback-banner", Static)
        assert self.elevation is not None
        try:
            result = await carry_out_rollback(self.nixdeck.audit, self.nixdeck.settings, monitor.config,
                                              monitor.transport, preview, mode, self.elevation,
                                              self.query_one(StepLog).show)
        except NixdeckError as exc:
            banner.update(Text(f"not rolled back: {exc}", style="bold red"))
        else:
            banner.update(result_text(result))
        finally:
            self.rolling_back = False
            self.preview = None
            self.action_refresh()
