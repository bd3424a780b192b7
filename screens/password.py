"""The sudo password, asked in a masked field for one host. It goes to the
operation that asked and nowhere else: not stored, not logged, not kept once
the dialog is gone."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PasswordScreen(ModalScreen[str | None]):
    CSS_PATH = "password.tcss"
    AUTO_FOCUS = "#password-input"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        with Vertical(id="password-dialog"):
            yield Static(f"sudo on {self.host} wants the password of the login user", id="password-title")
            yield Input(password=True, placeholder="password (Enter: go on, Esc: cancel)", id="password-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        password = event.value
        event.input.value = ""
        self.dismiss(password)

    def action_cancel(self) -> None:
        self.dismiss(None)


async def ask_password(app: App[object], host: str) -> str | None:
    """The sudo password for `host`, or None if the user cancelled. Call
    from a worker: it waits for the dialog."""
    return await app.push_screen_wait(PasswordScreen(host))
