"""The Textual app: settings and the engine in, screens out.

This is the only console module that imports Textual; the engine reports to it
through Fleet.subscribe and the app gathers that news into HostsChanged
messages for the screen on top. Navigation between screens goes through the
app so that keys, the command palette and mouse clicks all open screens the
same way.

Started from a config not yet validated (the `nixdeck` command), the app
draws a first frame before it imports pydantic, the engine and the fleet
screen: those load in a thread, and a config that fails validation ends the
app with its message and exit status 2.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType

from config.loader import CONFIG_ERROR_EXIT, ConfigError, ConfigSource
from console.collector import FullCollections
from console.events import EngineEvent, JournalAppended, JournalProblem, StatusChanged
from console.model import HostState
from screens.commands import FleetCommands
from widgets.messages import HostsChanged

if TYPE_CHECKING:
    from config.settings import Settings
    from console.audit import AuditLog
    from console.fleet import Fleet
    from screens.fleet import FleetScreen

# Engine news is gathered this long before the screen on top hears of it: a
# fleet's samples and journal batches arrive dozens of times a second, and a
# Textual message costs far more to dispatch than a name costs to collect.
ENGINE_NEWS_BATCH_S = 0.1
# How often the app asks whether a full garbage collection is due.
COLLECTION_CHECK_S = 1.0


def theme_names() -> list[str]:
    """The themes a config may name."""
    from textual.theme import BUILTIN_THEMES

    return sorted(BUILTIN_THEMES)


class NixdeckApp(App[None]):
    TITLE = "nixdeck"
    COMMANDS = App.COMMANDS | {FleetCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "toggle_help", "Keys"),
    ]

    def __init__(
        self,
        settings: Settings | ConfigSource,
        *,
        config_path: Path | None = None,
        fleet: Fleet | None = None,
        clock: Callable[[], float] = time.time,
        audit: AuditLog | None = None,
    ) -> None:
        """`settings` validated, or a config source to validate once the
        first frame is out (then `config_path` is the source's). `audit` is
        the audit log; by default the user's, opened when first needed."""
        super().__init__()
        self.clock = clock
        """What "now" is for ages on screen; tests with frozen data freeze it."""
        self._audit = audit
        self._source: ConfigSource | None = None
        self.watching = False
        """Whether the settings are known and the fleet is being watched."""
        self.config_path = settings.path if isinstance(settings, ConfigSource) else config_path
        self.sub_title = str(self.config_path) if self.config_path else "this machine (no config file)"
        if isinstance(settings, ConfigSource):
            self._source = settings
            if settings.theme in theme_names():
                self.theme = settings.theme
        else:
            self._watch(settings, fleet)
        # Hosts with engine news not yet passed on: state, facts or figures; journal.
        self._news: set[str] = set()
        self._journal_news: set[str] = set()
        self._news_handle: asyncio.TimerHandle | None = None
        self._news_passed_at = float("-inf")  # event loop time of the last batch passed on
        self._collections = FullCollections()

    def _watch(self, settings: Settings, fleet: Fleet | None = None) -> None:
        from console.fleet import Fleet

        self.settings = settings
        self.fleet = fleet if fleet is not None else Fleet(settings)
        self.theme = settings.theme
        self.watching = True
        if settings.read_only:
            self.title = f"{self.TITLE} · READ-ONLY"

    def on_mount(self) -> None:
        # Start-up imports pydantic, the engine and the screens: without this,
        # Python's full passes walk all of Textual again and again meanwhile.
        self._collections.take_over()
        if self._source is None:
            self._start_fleet()
            self._open_fleet_screen()
        else:
            from screens.starting import StartingScreen

            self.push_screen(StartingScreen(str(self.config_path or "none: watching this machine")))
            self._load_settings(self._source)

    @work(thread=True, exit_on_error=False)
    def _load_settings(self, source: ConfigSource) -> None:
        try:
            settings = source.settings()
        except ConfigError as exc:
            self.call_from_thread(self._refuse_config, str(exc))
            return
        if settings.theme not in theme_names():
            origin = self.config_path or "the NIXDECK_THEME environment variable"
            self.call_from_thread(self._refuse_config, f"{origin}: theme: no theme is called {settings.theme!r}; "
                                  f"set theme to one of: {', '.join(theme_names())}")
            return
        # Connecting starts before the fleet overview is built: the hosts'
        # sshd do their part of the handshakes meanwhile. The overview's
        # modules load here, as pydantic did: off the event loop.
        self.call_from_thread(self._start_watching, settings)
        import screens.fleet  # noqa: F401

        self.call_from_thread(self._replace_starting_screen)

    def _refuse_config(self, problem: str) -> None:
        self.exit(return_code=CONFIG_ERROR_EXIT, message=Text(f"nixdeck: {problem}", no_wrap=True, overflow="ignore"))

    def _start_watching(self, settings: Settings) -> None:
        self._watch(settings)
        self._start_fleet()

    def _replace_starting_screen(self) -> None:
        self.pop_screen()
        self._open_fleet_screen()

    def _start_fleet(self) -> None:
        self.fleet.subscribe(self._forward_engine_event)
        self.fleet.start()

    def _open_fleet_screen(self) -> None:
        from screens.fleet import FleetScreen

        self._fleet_screen: FleetScreen = FleetScreen(self.fleet)
        self.push_screen(self._fleet_screen)
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        self._collections.take_over()
        self.set_interval(COLLECTION_CHECK_S, self._collections.collect_if_due)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown | events.MouseScrollUp):
            self._collections.input_seen()
        await super().on_event(event)

    def _forward_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, StatusChanged) and event.status.state is HostState.UP:
            self._recheck_interrupted(event.host)
        news = self._journal_news if isinstance(event, JournalAppended | JournalProblem) else self._news
        news.add(event.host)
        if self._news_handle is None:
            # News after a quiet spell goes out at once (a host going down,
            # the first figures at start-up); a burst waits for the batch.
            loop = asyncio.get_running_loop()
            wait = max(0.0, self._news_passed_at + ENGINE_NEWS_BATCH_S - loop.time())
            self._news_handle = loop.call_later(wait, self._pass_on_news)

    def _pass_on_news(self) -> None:
        # Only the screen on top shows live data; a screen coming back to the
        # top reads everything afresh (on_screen_resume), so none is missed.
        self._news_handle = None
        self._news_passed_at = asyncio.get_running_loop().time()
        hosts, self._news = frozenset(self._news), set()
        journals, self._journal_news = frozenset(self._journal_news), set()
        try:
            screen = self.screen
        except ScreenStackError:
            return  # shutting down: the screens are gone, the engine not yet
        screen.post_message(HostsChanged(hosts, journals))

    async def on_unmount(self) -> None:
        if self._news_handle is not None:
            self._news_handle.cancel()
        self._collections.hand_back()
        if self.watching:
            await self.fleet.stop()
        if self._audit is not None:
            self._audit.close()

    @work(group="recheck", exit_on_error=False)
    async def _recheck_interrupted(self, host: str) -> None:
        """Check what operations on `host` cut off by a lost connection really
        did, now that it is back, and record it (see console.recheck)."""
        from console.errors import NixdeckError
        from console.recheck import resolve_unknown

        try:
            audit = await asyncio.to_thread(lambda: self.audit)
            if not await asyncio.to_thread(audit.unresolved, host):
                return
            resolved = await resolve_unknown(audit, host, self.fleet[host].transport)
        except NixdeckError as exc:
            self.notify(f"{host}: could not check interrupted operations: {exc}", severity="warning")
            return
        if resolved:
            self.notify(f"{host}: checked {resolved} interrupted operation(s); see the audit log (A)")

    @property
    def audit(self) -> AuditLog:
        """The audit log, opened on first use (SQLite in the user's data
        directory): not before the first frame, and not at all by a console
        that never reads or writes it. Raises AuditError when it cannot be opened."""
        if self._audit is None:
            from console.audit import AuditLog, default_audit_path

            self._audit = AuditLog(default_audit_path())
        return self._audit

    # --- navigation ---------------------------------------------------------------------

    @property
    def host_order(self) -> list[str]:
        """The hosts as the fleet overview lists them (its sort and filter),
        for moving from host to host elsewhere."""
        from widgets.fleet_table import FleetTable

        shown = self._fleet_screen.query_one(FleetTable).shown_hosts
        return shown or sorted(self.fleet.monitors)

    def open_fleet(self) -> None:
        while len(self.screen_stack) > 2:  # the default screen, then the fleet's
            self.pop_screen()

    def open_host(self, host: str) -> None:
        from screens.host import HostScreen

        self.push_screen(HostScreen(self.fleet, host))

    def open_journal(self, host: str | None) -> None:
        from screens.journal import JournalScreen

        self.push_screen(JournalScreen(self.fleet, host))

    def open_generations(self, host: str | None) -> None:
        """One host's system generations, or (None) every host's in a line each."""
        from screens.generations import GenerationsScreen

        self.push_screen(GenerationsScreen(self.fleet, host))

    def open_cleanup(self, hosts: Sequence[str]) -> None:
        from screens.cleanup import CleanupScreen

        self.push_screen(CleanupScreen(self.fleet, list(hosts)))

    def open_rollback(self, host: str) -> None:
        from screens.rollback import RollbackScreen

        self.push_screen(RollbackScreen(self.fleet, host))

    def open_audit(self) -> None:
        from screens.audit import AuditScreen

        self.push_screen(AuditScreen(self.fleet))

    def open_side_by_side(self, hosts: Sequence[str]) -> None:
        from screens.multihost import MultiHostScreen

        self.push_screen(MultiHostScreen(self.fleet, list(hosts)))

    def action_toggle_help(self) -> None:
        from textual.widgets import HelpPanel

        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
