"""Guided generation cleanup for one host or several: set the policy, see per
host which generations go and what garbage collection would free, confirm,
then watch each host's steps and read what was actually freed.

Hosts are previewed and cleaned in parallel, each in its own worker: one
failing (down, no privilege, a step failing) shows its error in its own pane
and does not stop or hide the others.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static

from console.cleanup import CleanupPolicy
from console.cleanup_steps import CleanupPreview, CleanupResult, preview_cleanup
from console.errors import NixdeckError
from console.fleet import Fleet
from console.guided import carry_out_cleanup, obtain_elevation
from console.humanize import human_bytes
from console.model import HostState
from console.privilege import ElevatedTransport, Elevation
from screens.confirm import ConfirmScreen
from screens.password import ask_password
from widgets.step_log import StepLog

if TYPE_CHECKING:
    from console.app import NixdeckApp


def preview_text(preview: CleanupPreview) -> Text:
    text = Text()
    for kept in preview.plan.keep:
        text.append(f"keep    {kept.generation.number:>4}  ", style="green")
        text.append(f"{kept.generation.nixos_version or '?'}  ({', '.join(kept.reasons)})\n")
    for gone in preview.plan.delete:
        text.append(f"delete  {gone.number:>4}  ", style="bold red")
        text.append(f"{gone.nixos_version or '?'}\n")
    if not preview.plan.delete:
        text.append("nothing to delete under this policy\n", style="dim")
    estimate = preview.estimate
    text.append(f"garbage collection would free about {human_bytes(estimate.bytes)} "
                f"({estimate.path_count} store paths)", style="bold")
    if preview.disk_available is not None:
        text.append(f"; the store's disk has {human_bytes(preview.disk_available)} free")
    return text


def result_text(result: CleanupResult) -> Text:
    text = Text("done: ", style="bold green")
    deleted = ", ".join(map(str, result.deleted)) or "none"
    text.append(f"deleted generations {deleted}; ")
    if result.gc_bytes_freed is not None:
        text.append(f"garbage collection freed {human_bytes(result.gc_bytes_freed)} "
                    f"({result.gc_paths_deleted} store paths)")
    if result.disk_freed is not None:
        text.append(f"; the disk has {human_bytes(result.disk_freed)} more free")
    text.append(f"\ngenerations now: {', '.join(str(g.number) for g in result.generations)}")
    return text


class HostCleanupPane(Vertical):
    """One host's preview, progress and result."""

    def __init__(self, host: str) -> None:
        super().__init__(classes="cleanup-host")
        self.host = host
        self.preview: CleanupPreview | None = None
        self.elevation: Elevation | None = None
        """Root's rights on the host, obtained for the preview (the estimate
        needs them) and kept for the cleanup: a sudo password is asked once."""
        self.border_title = host

    def compose(self) -> ComposeResult:
        yield Static("previewing…", classes="cleanup-preview")
        yield StepLog(classes="cleanup-log")

    def show(self, content: Text | str) -> None:
        self.query_one(".cleanup-preview", Static).update(content)


