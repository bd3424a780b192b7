"""The Textual app: settings and the engine in, screens out.

This is the only console module that imports Textual; the engine reports to it
through Fleet.subscribe and the app turns that into HostChanged messages for
the current screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from config.settings import Settings
from console.events import EngineEvent
from console.fleet import Fleet
from screens.fleet import FleetScreen
from widgets.messages import HostChanged


class NixdeckApp(App[None]):
    TITLE = "nixdeck"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(self, settings: Settings, *, config_path: Path | None = None) -> None:
        super().__init__()
        self.fleet = Fleet(settings)
        self.sub_title = str(config_path) if config_path else "this machine (no config file)"

    def on_mount(self) -> None:
        self.fleet.subscribe(self._forward_engine_event)
        self.fleet.start()
        self._fleet_screen = FleetScreen(self.fleet)
        self.push_screen(self._fleet_screen)

    def _forward_engine_event(self, event: EngineEvent) -> None:
        # Only the screen on top shows live data; a screen coming back to the
        # top reads everything afresh (on_screen_resume), so none is missed.
        self.screen.post_message(HostChanged(event.host))

    async def on_unmount(self) -> None:
        await self.fleet.stop()
