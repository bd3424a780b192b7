"""A host's connection state as a short coloured word, the same everywhere."""

from __future__ import annotations

from rich.text import Text

from console.model import HostState, HostStatus
from console.overview import age_text

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_SPINNER = "|/-\\"
# The spinner turns with the 1 s age refresh: a slow tick, not an animation,
# so a slow link is not flooded with repaints.
SPINNER_STEP_S = 1.0

STATE_STYLES = {
    HostState.UP: "bold green",
    HostState.CONNECTING: "yellow",
    HostState.DOWN: "bold red",
    HostState.AUTH_FAILED: "bold red",
    HostState.HOST_KEY_UNKNOWN: "bold magenta",
    HostState.HOST_KEY_CHANGED: "bold white on red",
}


def state_cell(status: HostStatus, now: float, *, ascii: bool = False) -> Text:
    """up, ⠋ connecting, down 2 min (since last seen), KEY CHANGED, ..."""
    style = STATE_STYLES[status.state]
    match status.state:
        case HostState.UP:
            return Text("up", style=style)
        case HostState.CONNECTING:
            frames = ASCII_SPINNER if ascii else SPINNER
            return Text(f"{frames[int(now / SPINNER_STEP_S) % len(frames)]} connecting", style=style)
        case HostState.DOWN:
            since = status.last_seen if status.last_seen is not None else status.since
            return Text(f"down {age_text(now - since)}", style=style)
        case HostState.AUTH_FAILED:
            return Text("auth failed", style=style)
        case HostState.HOST_KEY_UNKNOWN:
            return Text("unknown key", style=style)
        case HostState.HOST_KEY_CHANGED:
            return Text("KEY CHANGED", style=style)