class CleanupScreen(Screen[None]):
    CSS_PATH = "cleanup.tcss"
    # Not the policy fields: there, p and c would be typed, not pressed.
    AUTO_FOCUS = "#cleanup-hosts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("p", "preview", "Preview"),
        Binding("c", "clean", "Clean up"),
    ]

    def __init__(self, fleet: Fleet, hosts: list[str]) -> None:
        super().__init__()
        self.fleet = fleet
        self.hosts = hosts
        self.cleaning: set[str] = set()
        """Hosts whose cleanup is under way."""

    @property
    def nixdeck(self) -> NixdeckApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        cleanup = self.nixdeck.settings.cleanup
        yield Header()
        yield Static(id="cleanup-banner")
        with Horizontal(id="cleanup-policy"):
            yield Label("keep the newest")
            yield Input(str(cleanup.keep_last), id="keep-last", type="integer", restrict=r"[0-9]*")
            yield Label("and every one newer than (days)")
            days = "" if cleanup.keep_newer_than_days is None else f"{cleanup.keep_newer_than_days:g}"
            yield Input(days, id="keep-days", type="number", placeholder="any age")
        with VerticalScroll(id="cleanup-hosts"):
            for host in self.hosts:
                yield HostCleanupPane(host)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"generation cleanup: {', '.join(self.hosts)}"
        self._show_banner()
        self.action_preview()

    def _show_banner(self, problem: str | None = None) -> None:
        banner = self.query_one("#cleanup-banner", Static)
        if self.nixdeck.settings.read_only:
            banner.update(Text("read-only mode: cleanup is disabled (nixdeck was started with --read-only "
                               "or read_only = true)", style="bold yellow"))
        elif problem:
            banner.update(Text(problem, style="bold red"))
        else:
            banner.update("The current and the booted generation are always kept. p: preview with this policy, "
                          "c: clean up after confirming.")

    def policy(self) -> CleanupPolicy | None:
        keep = self.query_one("#keep-last", Input).value.strip()
        days = self.query_one("#keep-days", Input).value.strip()
        try:
            policy = CleanupPolicy(int(keep or "0"), float(days) if days else None)
        except ValueError as exc:
            self._show_banner(f"policy: {exc}")
            return None
        self._show_banner()
        return policy

    def on_input_submitted(self, _: Input.Submitted) -> None:
        # Back to the hosts, where p and c are keys again.
        self.query_one("#cleanup-hosts").focus()
        self.action_preview()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clean":
            ready = any(pane.preview is not None for pane in self.query(HostCleanupPane))
            return None if self.nixdeck.settings.read_only or self.cleaning or not ready else True
        if action == "preview":
            return None if self.cleaning else True
        return True

    def action_preview(self) -> None:
        policy = self.policy()
        if policy is None:
            return
        for pane in self.query(HostCleanupPane):
            pane.preview = None
            pane.show("previewing…")
            self.run_worker(self._preview(pane, policy), group=f"preview:{pane.host}", exclusive=True,
                            exit_on_error=False)
        self.refresh_bindings()

    async def _preview(self, pane: HostCleanupPane, policy: CleanupPolicy) -> None:
        monitor = self.fleet[pane.host]
        if monitor.status.state is not HostState.UP:
            pane.show(Text(f"{monitor.status.state.value}: {monitor.status.error or 'not connected'}",
                           style="bold red"))
            return
        try:
            if pane.elevation is None:
                pane.elevation = await obtain_elevation(monitor.config, monitor.transport,
                                                        partial(ask_password, self.app))
            pane.preview = await preview_cleanup(pane.host, ElevatedTransport(monitor.transport, pane.elevation),
                                                 policy)
        except NixdeckError as exc:
            pane.show(Text(f"cannot preview: {exc}", style="bold red"))
            return
        pane.show(preview_text(pane.preview))
        self.refresh_bindings()

    def action_clean(self) -> None:
        panes = [pane for pane in self.query(HostCleanupPane) if pane.preview is not None]
        if not panes:
            return
        lines = []
        for pane in panes:
            assert pane.preview is not None
            doomed = ", ".join(str(g.number) for g in pane.preview.plan.delete) or "none"
            lines.append(f"{pane.host}: delete generations {doomed}, collect garbage "
                         f"(about {human_bytes(pane.preview.estimate.bytes)}), refresh the boot entries")

        def answered(yes: bool | None) -> None:
            if yes:
                self.cleaning = {pane.host for pane in panes}
                self.refresh_bindings()
                for pane in panes:
                    self.run_worker(self._clean(pane), group=f"clean:{pane.host}", exit_on_error=False)

        self.app.push_screen(ConfirmScreen(f"Clean up {len(panes)} host(s)?", "\n".join(lines), "Clean up"),
                             answered)

    async def _clean(self, pane: HostCleanupPane) -> None:
        monitor = self.fleet[pane.host]
        preview, elevation = pane.preview, pane.elevation
        assert preview is not None and elevation is not None
        try:
            result = await carry_out_cleanup(self.nixdeck.audit, self.nixdeck.settings, monitor.config,
                                             monitor.transport, preview, elevation, pane.query_one(StepLog).show)
        except NixdeckError as exc:
            pane.show(Text(f"not cleaned: {exc}", style="bold red"))
        else:
            pane.show(result_text(result))
        finally:
            pane.preview = None
            self.cleaning.discard(pane.host)
            self.refresh_bindings()
