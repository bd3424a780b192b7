"""The messages the UI passes around. Engine news arrives as HostsChanged."""

from __future__ import annotations

from textual.message import Message


class HostsChanged(Message):
    """Something about these hosts changed; read their HostMonitors for what.

    Carrying only names lets a burst of engine news (samples, journal
    batches, from many hosts) arrive as one message: the newest state is
    always read from the engine when the message is handled.
    """

    def __init__(self, hosts: frozenset[str]) -> None:
        super().__init__()
        self.hosts = hosts
