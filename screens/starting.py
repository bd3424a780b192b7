"""What nixdeck shows for the moment between starting and knowing its
settings: the app's frame, and which config is being read.

Validating the settings needs pydantic, and opening the fleet overview needs
the engine and its widgets; loading both takes longer than Textual itself, so
this screen (which needs neither) is the first frame. It is made of plain
Statics: Textual's Header and Footer keep updating themselves from watchers
that may still fire after a screen this short-lived is gone.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static


class StartingScreen(Screen[None]):
    CSS_PATH = "starting.tcss"

    def __init__(self, config_name: str) -> None:
        super().__init__()
        self.config_name = config_name

    def compose(self) -> ComposeResult:
        yield Static(f"{self.app.title} — {self.app.sub_title}", id="starting-title")
        yield Static(f"Reading the settings ({self.config_name})…", id="starting-note")
        yield Static("q quits", id="starting-keys")
