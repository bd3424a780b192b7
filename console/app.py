"""The Textual app: settings and the engine in, screens out.

This is the only console module that imports Textual; the engine reports to it
through Fleet.subscribe and the app gathers that news into HostsChanged
messages for the screen on top. Navigation between screens goes through the
app so that keys, the command palette and mouse clicks all open screens the
same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType

from config.settings import Settings
from console.collector import FullCollections
from console.events import EngineEvent, JournalAppended, JournalProblem
from console.fleet import Fleet
from screens.commands import FleetCommands
from screens.fleet import FleetScreen
from widgets.fleet_table import FleetTable
from widgets.messages import HostsChanged

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
        settings: Settings,
        *,
        config_path: Path | None = None,
        fleet: Fleet | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.fleet = fleet if fleet is not None else Fleet(settings)
        self.clock = clock
        """What "now" is for ages on screen; tests with frozen data freeze it."""
        self.sub_title = str(config_path) if config_path else "this machine (no config file)"
        self.theme = settings.theme
        # Hosts with engine news not yet passed on: state, facts or figures; journal.
        self._news: set[str] = set()
        self._journal_news: set[str] = set()
        self._news_handle: asyncio.TimerHandle | None = None
        self._news_passed_at = float("-inf")  # event loop time of the last batch passed on
        self._collections = FullCollections()

    def on_mount(self) -> None:
        self.fleet.subscribe(self._forward_engine_event)
        self._fleet_screen = FleetScreen(self.fleet)
        self.push_screen(self._fleet_screen)
        # Connecting starts once the first frame is out: the hosts are listed
        # (connecting…) at once, and the SSH imports do not delay the frame.
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        self._collections.take_over()
        self.set_interval(COLLECTION_CHECK_S, self._collections.collect_if_due)
        self.fleet.start()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown | events.MouseScrollUp):
            self._collections.input_seen()
        await super().on_event(event)

    def _forward_engine_event(self, event: EngineEvent) -> None:
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
        await self.fleet.stop()

    # --- navigation ---------------------------------------------------------------------

    @property
    def host_order(self) -> list[str]:
        """The hosts as the fleet overview lists them (its sort and filter),
        for moving from host to host elsewhere."""
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

    def open_side_by_side(self, hosts: Sequence[str]) -> None:
        from screens.multihost import MultiHostScreen

        self.push_screen(MultiHostScreen(self.fleet, list(hosts)))

    def action_toggle_help(self) -> None:
        from textual.widgets import HelpPanel

        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
