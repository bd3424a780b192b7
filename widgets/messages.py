"""The messages the UI passes around. Engine news arrives as HostChanged."""

from __future__ import annotations

from textual.message import Message


class HostChanged(Message):
    """Something about a host changed; read its HostMonitor for what.

    Carrying only the name lets a burst of updates for one host (samples,
    journal batches) collapse into one message: the newest state is always
    read from the engine when the message is handled.
    """

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HostChanged) and message.host == self.host
