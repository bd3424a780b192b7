"""Command palette entries (ctrl+p): jump to any host or screen by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from console.app import NixdeckApp


class FleetCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], None], str]]:
        app: NixdeckApp = self.app  # type: ignore[assignment]
        if not app.watching:
            return []  # still reading the settings: no hosts to go to yet
        commands: list[tuple[str, Callable[[], None], str]] = [
            ("Fleet overview", app.open_fleet, "every host at a glance"),
            ("Journal: all hosts", partial(app.open_journal, None), "every host's journal merged, tagged by host"),
            ("Generations: all hosts", partial(app.open_generations, None),
             "each host's system generations, closures and store disk"),
            ("Audit log", app.open_audit, "every change nixdeck made to a host, newest first"),
            ("Clean up: all hosts", partial(app.open_cleanup, sorted(app.fleet.monitors)),
             "delete old generations and collect garbage on every host, after a preview"),
        ]
        for host in sorted(app.fleet.monitors):
            commands.append((f"Host: {host}", partial(app.open_host, host), "facts, metrics and journal"))
            commands.append((f"Journal: {host}", partial(app.open_journal, host), "the live journal viewer"))
            commands.append((f"Generations: {host}", partial(app.open_generations, host),
                             "its system generations: versions, kernels, closure sizes"))
            commands.append((f"Clean up: {host}", partial(app.open_cleanup, [host]),
                             "delete its old generations and collect garbage, after a preview"))
            commands.append((f"Roll back: {host}", partial(app.open_rollback, host),
                             "switch it to another generation, after a preview"))
        return commands

    async def discover(self) -> Hits:
        for name, command, help_text in self._commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)
