"""The messages the UI passes around. Engine news arrives as HostsChanged."""

from __future__ import annotations

from textual.message import Message


class HostsChanged(Message):
    """Something about these hosts changed; read their HostMonitors for what.

    `hosts` have a new state, facts or figures; `journals` have new journal
    entries or a journal problem (or its end). Carrying only names lets a
    burst of engine news (samples, journal batches, from many hosts) arrive
    as one message: the newest state is always read from the engine when the
    message is handled. Kept apart so that a screen showing no journal does
    no work for one, and a journal no work for samples.
    """

    def __init__(self, hosts: frozenset[str], journals: frozenset[str]) -> None:
        super().__init__()
        self.hosts = hosts
        self.journals = journals
