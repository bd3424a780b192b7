"""A step that must not be cut off halfway (switch-to-configuration) keeps
running on the host when the console's connection drops mid-step."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from config.loader import load_settings
from console.changes import detached_argv
from console.guided import fresh_connection
from tests.fleet import HostSpec

# Writes to its output while it works, as switch-to-configuration does: with
# its stdout on a dead connection it would die of SIGPIPE at the next line.
WORK = "for i in 1 2 3 4 5 6; do echo step $i; sleep 0.3; done; echo done > /root/{name}"


async def drop_connection_mid_step(fleet, tmp_path: Path, argv: list[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(fleet.config_toml())
    settings, _ = load_settings(config)
    transport = await fresh_connection(settings.hosts[0], settings)
    step = asyncio.create_task(transport.run(argv, timeout=30))
    await asyncio.sleep(0.5)
    await transport.close()  # the connection drops halfway through
    with contextlib.suppress(Exception):
        await step
    await asyncio.sleep(2.5)


async def test_a_detached_step_outlives_a_dropped_connection_and_a_plain_one_does_not(
        fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=3)])
    delta = fleet.host("delta")
    await drop_connection_mid_step(fleet, tmp_path, ["sh", "-c", WORK.format(name="plain")])
    await drop_connection_mid_step(fleet, tmp_path, detached_argv(["sh", "-c", WORK.format(name="detached")]))
    assert delta.run(["test", "-e", "/root/plain"], check=False).returncode != 0, "the plain step was cut off"
    assert delta.run(["cat", "/root/detached"]).stdout.strip() == "done"
